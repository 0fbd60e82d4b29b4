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

Group ``sd2_single_file`` -> ``Tests/Fixtures/sd2_single_file/`` (reads ``sd2/model/``, writes nothing else):
  * ``tiny_sd2.safetensors``  ``sd2/model``'s UNet, VAE and text encoder in the original Stability AI SD 2.x
                single-file layout (as ``v2-1_768-ema-pruned.safetensors``), F16: ``model.diffusion_model.*``,
                ``first_stage_model.*``, and the text encoder in OpenCLIP's layout under ``cond_stage_model.model.``
                with one resblock more than the folder's text encoder (SD 2 conditions on the penultimate layer;
                diffusers' converted SD 2 text encoder leaves out the file's last resblock), a ``text_projection``
                and ``logit_scale``; plus the schedule / EMA decoys of ``../pipeline_single_file``. Verified with
                diffusers' own single-file converters and ``from_single_file`` (see ``make_sd2_single_file_fixtures``).
  * ``README.md``  what it is and how it was checked.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import torch

from fixtures_models import (PIPE_VAE_CONFIG, _assert_f16_exact, _rename_first, _save_safetensors,
                             add_ldm_training_extras, assert_same_state_dict, diffusers_to_ldm_unet_vae, put_unique,
                             random_pipeline, randomize_, verify_ldm_unet_vae)

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


# --------------------------------------------------------------------------
# Group sd2_single_file: the tiny SD 2 model in Stability AI's original single-file layout
# --------------------------------------------------------------------------

OPEN_CLIP_PREFIX = "cond_stage_model.model."
SINGLE_FILE_NAME = "tiny_sd2.safetensors"
EXTRA_LAYER_SEED = 3201  # the file's last resblock (not in the diffusers folder) and its text_projection
_OPEN_CLIP_TOP = {"embeddings.token_embedding.weight": "token_embedding.weight",
                  "embeddings.position_embedding.weight": "positional_embedding",
                  "final_layer_norm.weight": "ln_final.weight", "final_layer_norm.bias": "ln_final.bias"}
_OPEN_CLIP_LAYER = {"layer_norm1": "ln_1", "self_attn.out_proj": "attn.out_proj", "layer_norm2": "ln_2",
                    "mlp.fc1": "mlp.c_fc", "mlp.fc2": "mlp.c_proj"}


def open_clip_resblock(layer_sd, index: int):
    """One ``CLIPEncoderLayer`` state dict (keys relative to the layer) as OpenCLIP's ``transformer.resblocks.<index>``:
    q/k/v projections concatenated (in that order, along dim 0) into ``attn.in_proj_weight`` / ``attn.in_proj_bias``."""
    pre = f"transformer.resblocks.{index}."
    out = {pre + "attn.in_proj_weight": torch.cat([layer_sd[f"self_attn.{n}_proj.weight"] for n in "qkv"], 0),
           pre + "attn.in_proj_bias": torch.cat([layer_sd[f"self_attn.{n}_proj.bias"] for n in "qkv"], 0)}
    for k, v in layer_sd.items():
        if k.split(".")[:2] in (["self_attn", "q_proj"], ["self_attn", "k_proj"], ["self_attn", "v_proj"]):
            continue
        out[pre + _rename_first(k, _OPEN_CLIP_LAYER)] = v
    return out


def clip_to_open_clip(text_sd, n_layers: int, extra_layer_sd, text_projection, logit_scale,
                      prefix: str = OPEN_CLIP_PREFIX):
    """A ``CLIPTextModel`` state dict (keys without ``text_model.``) as SD 2's ``cond_stage_model.model.*`` (or
    under ``prefix``: SDXL's ``conditioner.embedders.1.model.``): layers 0..n_layers-1, then ``extra_layer_sd`` (if
    not None) as resblock ``n_layers``, ``text_projection`` [width, projection_dim] (OpenCLIP multiplies
    ``x @ text_projection``) and ``logit_scale``."""
    out = {}
    layers = [dict() for _ in range(n_layers)]
    for k, v in text_sd.items():
        if k in _OPEN_CLIP_TOP:
            put_unique(out, prefix + _OPEN_CLIP_TOP[k], v)
            continue
        parts = k.split(".")
        assert parts[:2] == ["encoder", "layers"], k
        layers[int(parts[2])][".".join(parts[3:])] = v
    for i, layer_sd in enumerate(layers + ([] if extra_layer_sd is None else [extra_layer_sd])):
        for k, v in open_clip_resblock(layer_sd, i).items():
            put_unique(out, prefix + k, v)
    put_unique(out, prefix + "text_projection", text_projection)
    put_unique(out, prefix + "logit_scale", logit_scale)
    return out


