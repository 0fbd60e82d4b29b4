"""SD 2.x fixtures for the Swift ``StableDiffusion2ReferenceTests``: a tiny random-weight diffusers folder with
Stable Diffusion 2.x's architectural options, and diffusers' ``StableDiffusionPipeline`` images on it for several
sampler settings.

Group ``sd2`` -> ``Tests/Fixtures/sd2/``:
  * ``model/``  a complete diffusers pipeline folder (model_index.json, unet, text_encoder, tokenizer, vae,
                scheduler; safetensors, float32) that differs from the SD 1.x tiny model (``../pipeline``) as
                stabilityai/stable-diffusion-2-1 differs from SD 1.5:
                  - UNet: ``use_linear_projection`` (linear proj_in/proj_out), ``attention_head_dim`` a per-block
                    list (head counts differ per level, so head sizes differ too), ``upcast_attention``,
                    three levels, cross-attention width = the text encoder's hidden size (48, unlike any UNet
                    width);
                  - text encoder: CLIPTextModel with ``hidden_act: "gelu"`` (OpenCLIP's exact GELU);
                  - tokenizer: the tiny CLIP BPE of ``../pipeline/tokenizer`` padding with "!" (id 0), not EOS;
                  - scheduler: SD 2.1-v's DDIM config (``prediction_type: v_prediction``, leading spacing);
                  - VAE: the SD 1.x tiny VAE's config (scale factor 2) with fresh random weights.
                Weights are drawn as in ``fixtures_models.randomize_`` (f16-representable values).
  * ``<case>.safetensors``  ``image`` (NHWC float32 in [0, 1], ``output_type="np"``) and ``input_ids`` (the
                prompt's 77 ids, int64 [1, 77]); metadata: prompt, negative_prompt ("" when unguided), seed, steps,
                guidance, width, height, scheduler (sdgen's name), timestep_spacing / prediction_type (only where
                the case overrides the model's config), truncated ("1" when the prompt ran past 77 tokens).
  * ``cases.json``  the case names.

Every image comes from ``generator=torch.Generator().manual_seed(seed)`` (one CPU generator for the initial latents
and, for Euler ancestral, every step's noise).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from fixtures_models import PIPE_VAE_CONFIG, random_pipeline

PROMPT, NEGATIVE = "a red fox in the snow, highly detailed", "blurry"
LONG_PROMPT = (
    "a red fox in the snow, highly detailed, standing on a frozen river at sunrise under tall pine trees, soft pink "
    "light on the ice, breath steaming in the cold air, a small wooden cabin with smoke rising from its chimney in "
    "the distance, snowflakes drifting, sharp focus, award winning wildlife photograph, 8k, masterpiece"
)

# stabilityai/stable-diffusion-2-1's scheduler/scheduler_config.json, plus its (DDIM-default) leading spacing
# written out.
SD21_SCHEDULER_CONFIG = {
    "_class_name": "DDIMScheduler",
    "_diffusers_version": "0.8.0",
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "clip_sample": False,
    "num_train_timesteps": 1000,
    "prediction_type": "v_prediction",
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "steps_offset": 1,
    "timestep_spacing": "leading",
    "trained_betas": None,
}

SD2_UNET_CONFIG = dict(
    sample_size=12, in_channels=4, out_channels=4, center_input_sample=False, flip_sin_to_cos=True, freq_shift=0,
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    block_out_channels=(16, 16, 32), layers_per_block=2, act_fn="silu", norm_num_groups=8, norm_eps=1e-5,
    # SD 2's [5, 10, 20, 20] is a head count per block (diffusers' historical name): here 2, 4 and 8 heads on widths 16,
    # 16 and 32, so head sizes 8, 4 and 4 (the mid block takes the last entry, the up blocks the reversed list).
    attention_head_dim=(2, 4, 8), cross_attention_dim=48, use_linear_projection=True, upcast_attention=True,
)
SD2_TEXT_CONFIG = dict(
    hidden_size=48, intermediate_size=96, num_attention_heads=4, num_hidden_layers=3, max_position_embeddings=77,
    hidden_act="gelu", layer_norm_eps=1e-5, projection_dim=48,
)
SD2_VAE_CONFIG = {**PIPE_VAE_CONFIG, "sample_size": 24}

CASES = [
    dict(name="ddim_v", scheduler="ddim", steps=6, guidance=7.5, width=24, height=24, seed=11),
    dict(name="euler_v", scheduler="euler", steps=5, guidance=5.0, width=32, height=24, seed=12),
    dict(name="dpmpp2m_v", scheduler="dpm++2m", steps=6, guidance=6.0, width=24, height=32, seed=13),
    dict(name="ddim_v_trailing", scheduler="ddim", timestep_spacing="trailing", steps=4, guidance=7.5,
         width=24, height=24, seed=14),
    # SD-Turbo's settings: one trailing Euler-ancestral step, epsilon prediction, no classifier-free guidance.
    dict(name="turbo_1step", scheduler="euler-a", timestep_spacing="trailing", prediction_type="epsilon", steps=1,
         guidance=0.0, width=24, height=24, seed=15),
    dict(name="euler_a_v_long_prompt", scheduler="euler-a", prompt=LONG_PROMPT, steps=4, guidance=7.5,
         width=24, height=24, seed=16),
]


def _write_tokenizer(src: Path, dst: Path) -> None:
    """``src`` (SD 1.x tiny CLIP tokenizer files) with SD 2's pad token "!"."""
    dst.mkdir(parents=True, exist_ok=True)
    for name in ("vocab.json", "merges.txt"):
        shutil.copyfile(src / name, dst / name)
    for name in ("special_tokens_map.json", "tokenizer_config.json"):
        config = json.loads((src / name).read_text(encoding="utf-8"))
        config["pad_token"] = "!"
        (dst / name).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def _build(model_dir: Path, tokenizer_src: Path):
    from diffusers import DDIMScheduler
    from safetensors.torch import save_file
    from transformers import CLIPTextConfig, CLIPTokenizer

    # Tokenizer first (the text encoder's special ids come from it).
    staging = model_dir.parent / "_tokenizer_staging"
    if staging.exists():
        shutil.rmtree(staging)
    _write_tokenizer(tokenizer_src, staging)
    tokenizer = CLIPTokenizer.from_pretrained(str(staging))
    vocab = json.loads((staging / "vocab.json").read_text(encoding="utf-8"))
    bos, eos, pad = vocab["<|startoftext|>"], vocab["<|endoftext|>"], vocab["!"]
    assert (tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id) == (bos, eos, pad)
    assert pad != eos
    ids = tokenizer("a fox", padding="max_length", max_length=77).input_ids
    first_eos = ids.index(eos)
    assert ids[0] == bos and len(ids) == 77 and first_eos < 76 and all(i == pad for i in ids[first_eos + 1:]), ids

    text_config = CLIPTextConfig(vocab_size=len(vocab), bos_token_id=bos, eos_token_id=eos, pad_token_id=pad,
                                 **SD2_TEXT_CONFIG)
    pipe = random_pipeline(text_config, SD2_UNET_CONFIG, SD2_VAE_CONFIG,
                           DDIMScheduler.from_config(SD21_SCHEDULER_CONFIG), tokenizer, seed=200)
    pipe.save_pretrained(str(model_dir), safe_serialization=True)

    # Tokenizer: transformers 5 writes tokenizer.json + tokenizer_config.json; keep SD 2.1's file set instead.
    tok_dir = model_dir / "tokenizer"
    shutil.rmtree(tok_dir)
    staging.rename(tok_dir)
    # Text encoder: SD 2.1's text_encoder/model.safetensors keys carry the "text_model." prefix (transformers
    # >= 5.6 saves without it).
    te_sd = {"text_model." + k: v.contiguous() for k, v in pipe.text_encoder.state_dict().items()}
    save_file(te_sd, str(model_dir / "text_encoder" / "model.safetensors"), metadata={"format": "pt"})
    # Scheduler: SD 2.1's config verbatim (plus timestep_spacing).
    (model_dir / "scheduler" / "scheduler_config.json").write_text(
        json.dumps(SD21_SCHEDULER_CONFIG, indent=2) + "\n", encoding="utf-8")
    return pipe


