"""Image-to-image and inpainting reference fixtures for SDXL (groups ``sdxl_img2img``, ``sdxl_inpaint9``) on the tiny SDXL model.

diffusers' ``StableDiffusionXLImg2ImgPipeline`` and ``StableDiffusionXLInpaintPipeline`` built from the components of
``sdxl/model/`` (loaded as ``fixtures_sdxl._load``: float32, no watermark), fed the PNG inputs of the ``img2img`` group
(``img2img/init_*.png``, ``img2img/mask_*.png``, read through PIL and referenced by name; nothing is copied):

  * img2img: Euler (the model's scheduler), strengths 0.6 and 0.8, with a negative prompt and without one (``None``:
    ``force_zeros_for_empty_prompt`` zeroes the negative conditioning);
  * inpainting with the tiny 4-channel SDXL UNet (not an inpainting checkpoint: the known region's latents, noised to
    the next timestep, are blended back after each step), strength passed explicitly as 1.0 (the SDXL inpainting
    pipeline's default is 0.9999, which runs one step fewer and starts from the noised image: see below).

The base folder has no ``requires_aesthetics_score`` (it is a ``StableDiffusionXLPipeline`` folder; both pipelines
default to False), so the add_time_ids are the base's six numbers (original H, W, crop top, left, target H, W; here
the processed image's size and (0, 0)), not the refiner's five with an aesthetic score; checked against what the
pipeline fed the UNet.

Group ``sdxl_img2img`` -> ``Tests/Fixtures/sdxl_img2img/``:
  * ``<case>.safetensors``  ``image`` (NHWC float32 in [0, 1], ``output_type="np"``), ``add_time_ids`` [1, 6] (the
                positive row the UNet got; the negative row is identical) and ``timesteps`` (the timesteps actually run,
                after the strength cut; float32). Metadata as the ``img2img`` group's cases: prompt, negative_prompt
                ("" when none), seed, steps (num_inference_steps, before the strength cut), guidance, scheduler,
                strength, image (and mask, unet "4" for inpainting) = names of ``../img2img/<name>.png``, width /
                height (the init image's), plus zero_negative ("1" when the negative conditioning was zeros),
                original_size / crops_coords_top_left / target_size ("H,W" / "T,L", as ``sdxl/``) and pipeline.
  * ``cases.json``  ``{"img2img": [...], "inpaint": [...]}``.

Group ``sdxl_inpaint9`` -> ``Tests/Fixtures/sdxl_inpaint9/`` (reads ``sdxl/model/`` and the ``img2img/`` PNGs, writes
only this folder; a group of its own so that adding it did not regenerate ``sdxl_img2img``, whose images this
environment's torch reproduces only to ~1e-6, not byte for byte): ``StableDiffusionXLInpaintPipeline`` with a 9-channel inpainting UNet, as
``stable-diffusion-xl-1.0-inpainting-0.1`` has (latents, mask and masked-image latents concatenated):
  * ``inpaint_unet/``  the UNet as a delta on ``sdxl/model/unet``: ``config.json`` (the tiny SDXL UNet's, in_channels
                9) and ``conv_in.safetensors`` (``conv_in.weight`` [16, 9, 3, 3], F16, random); every other tensor is
                ``sdxl/model/unet``'s. The full UNet (2.3 MB) is not stored: a test assembles the folder (the base
                file's tensors with ``conv_in.weight`` replaced), as checked here by loading such an assembly in
                diffusers.
  * ``<case>.safetensors``  as ``sdxl_img2img``'s (``unet`` "9"): Euler from noise (strength 1.0: no image latents are
                drawn) and DPM++ 2M at strength 0.6 (the image's sample is drawn for the start) with no negative prompt.
  * ``cases.json``  ``{"inpaint9": [...]}``.

Generator draws, in order (as the SD 1 pipelines): img2img - the VAE's ``latent_dist.sample`` for the init image,
then the noise, then Euler's per-step draws (unused at s_churn 0); inpainting (4-channel UNet) - the init image's
sample (image latents for the blend), the noise, then the masked image's sample (encoded though a 4-channel UNet never
reads it), then Euler's; inpainting (9-channel UNet) - the init image's sample only below strength 1, the noise, the
masked image's sample, then the sampler's.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from fixtures_img2img import NEGATIVE
from fixtures_models import _OneThread
from fixtures_sdxl import PROMPT, SDXL_UNET_CONFIG, _hw, _load, _scheduler

IMG2IMG_CASES = [
    dict(name="img2img_euler_06", scheduler="euler", strength=0.6, steps=5, guidance=5.0, negative=NEGATIVE,
         image="init_40x24", seed=41),
    dict(name="img2img_no_negative_08", scheduler="euler", strength=0.8, steps=4, guidance=4.0, negative="",
         image="init_32x32", seed=42),
]
INPAINT_CASES = [
    dict(name="inpaint_euler", unet=4, scheduler="euler", strength=1.0, steps=5, guidance=5.0, negative=NEGATIVE,
         image="init_40x24", mask="mask_40x24", seed=43),
]

INPAINT9_CASES = [
    dict(name="inpaint9_euler", unet=9, scheduler="euler", strength=1.0, steps=5, guidance=5.0, negative=NEGATIVE,
         image="init_32x32", mask="mask_32x32", seed=44),
    dict(name="inpaint9_dpm", unet=9, scheduler="dpm++2m", strength=0.6, steps=5, guidance=5.0, negative="",
         image="init_40x24", mask="mask_40x24", seed=45),
]
INPAINT9_SEED = 410  # conv_in's random weights (sdxl/model's randomize_ seeds are 401..404)


@torch.no_grad()
def _run(pipe, case, base, **inputs):
    """(image [1, H, W, 3], conditioning the UNet got at the first step, timesteps run)."""
    pipe.scheduler = _scheduler(case, base)
    captured = {}

    def on_step_end(p, i, t, kw):
        if i == 0:
            captured.update({k: v.clone() for k, v in kw.items() if k != "latents"})
        return kw

    image = pipe(PROMPT, negative_prompt=case["negative"] or None, strength=case["strength"],
                 num_inference_steps=case["steps"], guidance_scale=case["guidance"], output_type="np",
                 generator=torch.Generator().manual_seed(case["seed"]), callback_on_step_end=on_step_end,
                 callback_on_step_end_tensor_inputs=["latents", "prompt_embeds", "add_text_embeds", "add_time_ids"],
                 **inputs).images
    # The scheduler's timesteps from the cut on (get_timesteps sets begin_index = t_start * order).
    timesteps = pipe.scheduler.timesteps[pipe.scheduler.begin_index:].clone()
    return torch.from_numpy(image), captured, timesteps


@torch.no_grad()
def _case_fixture(pipe, case, base, **inputs):
    image, captured, timesteps = _run(pipe, case, base, **inputs)
    again, _, _ = _run(pipe, case, base, **inputs)
    assert torch.equal(image, again), f"{case['name']}: not deterministic"
    _, h, w, _ = image.shape
    std = image.std().item()
    inside = ((image > 0) & (image < 1)).float().mean().item()
    assert std > 0.05 and inside > 0.9, f"{case['name']}: std {std:.3f}, inside {inside:.3f}"

    # Steps run after the strength cut (Euler: order 1), as get_timesteps makes them.
    run_steps = min(int(case["steps"] * case["strength"]), case["steps"])
    assert len(timesteps) == run_steps, (case["name"], timesteps)
    # Every case is guided: the UNet got [negative, positive] rows.
    assert case["guidance"] > 1.0
    # add_time_ids: SDXL base's six numbers for the processed image, the negative row identical.
    add_time_ids = torch.tensor([[h, w, 0, 0, h, w]], dtype=torch.float32)
    assert not pipe.config.requires_aesthetics_score
    assert torch.equal(captured["add_time_ids"], torch.cat([add_time_ids, add_time_ids])), \
        (case["name"], captured["add_time_ids"])
    pe, npe, pooled, npooled = pipe.encode_prompt(PROMPT, device=torch.device("cpu"), num_images_per_prompt=1,
                                                  do_classifier_free_guidance=True,
                                                  negative_prompt=case["negative"] or None)
    assert torch.equal(captured["prompt_embeds"], torch.cat([npe, pe]))
    assert torch.equal(captured["add_text_embeds"], torch.cat([npooled, pooled]))
    zero_negative = not npe.any().item()
    assert zero_negative == (not case["negative"]) == (not npooled.any().item()), case["name"]

    meta = {**{k: v for k, v in case.items() if k not in ("name", "negative")}, "prompt": PROMPT,
            "negative_prompt": case["negative"], "zero_negative": "1" if zero_negative else "0",
            "original_size": _hw((h, w)), "crops_coords_top_left": "0,0", "target_size": _hw((h, w)),
            "pipeline": type(pipe).__name__}
    return {"image": image, "add_time_ids": add_time_ids, "timesteps": timesteps.to(torch.float32)}, meta, std


def make_sdxl_img2img_fixtures(root: Path, write_fixture) -> None:
    with _OneThread():
        _make_sdxl_img2img_fixtures(root, write_fixture)


@torch.no_grad()
def _make_sdxl_img2img_fixtures(root: Path, write_fixture) -> None:
    from diffusers import StableDiffusionXLImg2ImgPipeline, StableDiffusionXLInpaintPipeline

    inputs = root / "img2img"
    out = root / "sdxl_img2img"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)

    base = _load(root / "sdxl" / "model")
    assert base.config.force_zeros_for_empty_prompt is True and base.vae_scale_factor == 2
    assert base.unet.config.in_channels == 4
    # The folder's config has no requires_aesthetics_score: both pipelines default it to False; force_zeros as base.
    img2img = StableDiffusionXLImg2ImgPipeline(**base.components, add_watermarker=False)
    inpaint = StableDiffusionXLInpaintPipeline(**base.components, add_watermarker=False)
    for pipe in (img2img, inpaint):
        pipe.set_progress_bar_config(disable=True)
        assert pipe.config.requires_aesthetics_score is False and pipe.config.force_zeros_for_empty_prompt is True
    config = base.scheduler.config
    # SDXL inpainting's default strength 0.9999 would run int(5 * 0.9999) = 4 of 5 steps from the noised image
    # (is_strength_max is strength == 1.0); the cases pass theirs explicitly.
    import inspect
    assert inspect.signature(StableDiffusionXLInpaintPipeline.__call__).parameters["strength"].default == 0.9999
    assert inspect.signature(StableDiffusionXLImg2ImgPipeline.__call__).parameters["strength"].default == 0.3

    stds = {}
    for case in IMG2IMG_CASES:
        image = Image.open(inputs / f"{case['image']}.png")
        tensors, meta, stds[case["name"]] = _case_fixture(img2img, case, config, image=image)
        assert tensors["image"].shape == (1, image.height // 2 * 2, image.width // 2 * 2, 3)
        write_fixture(out, case["name"], tensors, {**meta, "width": image.width, "height": image.height})
    for case in INPAINT_CASES:
        image = Image.open(inputs / f"{case['image']}.png")
        mask = Image.open(inputs / f"{case['mask']}.png")
        tensors, meta, stds[case["name"]] = _case_fixture(inpaint, case, config, image=image, mask_image=mask,
                                                          height=image.height, width=image.width)
        assert tensors["image"].shape == (1, image.height, image.width, 3)
        write_fixture(out, case["name"], tensors, {**meta, "width": image.width, "height": image.height})
    (out / "cases.json").write_text(json.dumps({"img2img": [c["name"] for c in IMG2IMG_CASES],
                                                "inpaint": [c["name"] for c in INPAINT_CASES]}, indent=1))
    files = sorted(f for f in out.iterdir() if f.is_file())
    print("[fixtures_sdxl_img2img] image std: " + ", ".join(f"{k} {v:.4f}" for k, v in stds.items()))
    print(f"[fixtures_sdxl_img2img]   sdxl_img2img/: {len(files)} files, {sum(f.stat().st_size for f in files)} bytes")


def make_sdxl_inpaint9_fixtures(root: Path, write_fixture) -> None:
    with _OneThread():
        _make_sdxl_inpaint9_fixtures(root, write_fixture)


@torch.no_grad()
def _inpaint_unet(base_unet, base_file: Path, folder: Path):
    """The 9-channel UNet: ``base_unet``'s weights (read from ``base_file``) with a random, f16-representable conv_in
    over 9 input channels (scaled by fan-in as ``randomize_``); saved as ``config.json`` + ``conv_in.safetensors``, the
    one tensor that differs."""
    import tempfile
    from diffusers import UNet2DConditionModel
    from safetensors.torch import load_file, save_file

    assert all(base_unet.config[k] == (list(v) if isinstance(v, tuple) else v) for k, v in SDXL_UNET_CONFIG.items())
    torch.manual_seed(0)
    unet = UNet2DConditionModel(**dict(SDXL_UNET_CONFIG, in_channels=9)).eval()
    state = base_unet.state_dict()
    assert state["conv_in.weight"].shape == (16, 4, 3, 3)
    g = torch.Generator().manual_seed(INPAINT9_SEED)
    weight = torch.randn(16, 9, 3, 3, generator=g) * min(0.2, 1.0 / math.sqrt(9 * 3 * 3))
    state["conv_in.weight"] = weight.half().float()
    unet.load_state_dict(state, strict=True)

    folder.mkdir(parents=True)
    unet.save_config(str(folder))
    save_file({"conv_in.weight": state["conv_in.weight"].half().contiguous()}, str(folder / "conv_in.safetensors"),
              metadata={"format": "pt"})
    # The assembly a test makes (the base file with conv_in.weight replaced) loads in diffusers as this UNet.
    base_tensors = load_file(str(base_file))
    with tempfile.TemporaryDirectory() as tmp:
        assembled = Path(tmp)
        shutil.copyfile(folder / "config.json", assembled / "config.json")
        tensors = {**base_tensors, **load_file(str(folder / "conv_in.safetensors"))}
        assert tensors.keys() == base_tensors.keys()
        save_file(tensors, str(assembled / "diffusion_pytorch_model.safetensors"), metadata={"format": "pt"})
        loaded = UNet2DConditionModel.from_pretrained(str(assembled), torch_dtype=torch.float32).state_dict()
    ours = unet.state_dict()
    assert loaded.keys() == ours.keys() and all(torch.equal(v, ours[k]) for k, v in loaded.items())
    return unet


@torch.no_grad()
def _make_sdxl_inpaint9_fixtures(root: Path, write_fixture) -> None:
    from diffusers import StableDiffusionXLInpaintPipeline

    inputs = root / "img2img"
    out = root / "sdxl_inpaint9"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)

    base = _load(root / "sdxl" / "model")
    assert base.unet.config.in_channels == 4 and base.vae.config.latent_channels == 4
    inpaint_unet = _inpaint_unet(base.unet, root / "sdxl" / "model" / "unet" / "diffusion_pytorch_model.safetensors",
                                 out / "inpaint_unet")
    pipe = StableDiffusionXLInpaintPipeline(**{**base.components, "unet": inpaint_unet}, add_watermarker=False)
    pipe.set_progress_bar_config(disable=True)
    assert pipe.config.requires_aesthetics_score is False and pipe.config.force_zeros_for_empty_prompt is True
    config = base.scheduler.config

    stds = {}
    for case in INPAINT9_CASES:
        image = Image.open(inputs / f"{case['image']}.png")
        mask = Image.open(inputs / f"{case['mask']}.png")
        tensors, meta, stds[case["name"]] = _case_fixture(pipe, case, config, image=image, mask_image=mask,
                                                          height=image.height, width=image.width)
        assert tensors["image"].shape == (1, image.height, image.width, 3)
        write_fixture(out, case["name"], tensors, {**meta, "width": image.width, "height": image.height})
    (out / "cases.json").write_text(json.dumps({"inpaint9": [c["name"] for c in INPAINT9_CASES]}, indent=1))
    files = sorted(f for f in out.rglob("*") if f.is_file())
    print("[fixtures_sdxl_img2img] image std: " + ", ".join(f"{k} {v:.4f}" for k, v in stds.items()))
    print(f"[fixtures_sdxl_img2img]   sdxl_inpaint9/: {len(files)} files, {sum(f.stat().st_size for f in files)} bytes")
