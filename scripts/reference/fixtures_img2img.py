"""Image-to-image and inpainting reference fixtures (group ``img2img``) on the tiny pipeline.

Inputs are small PNGs written here (``img2img/init_*.png``, ``img2img/mask_*.png``) and read
back through PIL, as a user's files would be. Each case records the image diffusers makes:

  * ``StableDiffusionImg2ImgPipeline``: several schedulers, strengths < 1 and = 1, square and
    non-square images;
  * ``StableDiffusionInpaintPipeline`` with the tiny 4-channel UNet (the known region's latents are
    blended back after each step) and with a 9-channel UNet (``img2img/inpaint_unet/``; the mask
    and the masked image's latents are concatenated to the UNet input).

The draws from the one generator — the VAE's ``latent_dist.sample`` for the image, then the noise,
then (inpainting) the masked image's sample, then the sampler's — are part of what is compared.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from fixtures_models import PIPE_UNET_CONFIG, randomize_

PROMPT, NEGATIVE = "a red fox in the snow", "blurry"

IMG2IMG_CASES = [
    dict(name="euler_06", scheduler="euler", strength=0.6, steps=5, image="init_32x32", seed=41, guidance=7.5),
    dict(name="ddim_full", scheduler="ddim", strength=1.0, steps=4, image="init_40x24", seed=42, guidance=7.5),
    dict(name="pndm_05", scheduler="pndm", strength=0.5, steps=6, image="init_32x32", seed=43, guidance=5.0),
    dict(name="dpm_07", scheduler="dpm++2m", strength=0.7, steps=5, image="init_40x24", seed=44, guidance=7.5),
    dict(name="heun_075", scheduler="heun", strength=0.75, steps=4, image="init_32x32", seed=45, guidance=7.5),
    dict(name="euler_a_08", scheduler="euler-a", strength=0.8, steps=5, image="init_40x24", seed=46, guidance=1.0),
    dict(name="lms_03", scheduler="lms", strength=0.3, steps=7, image="init_32x32", seed=47, guidance=7.5),
    # 41×25: diffusers rounds down to 40×24 and resizes (Lanczos) before encoding.
    dict(name="euler_resized", scheduler="euler", strength=0.7, steps=5, image="init_41x25", seed=48, guidance=7.5),
]

INPAINT_CASES = [
    dict(name="inpaint4_euler", unet=4, scheduler="euler", strength=0.75, steps=5, image="init_32x32",
         mask="mask_32x32", seed=51, guidance=7.5),
    dict(name="inpaint4_full", unet=4, scheduler="ddim", strength=1.0, steps=4, image="init_40x24",
         mask="mask_40x24", seed=52, guidance=7.5),
    dict(name="inpaint9_euler", unet=9, scheduler="euler", strength=1.0, steps=5, image="init_32x32",
         mask="mask_32x32", seed=53, guidance=7.5),
    dict(name="inpaint9_dpm", unet=9, scheduler="dpm++2m", strength=0.6, steps=5, image="init_40x24",
         mask="mask_40x24", seed=54, guidance=7.5),
    # A mask of another size is resized to the image's (grey, then Lanczos, then binarised).
    dict(name="inpaint4_small_mask", unet=4, scheduler="euler", strength=0.9, steps=4, image="init_40x24",
         mask="mask_20x12", seed=55, guidance=7.5),
]

# Outpainting: the canvas grown by (left, top, right, bottom), the border filled with the nearest edge
# pixel (numpy's pad "edge") and masked white, then StableDiffusionInpaintPipeline.
OUTPAINT_CASES = [
    dict(name="outpaint4_euler", unet=4, scheduler="euler", strength=1.0, steps=4, image="init_32x32",
         margins=(8, 0, 16, 8), seed=61, guidance=7.5),
    dict(name="outpaint9_dpm", unet=9, scheduler="dpm++2m", strength=1.0, steps=4, image="init_40x24",
         margins=(0, 8, 0, 8), seed=62, guidance=7.5),
]

# diffusers' VaeImageProcessor.resize modes against sdgen's ImageFit, on a 37×29 image and its grey mask.
RESIZE_MODES = {"stretch": "default", "crop": "crop", "pad": "fill"}
RESIZE_SIZES = [(32, 24), (48, 32), (24, 40), (37, 16)]


def _scheduler(kind: str, config):
    from diffusers import (DDIMScheduler, DPMSolverMultistepScheduler, EulerAncestralDiscreteScheduler,
                           EulerDiscreteScheduler, HeunDiscreteScheduler, LMSDiscreteScheduler, PNDMScheduler)
    cls = {"euler": EulerDiscreteScheduler, "ddim": DDIMScheduler, "pndm": PNDMScheduler,
           "dpm++2m": DPMSolverMultistepScheduler, "heun": HeunDiscreteScheduler,
           "euler-a": EulerAncestralDiscreteScheduler, "lms": LMSDiscreteScheduler}[kind]
    return cls.from_config(config)


def _write_inputs(out: Path) -> None:
    """Smooth colour fields with some texture (RGB) and masks with grey edges and an alpha-free grey level."""
    for width, height in ((32, 32), (40, 24), (41, 25), (37, 29), (20, 12)):
        y, x = np.mgrid[0:height, 0:width].astype(np.float64)
        r = 128 + 100 * np.sin(x / 5.0) * np.cos(y / 7.0)
        g = 40 + 180 * x / width
        b = 200 - 150 * y / height + 20 * np.sin((x + y) / 3.0)
        rgb = np.clip(np.stack([r, g, b], axis=-1), 0, 255).round().astype(np.uint8)
        Image.fromarray(rgb, "RGB").save(out / f"init_{width}x{height}.png")
        mask = np.zeros((height, width), np.float64)
        mask[height // 4: 3 * height // 4, width // 3: 5 * width // 6] = 255
        mask[:, :2] = 200          # above the 0.5 threshold: repainted
        mask[-2:, :] = 100         # below it: kept
        Image.fromarray(mask.astype(np.uint8), "L").convert("RGB").save(out / f"mask_{width}x{height}.png")


def _resize_fixture(out: Path, write_fixture) -> None:
    from diffusers.image_processor import VaeImageProcessor
    processor = VaeImageProcessor(vae_scale_factor=1)
    image = Image.open(out / "init_37x29.png")
    mask = Image.open(out / "mask_37x29.png").convert("L")
    tensors = {"image": torch.from_numpy(np.array(image).astype(np.int64)),
               "mask": torch.from_numpy(np.array(mask).astype(np.int64))}
    for ours, theirs in RESIZE_MODES.items():
        for width, height in RESIZE_SIZES:
            for name, source in (("image", image), ("mask", mask)):
                resized = processor.resize(source, height, width, resize_mode=theirs)
                tensors[f"{name}_{ours}_{width}x{height}"] = torch.from_numpy(np.array(resized).astype(np.int64))
    write_fixture(out, "resize", tensors, {"sizes": ",".join(f"{w}x{h}" for w, h in RESIZE_SIZES)})


def a1111_mask_blur(mask: np.ndarray, radius: int) -> np.ndarray:
    """A1111's mask blur (modules/processing.py): two cv2.GaussianBlur passes, x then y."""
    import cv2
    kernel = 2 * int(2.5 * radius + 0.5) + 1
    mask = cv2.GaussianBlur(mask, (kernel, 1), radius)
    return cv2.GaussianBlur(mask, (1, kernel), radius)


