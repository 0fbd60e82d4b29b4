"""SDXL fixtures for the Swift SDXL reference tests: a tiny random-weight diffusers folder with Stable Diffusion XL's
architecture in miniature, diffusers' ``StableDiffusionXLPipeline`` images on it, component references, and the same
weights in Stability AI's original SDXL single-file layout.

Group ``sdxl`` -> ``Tests/Fixtures/sdxl/``:
  * ``model/``  a complete ``StableDiffusionXLPipeline`` folder (model_index.json with
                ``force_zeros_for_empty_prompt: true``; unet, text_encoder, text_encoder_2, tokenizer, tokenizer_2, vae,
                scheduler), weights F16 under the standard file names (every value is f16-representable; load with
                ``torch_dtype=torch.float32``):
                  - UNet: SDXL's block layout (DownBlock2D first - no attention at the full-resolution level -, then
                    two CrossAttn levels; up blocks mirrored), ``transformer_layers_per_block`` [1, 2, 3] (the mid
                    block takes the last entry, the up blocks the reversed list), ``attention_head_dim`` [2, 4, 4]
                    (head counts, as SDXL's config names them), linear projections, cross-attention 80 wide (= 32 +
                    48, the two encoders' penultimate states concatenated), ``addition_embed_type: text_time`` with
                    ``addition_time_embed_dim`` 8 and ``projection_class_embeddings_input_dim`` 6 * 8 + 40 = 88;
                  - text_encoder: ``CLIPTextModel`` (32 wide, 4 layers, quick_gelu; SDXL's CLIP ViT-L role);
                  - text_encoder_2: ``CLIPTextModelWithProjection`` (48 wide, 5 layers, gelu, projection 40; SDXL's
                    OpenCLIP bigG role);
                  - tokenizer: the tiny CLIP BPE of ``../pipeline/tokenizer`` (pad "<|endoftext|>"); tokenizer_2: the
                    same with pad "!" (id 0), as SDXL's second tokenizer;
                  - vae: the tiny VAE config (scale factor 2) with SDXL's ``scaling_factor`` 0.13025 and
                    ``force_upcast``;
                  - scheduler: stable-diffusion-xl-base-1.0's EulerDiscreteScheduler config verbatim.
  * ``<case>.safetensors``  ``image`` (NHWC float32 in [0, 1]), ``input_ids`` / ``input_ids_2`` (the prompt through
                both tokenizers, int64 [1, 77]), ``negative_input_ids`` / ``negative_input_ids_2`` (non-empty negative
                prompts only), what ``pipe.encode_prompt`` returns for the case (``prompt_embeds`` [1, 77, 80],
                ``pooled_prompt_embeds`` [1, 40], and with guidance ``negative_prompt_embeds`` /
                ``negative_pooled_prompt_embeds``), ``add_time_ids`` / ``negative_add_time_ids`` [1, 6] (as
                ``pipe._get_add_time_ids`` makes them) and the scheduler's ``timesteps``; each checked equal to what
                the pipeline fed the UNet. Metadata: prompt, negative_prompt, steps, guidance, seed, width, height,
                scheduler (sdgen's name), timestep_spacing (where overridden), original_size / crops_coords_top_left /
                target_size ("H,W" / "T,L"), zero_negative ("1" when the empty negative prompt became zeros),
                truncated ("1" when the prompt ran past 77 tokens).
  * ``text_encoders.safetensors``, ``unet.safetensors``  component references (see ``_component_fixtures``).
  * ``cases.json``  the case names.

Group ``sdxl_single_file`` -> ``Tests/Fixtures/sdxl_single_file/`` (reads ``sdxl/model/``, writes nothing else):
  * ``tiny_sdxl.safetensors``  ``sdxl/model``'s weights in the original SDXL single-file layout (as
                ``sd_xl_base_1.0.safetensors``), F16: ``model.diffusion_model.*`` (``label_emb.0.0`` / ``label_emb.0.2``
                for the add embedding), ``first_stage_model.*``, text_encoder under
                ``conditioner.embedders.0.transformer.text_model.*`` (HF CLIP names), text_encoder_2 in OpenCLIP's
                layout under ``conditioner.embedders.1.model.`` (as many resblocks as the folder's layers); decoys.
                Verified with diffusers' own single-file converters and ``from_single_file``.
  * ``README.md``  what it is and how it was checked.
"""

from __future__ import annotations

import copy
import json
import math
import shutil
from pathlib import Path

import torch

from fixtures_models import (PIPE_VAE_CONFIG, _OneThread, _assert_f16_exact, _check_o1, _save_safetensors,
                             add_ldm_training_extras, assert_same_state_dict, diffusers_to_ldm_unet_vae, put_unique,
                             randomize_, verify_ldm_unet_vae)
from fixtures_sd2 import _write_tokenizer, clip_to_open_clip

PROMPT = "a red fox in the snow, highly detailed"
LONG_PROMPT = (
    "a red fox in the snow, highly detailed, standing on a frozen river at sunrise under tall pine trees, soft pink "
    "light on the ice, breath steaming in the cold air, a small wooden cabin with smoke rising from its chimney in "
    "the distance, snowflakes drifting, sharp focus, award winning wildlife photograph, 8k, masterpiece"
)