def _scheduler(case, base):
    from diffusers import (DDIMScheduler, DPMSolverMultistepScheduler, EulerAncestralDiscreteScheduler,
                           EulerDiscreteScheduler)
    cls = {"ddim": DDIMScheduler, "euler": EulerDiscreteScheduler, "dpm++2m": DPMSolverMultistepScheduler,
           "euler-a": EulerAncestralDiscreteScheduler}[case["scheduler"]]
    overrides = {k: case[k] for k in ("timestep_spacing", "prediction_type") if k in case}
    return cls.from_config(base, **overrides)


@torch.no_grad()
def make_sd2_fixtures(root: Path, write_fixture) -> None:
    from diffusers import StableDiffusionPipeline

    out = root / "sd2"
    model_dir = out / "model"
    if model_dir.exists():
        shutil.rmtree(model_dir)
    built = _build(model_dir, root / "pipeline" / "tokenizer")

    pipe = StableDiffusionPipeline.from_pretrained(str(model_dir), safety_checker=None, feature_extractor=None,
                                                   requires_safety_checker=False, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    # The saved folder must load back to exactly the built model.
    for name in ("unet", "vae", "text_encoder"):
        saved, ref = getattr(pipe, name).state_dict(), getattr(built, name).state_dict()
        assert saved.keys() == ref.keys() and all(torch.equal(saved[k], ref[k]) for k in ref), name
    tok = pipe.tokenizer
    assert tok.pad_token == "!" and tok.pad_token_id == pipe.text_encoder.config.pad_token_id != tok.eos_token_id
    assert type(pipe.scheduler).__name__ == "DDIMScheduler"
    assert pipe.scheduler.config.prediction_type == "v_prediction"
    assert pipe.vae_scale_factor == 2 and pipe.unet.config.sample_size * pipe.vae_scale_factor == 24
    base = pipe.scheduler.config

    for case in CASES:
        prompt = case.get("prompt", PROMPT)
        guided = case["guidance"] > 1.0
        negative = NEGATIVE if guided else ""
        pipe.scheduler = _scheduler(case, base)
        image = pipe(prompt, negative_prompt=negative if guided else None, width=case["width"],
                     height=case["height"], num_inference_steps=case["steps"], guidance_scale=case["guidance"],
                     output_type="np", generator=torch.Generator().manual_seed(case["seed"])).images
        assert image.shape == (1, case["height"], case["width"], 3), (case["name"], image.shape)
        assert 0.05 < image.std() and ((image > 0) & (image < 1)).mean() > 0.9, case["name"]
        full = tok(prompt).input_ids
        ids = tok(prompt, padding="max_length", max_length=tok.model_max_length, truncation=True,
                  return_tensors="pt").input_ids
        assert ids.shape == (1, 77) and ids[0, -1].item() in (tok.eos_token_id, tok.pad_token_id)
        truncated = len(full) > 77
        assert truncated == (case["name"] == "euler_a_v_long_prompt"), case["name"]
        meta = {"prompt": prompt, "negative_prompt": negative, "seed": case["seed"], "steps": case["steps"],
                "guidance": case["guidance"], "width": case["width"], "height": case["height"],
                "scheduler": case["scheduler"], "truncated": "1" if truncated else "0",
                **{k: case[k] for k in ("timestep_spacing", "prediction_type") if k in case}}
        write_fixture(out, case["name"], {"image": torch.from_numpy(image), "input_ids": ids}, meta)

    (out / "cases.json").write_text(json.dumps([c["name"] for c in CASES], indent=1) + "\n")