def a1111_apply_overlay(init: Image.Image, generated: Image.Image, mask_for_overlay: Image.Image,
                        paste_to=None) -> Image.Image:
    """A1111's overlay with its Pillow calls (processing.py's img2img ``init`` and ``apply_overlay``): the init
    image pasted through the inverted mask onto transparent premultiplied RGBa, made straight RGBA, and
    alpha-composited over the result — which "Only masked" first scales into ``paste_to`` (x, y, w, h) by
    "crop and resize" on a transparent canvas of the init image's size."""
    from diffusers.image_processor import VaeImageProcessor
    overlay = Image.new("RGBa", init.size)
    overlay.paste(init.convert("RGBA").convert("RGBa"), mask=ImageOps.invert(mask_for_overlay.convert("L")))
    overlay = overlay.convert("RGBA")
    if paste_to is not None:
        x, y, w, h = paste_to
        base = Image.new("RGBA", init.size)
        base.paste(VaeImageProcessor(vae_scale_factor=1).resize(generated, h, w, resize_mode="crop"), (x, y))
    else:
        base = generated.convert("RGBA")
    base.alpha_composite(overlay)
    return base.convert("RGB")


def _mask_blur_fixture(out: Path, write_fixture, img2img, run) -> None:
    """Inpainting with A1111's mask blur: diffusers inpaints with the blurred mask (binarised as it reads
    masks), then the init image goes over the result through the soft mask ("Whole picture": doubled),
    with A1111's Pillow calls."""
    from diffusers import StableDiffusionInpaintPipeline
    # Radius 2: no blurred value lies within 1.5 of the 0.5 threshold, so sdgen's float blur (within one
    # level of OpenCV's fixed point) binarises to the same mask; other radii would test OpenCV's rounding.
    case = dict(scheduler="euler", strength=0.8, steps=4, image="init_40x24", mask="mask_40x24", seed=71,
                guidance=7.5, mask_blur=2)
    assert not np.any(np.abs(a1111_mask_blur(np.array(Image.open(out / "mask_40x24.png").convert("L")), 2)
                             .astype(np.float64) - 127.5) <= 1.5)
    image = np.array(Image.open(out / f"{case['image']}.png"))
    grey = np.array(Image.open(out / f"{case['mask']}.png").convert("L"))
    soft = a1111_mask_blur(grey, case["mask_blur"])
    pipe = StableDiffusionInpaintPipeline(**img2img.components)
    pipe.set_progress_bar_config(disable=True)
    result = run(pipe, case, image=Image.fromarray(image), mask_image=Image.fromarray(soft),
                 height=image.shape[0], width=image.shape[1])[0]
    generated = Image.fromarray((result * 255).round().astype(np.uint8), "RGB")
    # "Whole picture": the overlay's mask is the soft mask doubled, so all that was repainted shows.
    doubled = Image.fromarray(np.clip(soft.astype(np.float32) * 2, 0, 255).astype(np.uint8), "L")
    final = np.array(a1111_apply_overlay(Image.fromarray(image), generated, doubled))
    write_fixture(out, "inpaint4_blur", {"soft_mask": torch.from_numpy(soft.astype(np.int64)),
                                         "final": torch.from_numpy(final.astype(np.int64))},
                  {**case, "prompt": PROMPT, "negative_prompt": NEGATIVE})