# stabilityai/stable-diffusion-xl-base-1.0's scheduler/scheduler_config.json, verbatim.
SDXL_SCHEDULER_CONFIG = {
    "_class_name": "EulerDiscreteScheduler",
    "_diffusers_version": "0.19.0.dev0",
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "clip_sample": False,
    "interpolation_type": "linear",
    "num_train_timesteps": 1000,
    "prediction_type": "epsilon",
    "sample_max_value": 1.0,
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "steps_offset": 1,
    "timestep_spacing": "leading",
    "trained_betas": None,
    "use_karras_sigmas": False,
}

TIME_EMBED_DIM = 8  # SDXL: 256
PROJECTION_DIM = 40  # SDXL: 1280
SDXL_UNET_CONFIG = dict(
    sample_size=16, in_channels=4, out_channels=4, center_input_sample=False, flip_sin_to_cos=True, freq_shift=0,
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    block_out_channels=(16, 32, 32), layers_per_block=2, act_fn="silu", norm_num_groups=8, norm_eps=1e-5,
    # SDXL's [1, 2, 10]: the full-resolution level has no transformer (its entry is unused), the mid block takes the
    # last entry, the up blocks the reversed list.
    transformer_layers_per_block=(1, 2, 3),
    # SDXL's [5, 10, 20] is a head count per level (diffusers' historical name): 4 heads of 8 on both 32-wide levels.
    attention_head_dim=(2, 4, 4), use_linear_projection=True, upcast_attention=False,
    cross_attention_dim=32 + 48, addition_embed_type="text_time", addition_time_embed_dim=TIME_EMBED_DIM,
    projection_class_embeddings_input_dim=6 * TIME_EMBED_DIM + PROJECTION_DIM,
)
TEXT_CONFIG = dict(hidden_size=32, intermediate_size=64, num_attention_heads=2, num_hidden_layers=4,
                   max_position_embeddings=77, hidden_act="quick_gelu", layer_norm_eps=1e-5, projection_dim=32)
TEXT_CONFIG_2 = dict(hidden_size=48, intermediate_size=96, num_attention_heads=4, num_hidden_layers=5,
                     max_position_embeddings=77, hidden_act="gelu", layer_norm_eps=1e-5,
                     projection_dim=PROJECTION_DIM)
SDXL_VAE_CONFIG = {**PIPE_VAE_CONFIG, "sample_size": 32, "scaling_factor": 0.13025, "force_upcast": True}
SEED = 400  # randomize_ seeds SEED + 1..4: text_encoder, text_encoder_2, unet, vae

CASES = [
    dict(name="euler_empty_negative", scheduler="euler", negative="", steps=4, guidance=5.0, width=64, height=48,
         seed=11),
    dict(name="euler_negative", scheduler="euler", negative="blurry, low quality", steps=4, guidance=7.0, width=48,
         height=64, seed=12),
    dict(name="dpmpp2m_size_conditioning", scheduler="dpm++2m", negative="ugly", steps=5, guidance=6.0, width=64,
         height=64, seed=13, original_size=(96, 128), crops_coords_top_left=(8, 16), target_size=(64, 64)),
    # SDXL-Turbo's settings: one trailing Euler-ancestral step, no classifier-free guidance.
    dict(name="turbo_1step", scheduler="euler-a", timestep_spacing="trailing", negative="", steps=1, guidance=0.0,
         width=64, height=64, seed=14),
    dict(name="euler_long_prompt", scheduler="euler", prompt=LONG_PROMPT, negative="", steps=3, guidance=4.0,
         width=48, height=48, seed=15),
]
COMPONENT_CASE = "euler_negative"  # text_encoders.safetensors encodes this case's prompt and negative prompt


def _copy_tokenizer(src: Path, dst: Path) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for name in ("vocab.json", "merges.txt", "special_tokens_map.json", "tokenizer_config.json"):
        shutil.copyfile(src / name, dst / name)