def _extra_text_layer(text_config):
    """Resblock ``num_hidden_layers`` and a text projection, drawn as ``randomize_`` draws: layer 3 and the projection
    of a throwaway (num_hidden_layers + 1)-layer ``CLIPTextModelWithProjection``."""
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection

    n = text_config.num_hidden_layers
    cfg = CLIPTextConfig.from_dict({**text_config.to_dict(), "num_hidden_layers": n + 1})
    torch.manual_seed(0)
    model = CLIPTextModelWithProjection(cfg).eval()
    randomize_(model, seed=EXTRA_LAYER_SEED)
    sd = model.state_dict()
    pre = f"text_model.encoder.layers.{n}."
    layer = {k[len(pre):]: v.clone() for k, v in sd.items() if k.startswith(pre)}
    proj = sd["text_projection.weight"].T.contiguous()  # diffusers' Linear weight [proj, width] -> OpenCLIP's [width, proj]
    assert proj.shape == (text_config.hidden_size, text_config.projection_dim)
    return layer, proj


def _verify_open_clip(ckpt, model_dir: Path, folder_te, n_layers: int, extra_layer_sd):
    """diffusers' ``convert_open_clip_checkpoint`` and the loader ``from_single_file`` uses for it
    (``create_diffusers_clip_model_from_ldm``) on the file. Returns (tensors compared, dropped resblock keys)."""
    from diffusers.loaders.single_file_utils import (SD_2_TEXT_ENCODER_KEYS_TO_IGNORE, convert_open_clip_checkpoint,
                                                     create_diffusers_clip_model_from_ldm)
    from transformers import CLIPTextConfig, CLIPTextModel

    reference = folder_te.state_dict()
    config = CLIPTextConfig.from_pretrained(str(model_dir / "text_encoder"), local_files_only=True)
    assert config.num_hidden_layers == n_layers
    torch.manual_seed(0)
    converted = convert_open_clip_checkpoint(CLIPTextModel(config), dict(ckpt), prefix=OPEN_CLIP_PREFIX)
    # diffusers emits "text_model."-prefixed keys (and loads them without it into transformers >= 5.6's model).
    assert all(k.startswith("text_model.") for k in converted), sorted(converted)[:5]
    converted = {k.removeprefix("text_model."): v for k, v in converted.items()}
    # Its ignore list names resblocks.23 (and text_projection) only: with n_layers + 1 = 4 resblocks the converter
    # itself drops nothing of the extra one, it maps it to encoder.layers.<n_layers>.* ...
    assert not any(k.startswith(OPEN_CLIP_PREFIX + "transformer.resblocks.") and f".{n_layers}." in k
                   for k in SD_2_TEXT_ENCODER_KEYS_TO_IGNORE)
    extra_pre = f"encoder.layers.{n_layers}."
    extra = {k[len(extra_pre):]: v for k, v in converted.items() if k.startswith(extra_pre)}
    assert_same_state_dict("text_encoder extra layer", extra, extra_layer_sd)
    # ... and the rest is exactly the folder's text encoder (no text_projection, logit_scale, position_ids).
    n = assert_same_state_dict("text_encoder", converted, reference, extra=[extra_pre + k for k in extra])
    # from_single_file's loader puts the converted dict into a model built from the folder's config; the
    # n_layers-layer model has no parameter for layer n_layers, which load_model_dict_into_meta skips silently.
    loaded = create_diffusers_clip_model_from_ldm(CLIPTextModel, dict(ckpt), subfolder="text_encoder",
                                                  config=str(model_dir), torch_dtype=torch.float32,
                                                  local_files_only=True)
    assert loaded.config.num_hidden_layers == n_layers and loaded.dtype == torch.float32
    assert_same_state_dict("text_encoder (loaded)", loaded.state_dict(), reference)
    return n, len(extra)


