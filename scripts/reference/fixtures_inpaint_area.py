"""A1111's "Only masked" inpainting (group ``inpaint_area``) on the tiny pipeline.

A1111 decides what "Only masked" cuts out and how the result goes back; diffusers decides the
inpainting itself, as for sdgen's other inpainting. Each case follows
``StableDiffusionProcessingImg2Img.init`` and ``apply_overlay`` (modules/processing.py):

  * the mask made grey, blurred (two ``cv2.GaussianBlur`` passes), and its region found by A1111's own
    ``masking.get_crop_region`` and ``masking.expand_crop_region`` — imported from an A1111 checkout,
    ``A1111_ROOT`` (its ``modules/masking.py``; nothing of it is copied here);
  * the image and the soft mask cropped to the region and brought to the output size by "resize and
    fill" (A1111's ``resize_image`` mode 2, which diffusers' ``VaeImageProcessor.resize(..., "fill")``
    reproduces);
  * ``StableDiffusionInpaintPipeline`` on them (it binarises the mask at 0.5);
  * the result scaled into the region by "crop and resize" (mode 1, diffusers' ``"crop"``), pasted on a
    transparent canvas of the init image's size, and the init image composited over it through the
    inverted soft mask, with Pillow's premultiplied-alpha calls as A1111 makes them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from fixtures_img2img import NEGATIVE, PROMPT, _scheduler, a1111_apply_overlay, a1111_mask_blur

# (name, init size, mask box(es) as (x1, y1, x2, y2), output size, blur, padding, sampler, strength, steps, seed)
CASES = [
    # A blob near the right edge: the square region is shifted back inside the image.
    dict(name="blob_edge", size=(72, 48), boxes=[(52, 10, 66, 22)], width=32, height=32, mask_blur=2, padding=4,
         scheduler="euler", strength=0.8, steps=4, seed=81),
    # A thin stripe, no blur, no padding: the region is heightened to the output's 3:2.
    dict(name="stripe", size=(72, 48), boxes=[(10, 30, 60, 34)], width=24, height=16, mask_blur=0, padding=0,
         scheduler="ddim", strength=1.0, steps=4, seed=82),
    # A tall mask for a wide output: the region cannot widen enough (the image is too narrow), so the
    # crop is brought to the output size with filled edges; two boxes make one region.
    dict(name="too_narrow", size=(72, 48), boxes=[(30, 4, 38, 20), (34, 30, 42, 44)], width=64, height=16,
         mask_blur=4, padding=8, scheduler="dpm++2m", strength=0.7, steps=5, seed=83),
]


def _init_image(width: int, height: int) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    r = 128 + 100 * np.sin(x / 5.0) * np.cos(y / 7.0)
    g = 40 + 180 * x / width
    b = 200 - 150 * y / height + 20 * np.sin((x + y) / 3.0)
    return np.clip(np.stack([r, g, b], axis=-1), 0, 255).round().astype(np.uint8)


def _a1111_masking():
    root = os.environ.get("A1111_ROOT")
    if not root or not (Path(root) / "modules" / "masking.py").is_file():
        raise SystemExit("inpaint_area fixtures: set A1111_ROOT to a stable-diffusion-webui checkout "
                         "(its modules/masking.py is the reference for the region)")
    sys.path.insert(0, root)
    from modules import masking
    return masking


@torch.no_grad()
def make_inpaint_area_fixtures(root: Path, write_fixture) -> None:
    from diffusers import StableDiffusionInpaintPipeline
    from diffusers.image_processor import VaeImageProcessor

    masking = _a1111_masking()
    resize = VaeImageProcessor(vae_scale_factor=1).resize
    out = root / "inpaint_area"
    out.mkdir(parents=True, exist_ok=True)
    pipe = StableDiffusionInpaintPipeline.from_pretrained(
        str(root / "pipeline"), safety_checker=None, feature_extractor=None, requires_safety_checker=False,
        local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    base = pipe.scheduler.config

    for case in CASES:
        width0, height0 = case["size"]
        init = Image.fromarray(_init_image(width0, height0), "RGB")
        mask = np.zeros((height0, width0), np.uint8)
        for x1, y1, x2, y2 in case["boxes"]:
            mask[y1:y2, x1:x2] = 255
        init.save(out / f"init_{width0}x{height0}.png")
        Image.fromarray(mask, "L").convert("RGB").save(out / f"{case['name']}_mask.png")

        soft = a1111_mask_blur(mask, case["mask_blur"]) if case["mask_blur"] > 0 else mask
        soft_image = Image.fromarray(soft, "L")
        region = masking.get_crop_region(soft, case["padding"])
        region = masking.expand_crop_region(region, case["width"], case["height"], width0, height0)
        x1, y1, x2, y2 = region
        crop_mask = resize(soft_image.crop(region), case["height"], case["width"], resize_mode="fill")
        crop_image = resize(init.crop(region), case["height"], case["width"], resize_mode="fill")

        pipe.scheduler = _scheduler(case["scheduler"], base)
        generated = pipe(PROMPT, negative_prompt=NEGATIVE, image=crop_image, mask_image=crop_mask,
                         height=case["height"], width=case["width"], strength=case["strength"],
                         num_inference_steps=case["steps"], guidance_scale=7.5, output_type="np",
                         generator=torch.Generator().manual_seed(case["seed"])).images[0]
        generated = Image.fromarray((generated * 255).round().astype(np.uint8), "RGB")

        final = a1111_apply_overlay(init, generated, soft_image, paste_to=(x1, y1, x2 - x1, y2 - y1))

        as_int = lambda image: torch.from_numpy(np.array(image).astype(np.int64))
        write_fixture(out, case["name"], {
            "soft_mask": as_int(soft_image), "crop_image": as_int(crop_image), "crop_mask": as_int(crop_mask),
            "generated": as_int(generated), "final": as_int(final),
        }, {"prompt": PROMPT, "negative_prompt": NEGATIVE, "guidance": 7.5, "seed": case["seed"],
            "scheduler": case["scheduler"], "strength": case["strength"], "steps": case["steps"],
            "width": case["width"], "height": case["height"], "mask_blur": case["mask_blur"],
            "padding": case["padding"], "region": ",".join(map(str, (x1, y1, x2 - x1, y2 - y1)))})