def _build(model_dir: Path, tokenizer_src: Path):
    """A random-weight StableDiffusionXLPipeline saved to ``model_dir`` (and returned)."""
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    # Tokenizers first (the text encoders' special ids come from them).
    staging = model_dir.parent / "_tokenizer_staging"
    for d in (staging, staging.with_name("_tokenizer_2_staging")):
        if d.exists():
            shutil.rmtree(d)
    staging_2 = staging.with_name("_tokenizer_2_staging")
    _copy_tokenizer(tokenizer_src, staging)
    _write_tokenizer(tokenizer_src, staging_2)
    tokenizer = CLIPTokenizer.from_pretrained(str(staging))
    tokenizer_2 = CLIPTokenizer.from_pretrained(str(staging_2))
    vocab = json.loads((staging / "vocab.json").read_text(encoding="utf-8"))
    bos, eos, bang = vocab["<|startoftext|>"], vocab["<|endoftext|>"], vocab["!"]
    assert (tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id) == (bos, eos, eos)
    assert (tokenizer_2.bos_token_id, tokenizer_2.eos_token_id, tokenizer_2.pad_token_id) == (bos, eos, bang)
    assert tokenizer.get_vocab() == tokenizer_2.get_vocab()

    te_config = CLIPTextConfig(vocab_size=len(vocab), bos_token_id=bos, eos_token_id=eos, pad_token_id=eos,
                               **TEXT_CONFIG)
    te2_config = CLIPTextConfig(vocab_size=len(vocab), bos_token_id=bos, eos_token_id=eos, pad_token_id=bang,
                                **TEXT_CONFIG_2)
    torch.manual_seed(0)
    text_encoder = CLIPTextModel(te_config).eval()
    randomize_(text_encoder, seed=SEED + 1)
    torch.manual_seed(0)
    text_encoder_2 = CLIPTextModelWithProjection(te2_config).eval()
    randomize_(text_encoder_2, seed=SEED + 2)
    torch.manual_seed(0)
    unet = UNet2DConditionModel(**SDXL_UNET_CONFIG).eval()
    randomize_(unet, seed=SEED + 3)
    torch.manual_seed(0)
    vae = AutoencoderKL(**SDXL_VAE_CONFIG).eval()
    randomize_(vae, seed=SEED + 4)
    with torch.no_grad():  # as fixtures_models.random_pipeline: keep decoded images mostly inside [-1, 1]
        vae.decoder.conv_out.weight.mul_(0.5)
        vae.decoder.conv_out.weight.copy_(vae.decoder.conv_out.weight.half().float())
    scheduler = EulerDiscreteScheduler.from_config(SDXL_SCHEDULER_CONFIG)
    pipe = StableDiffusionXLPipeline(vae=vae, text_encoder=text_encoder, text_encoder_2=text_encoder_2,
                                     tokenizer=tokenizer, tokenizer_2=tokenizer_2, unet=unet, scheduler=scheduler,
                                     force_zeros_for_empty_prompt=True, add_watermarker=False)
    for name in ("unet", "vae", "text_encoder", "text_encoder_2"):
        _assert_f16_exact(getattr(pipe, name).state_dict())

    # F16 weights (exact: every value is f16-representable), saved under the standard names.
    half = copy.deepcopy(pipe)
    half.to(torch.float16)
    half.save_pretrained(str(model_dir), safe_serialization=True)
    del half

    # Tokenizers: transformers 5 writes tokenizer.json + tokenizer_config.json; keep SDXL's file set instead.
    for name, src in (("tokenizer", staging), ("tokenizer_2", staging_2)):
        shutil.rmtree(model_dir / name)
        src.rename(model_dir / name)
    # Text encoders: SDXL's files carry the "text_model." prefix (transformers >= 5.6 saves CLIPTextModel without it;
    # CLIPTextModelWithProjection keeps it).
    from safetensors.torch import save_file
    te_sd = {"text_model." + k: v.half().contiguous() for k, v in pipe.text_encoder.state_dict().items()}
    save_file(te_sd, str(model_dir / "text_encoder" / "model.safetensors"), metadata={"format": "pt"})
    # Scheduler: SDXL base's config verbatim.
    (model_dir / "scheduler" / "scheduler_config.json").write_text(
        json.dumps(SDXL_SCHEDULER_CONFIG, indent=2) + "\n", encoding="utf-8")
    return pipe


def _scheduler(case, base):
    from diffusers import (DDIMScheduler, DPMSolverMultistepScheduler, EulerAncestralDiscreteScheduler,
                           EulerDiscreteScheduler)
    cls = {"ddim": DDIMScheduler, "euler": EulerDiscreteScheduler, "dpm++2m": DPMSolverMultistepScheduler,
           "euler-a": EulerAncestralDiscreteScheduler}[case["scheduler"]]
    overrides = {k: case[k] for k in ("timestep_spacing",) if k in case}
    return cls.from_config(base, **overrides)