@torch.no_grad()
def _check_sd2_from_single_file(sf_path: Path, model_dir: Path, expected_dir: Path) -> None:
    """``StableDiffusionPipeline.from_single_file(config=sd2/model)`` must reproduce ``sd2/ddim_v`` bit for bit."""
    from diffusers import DDIMScheduler, StableDiffusionPipeline
    from safetensors.torch import load_file

    pipe = StableDiffusionPipeline.from_single_file(
        str(sf_path), config=str(model_dir), local_files_only=True, safety_checker=None,
        requires_safety_checker=False, torch_dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    folder_scheduler = DDIMScheduler.from_pretrained(str(model_dir / "scheduler"), local_files_only=True)
    assert type(pipe.scheduler) is DDIMScheduler and dict(pipe.scheduler.config) == dict(folder_scheduler.config)
    assert pipe.scheduler.config.prediction_type == "v_prediction"
    assert pipe.tokenizer.pad_token == "!" and pipe.unet.config.upcast_attention
    case = next(c for c in CASES if c["name"] == "ddim_v")
    exp = load_file(str(expected_dir / f"{case['name']}.safetensors"))
    prompt = case.get("prompt", PROMPT)
    pipe.scheduler = _scheduler(case, pipe.scheduler.config)
    image = pipe(prompt, negative_prompt=NEGATIVE, width=case["width"], height=case["height"],
                 num_inference_steps=case["steps"], guidance_scale=case["guidance"], output_type="np",
                 generator=torch.Generator().manual_seed(case["seed"])).images
    got = torch.from_numpy(image)
    assert got.shape == exp["image"].shape
    diff = (got - exp["image"]).abs().max().item()
    assert torch.equal(got, exp["image"]), f"from_single_file ddim_v differs (max |diff| {diff:.3g})"


@torch.no_grad()
def make_sd2_single_file_fixtures(root: Path) -> None:
    """``sd2/model`` (as committed; not rebuilt) -> ``sd2_single_file/tiny_sd2.safetensors`` + README."""
    from diffusers import StableDiffusionPipeline
    from safetensors.torch import load_file

    model_dir = root / "sd2" / "model"
    out = root / "sd2_single_file"
    pipe = StableDiffusionPipeline.from_pretrained(str(model_dir), safety_checker=None, feature_extractor=None,
                                                   requires_safety_checker=False, local_files_only=True)
    for name in ("unet", "vae", "text_encoder"):
        assert getattr(pipe, name).dtype == torch.float32
        _assert_f16_exact(getattr(pipe, name).state_dict())
    te = pipe.text_encoder
    n_layers = te.config.num_hidden_layers
    te_sd = te.state_dict()
    assert not any("position_ids" in k for k in te_sd)

    extra_layer, text_projection = _extra_text_layer(te.config)
    ckpt = diffusers_to_ldm_unet_vae(pipe.unet, pipe.vae)
    for k, v in clip_to_open_clip(te_sd, n_layers, extra_layer, text_projection,
                                  torch.tensor(math.log(1 / 0.07)).half().float()).items():
        put_unique(ckpt, k, v)
    n_weights = len(ckpt)
    # F16 throughout; every value is f16-representable, so the round trip must be exact.
    half = {k: v.half() for k, v in ckpt.items()}
    for k, v in ckpt.items():
        assert v.dtype == torch.float32 and torch.equal(half[k].float(), v), f"{k}: not f16-representable"
    ckpt = half
    n_extras = add_ldm_training_extras(ckpt, ema_seed=3002)

    if out.exists():
        shutil.rmtree(out)
    sf_path = out / SINGLE_FILE_NAME
    _save_safetensors(sf_path, ckpt, {"format": "pt"})

    loaded = load_file(str(sf_path))
    assert len(loaded) == n_weights + n_extras
    counts = verify_ldm_unet_vae(loaded, pipe.unet, pipe.vae)
    counts["text_encoder"], n_dropped = _verify_open_clip(loaded, model_dir, te, n_layers, extra_layer)
    resblocks = {k.split(".")[4] for k in loaded if k.startswith(OPEN_CLIP_PREFIX + "transformer.resblocks.")}
    assert resblocks == {str(i) for i in range(n_layers + 1)}, resblocks
    _check_sd2_from_single_file(sf_path, model_dir, root / "sd2")

    order = ("model.diffusion_model.", "first_stage_model.", OPEN_CLIP_PREFIX, "model_ema.", "betas",
             "alphas_cumprod", "alphas_cumprod_prev")
    prefixes = {p: 0 for p in order}
    for k in loaded:
        prefixes[next(p for p in order if k.startswith(p) if p.endswith(".") or k == p)] += 1
    assert sum(prefixes.values()) == len(loaded) and all(prefixes.values()), prefixes
    resblock_keys = sum(k.startswith(OPEN_CLIP_PREFIX + "transformer.resblocks.") for k in loaded)
    (out / "README.md").write_text(
        "# sd2_single_file\n\n"
        f"`{SINGLE_FILE_NAME}` holds the UNet, VAE and text-encoder weights of `../sd2/model/` (identical values)\n"
        "in the original Stability AI SD 2.x single-file layout (that of `v2-1_768-ema-pruned.safetensors`),\n"
        "stored as F16: `model.diffusion_model.*` (linear `proj_in`/`proj_out`), `first_stage_model.*`, and the\n"
        "text encoder in OpenCLIP's layout under `cond_stage_model.model.`: `token_embedding.weight`,\n"
        "`positional_embedding` ([77, 48], no `.weight`), `transformer.resblocks.{i}.{ln_1, attn.in_proj_weight,\n"
        "attn.in_proj_bias, attn.out_proj, ln_2, mlp.c_fc, mlp.c_proj}` (`in_proj_*` = q, k, v concatenated along\n"
        "dim 0; `c_fc`/`c_proj` = fc1/fc2), `ln_final`, `text_projection` ([48, 48], OpenCLIP's [width, projection]\n"
        "orientation, random) and `logit_scale` (F16 [], ln(1/0.07) rounded to f16).\n\n"
        f"As in real SD 2 files the text encoder has **one resblock more** than the folder's: resblocks\n"
        f"0..{n_layers - 1} are `../sd2/model/text_encoder`'s {n_layers} layers (`num_hidden_layers` {n_layers}), "
        f"resblock {n_layers} is\nextra (fresh seeded random values, layer {n_layers} of a throwaway "
        f"{n_layers + 1}-layer CLIP drawn like the other tiny\nmodels). SD 2 conditions on the penultimate layer, "
        "so a loader must leave the last resblock out (diffusers'\nSD 2 text encoder has 23 layers, the file 24). "
        "No `position_ids` (OpenCLIP has none). Decoys as in\n`../pipeline_single_file`: `model_ema.decay` (F32 []), "
        "`model_ema.num_updates` (I32 []), two flat\n`model_ema.diffusion_model*` F16 copies with different values, "
        "`betas` / `alphas_cumprod` /\n`alphas_cumprod_prev` (F32 [1000]).\n\n"
        f"Tensors: {len(loaded)} in all - "
        + ", ".join(f"`{p}{'*' if p.endswith('.') else ''}` {n}" for p, n in prefixes.items())
        + f"\n(of the text encoder's {prefixes[OPEN_CLIP_PREFIX]}, {resblock_keys} in {n_layers + 1} resblocks of 12).\n\n"
        "Made by `scripts/reference/fixtures_sd2.py` (`make_fixtures.py sd2_single_file`, which reads `../sd2/model`\n"
        "and writes only this folder) with `fixtures_models.py`'s diffusers->original UNet/VAE mapping. Verified by\n"
        "converting the file back with diffusers' own `convert_ldm_unet_checkpoint`, `convert_ldm_vae_checkpoint`\n"
        "and `convert_open_clip_checkpoint` (prefix `cond_stage_model.model.`), which must give exactly the folder's\n"
        f"state dicts (same keys, bit-identical values: {counts['unet']} UNet, {counts['vae']} VAE and "
        f"{counts['text_encoder']} text-encoder\ntensors). diffusers' converter drops only the keys its "
        "`SD_2_TEXT_ENCODER_KEYS_TO_IGNORE` names\n(resblock 23 and `text_projection`); here it maps the extra "
        f"resblock {n_layers} to `encoder.layers.{n_layers}.*` ({n_dropped}\ntensors, checked equal to the extra "
        "values), and `create_diffusers_clip_model_from_ldm` (what `from_single_file`\nuses) skips them silently "
        f"when it loads into the {n_layers}-layer model of the folder's config - whose\nstate dict is then exactly "
        "the folder's. `logit_scale` is not read. `StableDiffusionPipeline.from_single_file`\nwith "
        "`config=../sd2/model` (DDIM, v-prediction, leading) reproduces `../sd2/ddim_v.safetensors` bit for bit.\n"
        "The architecture (norm groups 8, per-block head counts, `upcast_attention`, gelu, pad token \"!\") is that\n"
        "of `../sd2/model/*/config.json`; it cannot all be read off the tensor shapes.\n",
        encoding="utf-8")
    print(f"[fixtures_sd2] single file verified: {counts}, extra resblock {n_layers} ({n_dropped} tensors) mapped to "
          f"encoder.layers.{n_layers} and skipped at load; {len(loaded)} tensors in all: {prefixes}")