def _jpeg_fixture(out: Path, write_fixture) -> None:
    """JPEGs as users have them (4:2:0 colour, progressive grey, CMYK from a print workflow: Adobe's
    inverted convention) and the pixels Pillow decodes from them (`convert("RGB")`, as diffusers loads them)."""
    image = Image.open(out / "init_40x24.png")
    image.save(out / "init_40x24.jpg", quality=90)
    image.convert("L").save(out / "grey_40x24.jpg", quality=75, progressive=True)
    image.convert("CMYK").save(out / "cmyk_40x24.jpg", quality=90)
    write_fixture(out, "jpeg", {
        name: torch.from_numpy(np.array(Image.open(out / file).convert("RGB")).astype(np.int64))
        for name, file in [("colour", "init_40x24.jpg"), ("grey", "grey_40x24.jpg"), ("cmyk", "cmyk_40x24.jpg")]
    })


def _inpaint_unet(out: Path):
    from diffusers import UNet2DConditionModel
    config = dict(PIPE_UNET_CONFIG, in_channels=9)
    torch.manual_seed(0)
    unet = UNet2DConditionModel(**config).eval()
    randomize_(unet, seed=104)
    unet.save_pretrained(str(out / "inpaint_unet"), safe_serialization=True)
    return unet


@torch.no_grad()
def make_img2img_fixtures(root: Path, write_fixture) -> None:
    from diffusers import StableDiffusionImg2ImgPipeline, StableDiffusionInpaintPipeline

    out = root / "img2img"
    out.mkdir(parents=True, exist_ok=True)
    _write_inputs(out)
    inpaint_unet = _inpaint_unet(out)

    img2img = StableDiffusionImg2ImgPipeline.from_pretrained(
        str(root / "pipeline"), safety_checker=None, feature_extractor=None, requires_safety_checker=False,
        local_files_only=True)
    img2img.set_progress_bar_config(disable=True)
    base = img2img.scheduler.config

    def run(pipe, case, **inputs):
        pipe.scheduler = _scheduler(case["scheduler"], base)
        return pipe(PROMPT, negative_prompt=NEGATIVE, strength=case["strength"],
                    num_inference_steps=case["steps"], guidance_scale=case["guidance"], output_type="np",
                    generator=torch.Generator().manual_seed(case["seed"]), **inputs).images

    for case in IMG2IMG_CASES:
        image = Image.open(out / f"{case['image']}.png")
        result = run(img2img, case, image=image)
        write_fixture(out, case["name"], {"image": torch.from_numpy(result)},
                      {**{k: v for k, v in case.items() if k != "name"}, "prompt": PROMPT,
                       "negative_prompt": NEGATIVE, "width": image.width, "height": image.height})

    for case in INPAINT_CASES:
        components = dict(img2img.components)
        if case["unet"] == 9:
            components["unet"] = inpaint_unet
        pipe = StableDiffusionInpaintPipeline(**components)
        pipe.set_progress_bar_config(disable=True)
        image = Image.open(out / f"{case['image']}.png")
        mask = Image.open(out / f"{case['mask']}.png")
        result = run(pipe, case, image=image, mask_image=mask, height=image.height, width=image.width)
        write_fixture(out, case["name"], {"image": torch.from_numpy(result)},
                      {**{k: v for k, v in case.items() if k != "name"}, "prompt": PROMPT,
                       "negative_prompt": NEGATIVE, "width": image.width, "height": image.height})
    for case in OUTPAINT_CASES:
        components = dict(img2img.components)
        if case["unet"] == 9:
            components["unet"] = inpaint_unet
        pipe = StableDiffusionInpaintPipeline(**components)
        pipe.set_progress_bar_config(disable=True)
        left, top, right, bottom = case["margins"]
        pixels = np.array(Image.open(out / f"{case['image']}.png"))
        canvas = np.pad(pixels, ((top, bottom), (left, right), (0, 0)), mode="edge")
        mask = np.full(canvas.shape, 255, np.uint8)
        mask[top: top + pixels.shape[0], left: left + pixels.shape[1]] = 0
        height, width = canvas.shape[:2]
        result = run(pipe, case, image=Image.fromarray(canvas), mask_image=Image.fromarray(mask),
                     height=height, width=width)
        write_fixture(out, case["name"], {"image": torch.from_numpy(result)},
                      {**{k: v for k, v in case.items() if k not in ("name", "margins")}, "prompt": PROMPT,
                       "negative_prompt": NEGATIVE, "outpaint": ",".join(map(str, case["margins"]))})
    _resize_fixture(out, write_fixture)
    _jpeg_fixture(out, write_fixture)
    _mask_blur_fixture(out, write_fixture, img2img, run)
    (out / "cases.json").write_text(json.dumps({"img2img": [c["name"] for c in IMG2IMG_CASES],
                                                "inpaint": [c["name"] for c in INPAINT_CASES],
                                                "outpaint": [c["name"] for c in OUTPAINT_CASES]}, indent=1))