def _load(model_dir: Path):
    from diffusers import StableDiffusionXLPipeline
    pipe = StableDiffusionXLPipeline.from_pretrained(str(model_dir), torch_dtype=torch.float32,
                                                     local_files_only=True, add_watermarker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _ids(tok, text):
    return tok(text, padding="max_length", max_length=tok.model_max_length, truncation=True,
               return_tensors="pt").input_ids


def _hw(v) -> str:
    return f"{int(v[0])},{int(v[1])}"


@torch.no_grad()
def _run_case(pipe, case):
    """(image, pipeline's UNet conditioning captured at the first step, timesteps) for one case."""
    prompt = case.get("prompt", PROMPT)
    captured = {}

    def on_step_end(p, i, t, kw):
        if i == 0:
            captured.update({k: v.clone() for k, v in kw.items() if k != "latents"})
        return kw

    size_kwargs = {k: case[k] for k in ("original_size", "crops_coords_top_left", "target_size") if k in case}
    # diffusers zeroes the negative conditioning (force_zeros_for_empty_prompt) only when negative_prompt is None;
    # an explicit "" would be encoded. sdgen's empty negative prompt means the zeros, so "" is passed as None.
    image = pipe(prompt, negative_prompt=case["negative"] or None, width=case["width"], height=case["height"],
                 num_inference_steps=case["steps"], guidance_scale=case["guidance"], output_type="np",
                 generator=torch.Generator().manual_seed(case["seed"]), callback_on_step_end=on_step_end,
                 callback_on_step_end_tensor_inputs=["latents", "prompt_embeds", "add_text_embeds", "add_time_ids"],
                 **size_kwargs).images
    return torch.from_numpy(image), captured, pipe.scheduler.timesteps.clone()


@torch.no_grad()
def _case_fixture(pipe, case, base):
    tok, tok2 = pipe.tokenizer, pipe.tokenizer_2
    prompt = case.get("prompt", PROMPT)
    negative = case["negative"]
    guided = case["guidance"] > 1.0
    h, w = case["height"], case["width"]
    pipe.scheduler = _scheduler(case, base)
    image, captured, timesteps = _run_case(pipe, case)
    pipe.scheduler = _scheduler(case, base)
    again, _, _ = _run_case(pipe, case)
    assert torch.equal(image, again), f"{case['name']}: not deterministic"
    assert image.shape == (1, h, w, 3), (case["name"], image.shape)
    std = image.std().item()
    inside = ((image > 0) & (image < 1)).float().mean().item()
    assert std > 0.05 and inside > 0.9, f"{case['name']}: std {std:.3f}, inside {inside:.3f}"

    original_size = case.get("original_size", (h, w))
    crops = case.get("crops_coords_top_left", (0, 0))
    target_size = case.get("target_size", (h, w))
    pe, npe, pooled, npooled = pipe.encode_prompt(prompt, device=torch.device("cpu"), num_images_per_prompt=1,
                                                  do_classifier_free_guidance=guided,
                                                  negative_prompt=negative or None)
    add_time_ids = pipe._get_add_time_ids(original_size, crops, target_size, dtype=pe.dtype,
                                          text_encoder_projection_dim=pipe.text_encoder_2.config.projection_dim)
    assert add_time_ids.dtype == torch.float32 and add_time_ids.shape == (1, 6)
    assert pe.shape == (1, 77, 80) and pooled.shape == (1, PROJECTION_DIM)
    # What the pipeline fed the UNet ([negative, positive] with guidance) must be exactly these.
    if guided:
        assert npe.shape == pe.shape and npooled.shape == pooled.shape
        assert torch.equal(captured["prompt_embeds"], torch.cat([npe, pe]))
        assert torch.equal(captured["add_text_embeds"], torch.cat([npooled, pooled]))
        assert torch.equal(captured["add_time_ids"], torch.cat([add_time_ids, add_time_ids]))
        assert (not negative) == (not npe.any().item()) == (not npooled.any().item()), case["name"]
    else:
        assert npe is None and npooled is None
        assert torch.equal(captured["prompt_embeds"], pe) and torch.equal(captured["add_text_embeds"], pooled)
        assert torch.equal(captured["add_time_ids"], add_time_ids)

    ids, ids2 = _ids(tok, prompt), _ids(tok2, prompt)
    assert ids.shape == ids2.shape == (1, 77)
    truncated = len(tok(prompt).input_ids) > 77
    assert truncated == (case["name"] == "euler_long_prompt"), case["name"]
    tensors = {"image": image, "input_ids": ids, "input_ids_2": ids2, "prompt_embeds": pe,
               "pooled_prompt_embeds": pooled, "add_time_ids": add_time_ids,
               "timesteps": timesteps.to(torch.float32)}
    if negative:
        tensors["negative_input_ids"] = _ids(tok, negative)
        tensors["negative_input_ids_2"] = _ids(tok2, negative)
    if guided:
        tensors.update(negative_prompt_embeds=npe, negative_pooled_prompt_embeds=npooled,
                       negative_add_time_ids=add_time_ids.clone())
    meta = {"prompt": prompt, "negative_prompt": negative, "steps": case["steps"], "guidance": case["guidance"],
            "seed": case["seed"], "width": w, "height": h, "scheduler": case["scheduler"],
            "original_size": _hw(original_size), "crops_coords_top_left": _hw(crops),
            "target_size": _hw(target_size), "zero_negative": "1" if guided and not negative else "0",
            "truncated": "1" if truncated else "0",
            **{k: case[k] for k in ("timestep_spacing",) if k in case}}
    return tensors, meta, std


@torch.no_grad()
def _component_fixtures(pipe, out: Path, write_fixture) -> None:
    """``text_encoders``: both encoders on [prompt, negative] of COMPONENT_CASE; ``unet``: one text_time UNet call."""
    case = next(c for c in CASES if c["name"] == COMPONENT_CASE)
    texts = [case.get("prompt", PROMPT), case["negative"]]
    ids = torch.cat([_ids(pipe.tokenizer, t) for t in texts])
    ids2 = torch.cat([_ids(pipe.tokenizer_2, t) for t in texts])
    o1 = pipe.text_encoder(ids, output_hidden_states=True)
    o2 = pipe.text_encoder_2(ids2, output_hidden_states=True)
    n1, n2 = pipe.text_encoder.config.num_hidden_layers, pipe.text_encoder_2.config.num_hidden_layers
    assert len(o1.hidden_states) == n1 + 1 and len(o2.hidden_states) == n2 + 1
    tensors = {"input_ids": ids, "input_ids_2": ids2,
               "text_encoder_penultimate": o1.hidden_states[-2], "text_encoder_last_hidden_state": o1.last_hidden_state,
               "text_encoder_2_penultimate": o2.hidden_states[-2], "text_encoder_2_text_embeds": o2.text_embeds,
               "text_encoder_2_last_hidden_state": o2.last_hidden_state}
    for k, v in tensors.items():
        if v.is_floating_point():
            _check_o1(f"text_encoders.{k}", v)
    # The pipeline's conditioning is exactly [penultimate_1, penultimate_2] and text_embeds.
    pe, npe, pooled, npooled = pipe.encode_prompt(texts[0], device=torch.device("cpu"), negative_prompt=texts[1])
    cat = torch.cat([o1.hidden_states[-2], o2.hidden_states[-2]], dim=-1)
    assert torch.equal(pe, cat[:1]) and torch.equal(npe, cat[1:])
    # (the projection of a 2-row batch may round differently from the pipeline's 1-row products: to 2e-7)
    assert torch.allclose(pooled, o2.text_embeds[:1], rtol=0, atol=1e-6)
    assert torch.allclose(npooled, o2.text_embeds[1:], rtol=0, atol=1e-6)
    write_fixture(out, "text_encoders", tensors, {
        "prompt": texts[0], "negative_prompt": texts[1],
        "penultimate": "hidden_states[-2] (no final_layer_norm), as StableDiffusionXLPipeline.encode_prompt",
        "text_embeds": "text_projection(final_layer_norm(last_hidden_state)[first eos])"})

    g = torch.Generator().manual_seed(4101)
    sample = torch.randn(2, 4, 8, 12, generator=g)
    ctx = torch.randn(2, 77, 80, generator=g)
    text_embeds = torch.randn(2, PROJECTION_DIM, generator=g)
    time_ids = torch.tensor([[48.0, 64.0, 0.0, 0.0, 48.0, 64.0], [96.0, 128.0, 8.0, 16.0, 64.0, 64.0]])
    t = torch.tensor([500.0])
    o = pipe.unet(sample, t, encoder_hidden_states=ctx,
                  added_cond_kwargs={"text_embeds": text_embeds, "time_ids": time_ids}).sample
    _check_o1("unet.out", o)
    # The additional conditioning must matter (a per-row difference).
    o_swapped = pipe.unet(sample, t, encoder_hidden_states=ctx,
                          added_cond_kwargs={"text_embeds": text_embeds, "time_ids": time_ids.flip(0)}).sample
    assert (o - o_swapped).abs().max() > 1e-3
    write_fixture(out, "unet", {"sample": sample, "timestep": t, "encoder_hidden_states": ctx,
                                "text_embeds": text_embeds, "time_ids": time_ids, "out": o},
                  {"timestep": "500"})


def make_sdxl_fixtures(root: Path, write_fixture) -> None:
    with _OneThread():
        _make_sdxl_fixtures(root, write_fixture)


@torch.no_grad()
def _make_sdxl_fixtures(root: Path, write_fixture) -> None:
    out = root / "sdxl"
    model_dir = out / "model"
    if out.exists():
        shutil.rmtree(out)
    built = _build(model_dir, root / "pipeline" / "tokenizer")

    pipe = _load(model_dir)
    # The saved folder must load back to exactly the built model.
    for name in ("unet", "vae", "text_encoder", "text_encoder_2"):
        saved, ref = getattr(pipe, name).state_dict(), getattr(built, name).state_dict()
        assert getattr(pipe, name).dtype == torch.float32, name
        assert saved.keys() == ref.keys() and all(torch.equal(saved[k], ref[k]) for k in ref), name
    from safetensors import safe_open
    for f in sorted(model_dir.rglob("*.safetensors")):
        with safe_open(str(f), "pt") as sf:
            assert all(sf.get_slice(k).get_dtype() == "F16" for k in sf.keys()), f
    assert pipe.config.force_zeros_for_empty_prompt is True
    assert pipe.tokenizer.pad_token == "<|endoftext|>" and pipe.tokenizer_2.pad_token == "!"
    assert type(pipe.scheduler).__name__ == "EulerDiscreteScheduler"
    assert pipe.vae_scale_factor == 2 and pipe.vae.config.scaling_factor == 0.13025 and pipe.vae.config.force_upcast
    assert pipe.unet.config.transformer_layers_per_block == [1, 2, 3]
    assert [len(b.transformer_blocks) for b in pipe.unet.mid_block.attentions[0:1]] == [3]
    base = pipe.scheduler.config

    stds = {}
    for case in CASES:
        tensors, meta, stds[case["name"]] = _case_fixture(pipe, case, base)
        write_fixture(out, case["name"], tensors, meta)
    (out / "cases.json").write_text(json.dumps([c["name"] for c in CASES], indent=1) + "\n")
    pipe.scheduler = _scheduler({"scheduler": "euler"}, base)
    _component_fixtures(pipe, out, write_fixture)
    files = [f for f in sorted(out.rglob("*")) if f.is_file()]
    print(f"[fixtures_sdxl] image std: " + ", ".join(f"{k} {v:.4f}" for k, v in stds.items()))
    print(f"[fixtures_sdxl]   sdxl/: {len(files)} files, {sum(f.stat().st_size for f in files)} bytes")


# --------------------------------------------------------------------------
# Group sdxl_single_file: the tiny SDXL model in Stability AI's original single-file layout
# --------------------------------------------------------------------------

SINGLE_FILE_NAME = "tiny_sdxl.safetensors"
UNET_PREFIX, VAE_PREFIX = "model.diffusion_model.", "first_stage_model."
CLIP_PREFIX = "conditioner.embedders.0.transformer.text_model."
OPEN_CLIP_PREFIX_XL = "conditioner.embedders.1.model."


def _sdxl_checkpoint(pipe):
    """The single file's weights (float32 values; keys in the original layout)."""
    ckpt = diffusers_to_ldm_unet_vae(pipe.unet, pipe.vae)
    assert "model.diffusion_model.label_emb.0.0.weight" in ckpt and "model.diffusion_model.label_emb.0.2.bias" in ckpt
    for k, v in pipe.text_encoder.state_dict().items():
        put_unique(ckpt, CLIP_PREFIX + k, v)
    te2 = pipe.text_encoder_2
    sd2 = te2.state_dict()
    text_sd = {k.removeprefix("text_model."): v for k, v in sd2.items() if k.startswith("text_model.")}
    assert set(sd2) - {"text_model." + k for k in text_sd} == {"text_projection.weight"}
    proj = sd2["text_projection.weight"].T.contiguous()  # Linear [proj, width] -> OpenCLIP's [width, proj]
    assert proj.shape == (te2.config.hidden_size, te2.config.projection_dim)
    for k, v in clip_to_open_clip(text_sd, te2.config.num_hidden_layers, None, proj,
                                  torch.tensor(math.log(1 / 0.07)).half().float(),
                                  prefix=OPEN_CLIP_PREFIX_XL).items():
        put_unique(ckpt, k, v)
    return ckpt


def _verify_text_encoders(ckpt, model_dir: Path, pipe):
    """diffusers' converters and from_single_file's CLIP loader on the file; returns tensor counts."""
    from diffusers.loaders.single_file_utils import (convert_ldm_clip_checkpoint, convert_open_clip_checkpoint,
                                                     create_diffusers_clip_model_from_ldm)
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    ckpt = dict(ckpt)
    counts = {}
    # embedders.0: convert_ldm_clip_checkpoint strips "conditioner.embedders.0.transformer." (and SD 1's prefix).
    clip = convert_ldm_clip_checkpoint(ckpt)
    assert torch.equal(clip["text_model.embeddings.position_ids"], torch.arange(77)[None]), "position_ids"
    clip = {k.removeprefix("text_model."): v for k, v in clip.items()}
    counts["text_encoder"] = assert_same_state_dict("text_encoder", clip, pipe.text_encoder.state_dict(),
                                                    extra=("embeddings.position_ids",))
    # embedders.1: convert_open_clip_checkpoint with SDXL's prefix; it splits in_proj by text_projection.shape[0]
    # (the width: OpenCLIP's [width, proj] orientation) and transposes text_projection back.
    config2 = CLIPTextConfig.from_pretrained(str(model_dir / "text_encoder_2"), local_files_only=True)
    torch.manual_seed(0)
    converted = convert_open_clip_checkpoint(CLIPTextModelWithProjection(config2), ckpt, prefix=OPEN_CLIP_PREFIX_XL)
    counts["text_encoder_2"] = assert_same_state_dict("text_encoder_2", converted, pipe.text_encoder_2.state_dict())
    # The loader from_single_file uses (picks the converter by prefix and position-embedding width).
    for cls, sub, ref in ((CLIPTextModel, "text_encoder", pipe.text_encoder),
                          (CLIPTextModelWithProjection, "text_encoder_2", pipe.text_encoder_2)):
        loaded = create_diffusers_clip_model_from_ldm(cls, ckpt, subfolder=sub, config=str(model_dir),
                                                      torch_dtype=torch.float32, local_files_only=True)
        assert loaded.dtype == torch.float32
        assert_same_state_dict(f"{sub} (loaded)", loaded.state_dict(), ref.state_dict())
    return counts


@torch.no_grad()
def _check_sdxl_from_single_file(sf_path: Path, model_dir: Path, expected_dir: Path) -> None:
    """``StableDiffusionXLPipeline.from_single_file(config=sdxl/model)`` must reproduce ``euler_empty_negative``."""
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline
    from safetensors.torch import load_file

    pipe = StableDiffusionXLPipeline.from_single_file(str(sf_path), config=str(model_dir), local_files_only=True,
                                                      torch_dtype=torch.float32, add_watermarker=False)
    pipe.set_progress_bar_config(disable=True)
    folder = _load(model_dir)
    for name in ("unet", "vae", "text_encoder", "text_encoder_2"):
        got, ref = getattr(pipe, name), getattr(folder, name)
        assert_same_state_dict(f"from_single_file {name}", got.state_dict(), ref.state_dict())
        assert got.dtype == torch.float32, name
        # Same configs (but for where they were read from and transformers' recorded dtype).
        a, b = ((dict(m.config) if name in ("unet", "vae") else m.config.to_dict()) for m in (got, ref))
        assert {k: v for k, v in a.items() if k not in ("_name_or_path", "dtype")} == \
            {k: v for k, v in b.items() if k not in ("_name_or_path", "dtype")}, name
    assert type(pipe.scheduler) is EulerDiscreteScheduler
    assert dict(pipe.scheduler.config) == dict(folder.scheduler.config)
    assert pipe.config.force_zeros_for_empty_prompt and pipe.tokenizer_2.pad_token == "!"
    case = next(c for c in CASES if c["name"] == "euler_empty_negative")
    exp = load_file(str(expected_dir / f"{case['name']}.safetensors"))
    image, _, _ = _run_case(pipe, case)
    diff = (image - exp["image"]).abs().max().item()
    assert torch.equal(image, exp["image"]), f"from_single_file {case['name']} differs (max |diff| {diff:.3g})"


def make_sdxl_single_file_fixtures(root: Path) -> None:
    with _OneThread():
        _make_sdxl_single_file_fixtures(root)


@torch.no_grad()
def _make_sdxl_single_file_fixtures(root: Path) -> None:
    """``sdxl/model`` (as committed; not rebuilt) -> ``sdxl_single_file/tiny_sdxl.safetensors`` + README."""
    from diffusers.loaders.single_file_utils import CHECKPOINT_KEY_NAMES, infer_diffusers_model_type
    from safetensors.torch import load_file

    model_dir = root / "sdxl" / "model"
    out = root / "sdxl_single_file"
    pipe = _load(model_dir)
    for name in ("unet", "vae", "text_encoder", "text_encoder_2"):
        assert getattr(pipe, name).dtype == torch.float32
        _assert_f16_exact(getattr(pipe, name).state_dict())

    ckpt = _sdxl_checkpoint(pipe)
    n_weights = len(ckpt)
    half = {k: v.half() for k, v in ckpt.items()}
    for k, v in ckpt.items():
        assert v.dtype == torch.float32 and torch.equal(half[k].float(), v), f"{k}: not f16-representable"
    ckpt = half
    # Decoys: embedders.0's position_ids (as in SD 1.x files) and the EMA / schedule tensors of the other tiny files.
    ckpt[CLIP_PREFIX + "embeddings.position_ids"] = torch.arange(77, dtype=torch.int64)[None]
    n_extras = 1 + add_ldm_training_extras(ckpt, ema_seed=3003)

    if out.exists():
        shutil.rmtree(out)
    sf_path = out / SINGLE_FILE_NAME
    _save_safetensors(sf_path, ckpt, {"format": "pt"})

    loaded = load_file(str(sf_path))
    assert len(loaded) == n_weights + n_extras
    assert all(v.dtype == torch.float16 for k, v in loaded.items()
               if k.startswith((UNET_PREFIX, VAE_PREFIX, OPEN_CLIP_PREFIX_XL)) or
               (k.startswith(CLIP_PREFIX) and not k.endswith("position_ids")))
    counts = verify_ldm_unet_vae(loaded, pipe.unet, pipe.vae)
    counts.update(_verify_text_encoders(loaded, model_dir, pipe))
    n_layers_2 = pipe.text_encoder_2.config.num_hidden_layers
    resblocks = {k.split(".")[6] for k in loaded if k.startswith(OPEN_CLIP_PREFIX_XL + "transformer.resblocks.")}
    assert resblocks == {str(i) for i in range(n_layers_2)}, resblocks
    # diffusers' SDXL marker key (OpenCLIP resblock 9) is absent: the tiny encoder has 5 resblocks.
    xl_marker = CHECKPOINT_KEY_NAMES["xl_base"] in loaded
    inferred = infer_diffusers_model_type(loaded)
    _check_sdxl_from_single_file(sf_path, model_dir, root / "sdxl")

    order = (UNET_PREFIX, VAE_PREFIX, CLIP_PREFIX, OPEN_CLIP_PREFIX_XL, "model_ema.", "betas", "alphas_cumprod",
             "alphas_cumprod_prev")
    prefixes = {p: 0 for p in order}
    for k in loaded:
        prefixes[next(p for p in order if k.startswith(p) if p.endswith(".") or k == p)] += 1
    assert sum(prefixes.values()) == len(loaded) and all(prefixes.values()), prefixes
    resblock_keys = sum(k.startswith(OPEN_CLIP_PREFIX_XL + "transformer.resblocks.") for k in loaded)
    label = sum(k.startswith(UNET_PREFIX + "label_emb.") for k in loaded)
    n_layers_1 = pipe.text_encoder.config.num_hidden_layers
    (out / "README.md").write_text(
        "# sdxl_single_file\n\n"
        f"`{SINGLE_FILE_NAME}` holds the UNet, VAE and both text encoders of `../sdxl/model/` (identical values) in\n"
        "the original Stability AI SDXL single-file layout (that of `sd_xl_base_1.0.safetensors`), stored as F16:\n\n"
        "- `model.diffusion_model.*` - the UNet with LDM names: `time_embed.0/2`, `label_emb.0.0` / `label_emb.0.2`\n"
        "  (diffusers' `add_embedding.linear_1/2`, the text_time embedding; `add_time_proj` has no weights),\n"
        "  `input_blocks.N.{0,1}` (N = 1 + level * 3 + layer; level 0 has no attention, so `input_blocks.1/2` hold only\n"
        "  `.0`; downsamplers `input_blocks.3.0.op`, `input_blocks.6.0.op`), `middle_block.{0,1,2}`,\n"
        "  `output_blocks.N.{0,1,2}` (upsamplers `output_blocks.2.2.conv`, `output_blocks.5.2.conv`; the last level has\n"
        "  no attention), `out.0/2`. Transformers keep diffusers' inner names, `transformer_blocks.{k}` numbered\n"
        "  within each: depth 2 in `input_blocks.4/5.1` and `output_blocks.3/4/5.1`, depth 3 in `input_blocks.7/8.1`,\n"
        "  `middle_block.1` and `output_blocks.0/1/2.1` (as SDXL's 2 and 10); linear `proj_in` / `proj_out`.\n"
        "- `first_stage_model.*` - the VAE (as `../pipeline_single_file`).\n"
        f"- `{CLIP_PREFIX}*` - text_encoder with HF CLIP names ({n_layers_1} layers), plus\n"
        "  `embeddings.position_ids` (I64 [1, 77]).\n"
        f"- `{OPEN_CLIP_PREFIX_XL}*` - text_encoder_2 in OpenCLIP's layout: `token_embedding.weight`,\n"
        "  `positional_embedding` ([77, 48], no `.weight`), `transformer.resblocks.{i}.{ln_1, attn.in_proj_weight,\n"
        "  attn.in_proj_bias, attn.out_proj, ln_2, mlp.c_fc, mlp.c_proj}` (`in_proj_*` = q, k, v concatenated along\n"
        "  dim 0), `ln_final`, `text_projection` ([48, 40] = the folder's `text_projection.weight` transposed: OpenCLIP\n"
        "  computes `x @ text_projection`) and `logit_scale` (F16 [], ln(1/0.07) rounded to f16, not read by loaders).\n"
        f"  Unlike SD 2 files, **as many resblocks as the folder's layers** ({n_layers_2}): SDXL conditions on the\n"
        "  penultimate hidden state of a full encoder whose final state feeds the pooled embedding, so diffusers'\n"
        "  converter maps every resblock (its SD 2 ignore list names only `cond_stage_model.` keys).\n"
        "- Decoys (what real files may carry besides the weights; a loader must ignore them): `model_ema.decay`\n"
        "  (F32 []), `model_ema.num_updates` (I32 []), two flat `model_ema.diffusion_model*`\n"
        "  F16 copies with different values, `betas` / `alphas_cumprod` / `alphas_cumprod_prev` (F32 [1000]).\n\n"
        f"Tensors: {len(loaded)} in all - "
        + ", ".join(f"`{p}{'*' if p.endswith('.') else ''}` {n}" for p, n in prefixes.items())
        + f"\n(the UNet's {prefixes[UNET_PREFIX]} include {label} `label_emb`; the OpenCLIP encoder's "
        f"{prefixes[OPEN_CLIP_PREFIX_XL]}, {resblock_keys} in {n_layers_2} resblocks of 12).\n\n"
        "Made by `scripts/reference/fixtures_sdxl.py` (`make_fixtures.py sdxl_single_file`, which reads `../sdxl/model`\n"
        "and writes only this folder) with `fixtures_models.py`'s diffusers->original UNet/VAE mapping and\n"
        "`fixtures_sd2.py`'s OpenCLIP mapping. Verified by converting the file back with diffusers' own\n"
        "`convert_ldm_unet_checkpoint`, `convert_ldm_vae_checkpoint`, `convert_ldm_clip_checkpoint` (embedders.0) and\n"
        f"`convert_open_clip_checkpoint` (prefix `{OPEN_CLIP_PREFIX_XL}`), which must give exactly the folder's state\n"
        f"dicts (same keys, bit-identical values: {counts['unet']} UNet, {counts['vae']} VAE, {counts['text_encoder']} "
        f"text_encoder and {counts['text_encoder_2']} text_encoder_2\ntensors), and with "
        "`create_diffusers_clip_model_from_ldm` (the loader `from_single_file` uses: it tells the two\n"
        "encoders apart by prefix and position-embedding width). `StableDiffusionXLPipeline.from_single_file` with\n"
        "`config=../sdxl/model` loads the same four state dicts and reproduces `../sdxl/euler_empty_negative.safetensors`\n"
        "bit for bit. diffusers' own SDXL detection key (`conditioner.embedders.1.model.transformer.resblocks.9.*`)\n"
        f"is {'present' if xl_marker else 'absent'} (the tiny encoder has {n_layers_2} resblocks), so without `config` "
        f"diffusers would infer model type `{inferred}`;\ndetect SDXL by the `conditioner.embedders.` prefixes "
        "instead. The architecture (norm groups 8, per-level head\ncounts and transformer depths, quick_gelu / gelu, "
        "pad tokens) is that of `../sdxl/model/*/config.json`; it cannot\nall be read off the tensor shapes.\n",
        encoding="utf-8")
    print(f"[fixtures_sdxl] single file verified: {counts}; {len(loaded)} tensors in all: {prefixes}; "
          f"xl marker {xl_marker}, inferred type {inferred}")
    print(f"[fixtures_sdxl]   sdxl_single_file/: {sf_path.stat().st_size} bytes")
