"""Few-step sampling (and guidance rescale) fixtures for the Swift ``FewStepReferenceTests``: diffusers' pipelines on the
committed tiny model (``Tests/Fixtures/pipeline``) with ``LCMScheduler`` (from the model's own
scheduler config, as a diffusers user swaps it in for LCM-LoRA), the generator seeded once and
shared by the initial latents and every step's noise.

Group ``few_step`` -> ``Tests/Fixtures/few_step/``: one safetensors file per case with the image
(NHWC in [0, 1]) and the settings as metadata; ``cases.json`` lists them by kind.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from PIL import Image

PROMPT, NEGATIVE = "a lighthouse on a cliff", "fog"

TEXT_TO_IMAGE = [
    # LCM-LoRA's usual settings: 4 steps, guidance ≤ 2 (here with classifier-free guidance).
    dict(name="lcm_4", scheduler="lcm", steps=4, guidance=1.5, seed=21, width=32, height=32),
    # Guidance 1: only the conditional batch, as diffusers skips the unconditional one.
    dict(name="lcm_2_no_guidance", scheduler="lcm", steps=2, guidance=1.0, seed=22, width=40, height=24),
    dict(name="lcm_8", scheduler="lcm", steps=8, guidance=2.0, seed=23, width=24, height=32),
    # diffusers' guidance_rescale (for zero-SNR v-models), here on the model's own Euler.
    dict(name="euler_rescale_07", scheduler="euler", steps=4, guidance=7.5, guidance_rescale=0.7, seed=25,
         width=32, height=24),
    # TCD at its recommended gamma (the pipeline's eta) and deterministic; DDIM with eta > 0.
    dict(name="tcd_4_eta03", scheduler="tcd", steps=4, guidance=1.5, eta=0.3, seed=26, width=32, height=24),
    dict(name="tcd_2_eta0", scheduler="tcd", steps=2, guidance=1.0, eta=0.0, seed=27, width=24, height=32),
    dict(name="ddim_6_eta05", scheduler="ddim", steps=6, guidance=5.0, eta=0.5, seed=28, width=32, height=32),
]
IMAGE_TO_IMAGE = [
    dict(name="lcm_img2img_06", scheduler="lcm", steps=4, guidance=1.5, seed=24, strength=0.6, image="init_32x32"),
]


def make_few_step_fixtures(root: Path, write_fixture) -> None:
    from diffusers import (DDIMScheduler, EulerDiscreteScheduler, LCMScheduler, StableDiffusionImg2ImgPipeline,
                           StableDiffusionPipeline, TCDScheduler)

    out = root / "few_step"
    out.mkdir(parents=True, exist_ok=True)
    kwargs = dict(safety_checker=None, feature_extractor=None, requires_safety_checker=False, local_files_only=True)
    text = StableDiffusionPipeline.from_pretrained(str(root / "pipeline"), **kwargs)
    text.set_progress_bar_config(disable=True)
    base = text.scheduler.config
    schedulers = {"lcm": LCMScheduler.from_config(base), "euler": EulerDiscreteScheduler.from_config(base),
                  "tcd": TCDScheduler.from_config(base), "ddim": DDIMScheduler.from_config(base)}
    text.scheduler = schedulers["lcm"]
    image_pipe = StableDiffusionImg2ImgPipeline(**text.components)
    image_pipe.set_progress_bar_config(disable=True)

    def settings(case):
        return {"prompt": PROMPT, "negative_prompt": NEGATIVE, **{k: v for k, v in case.items() if k != "name"}}

    for case in TEXT_TO_IMAGE:
        text.scheduler = schedulers[case["scheduler"]]
        image = text(PROMPT, negative_prompt=NEGATIVE, width=case["width"], height=case["height"],
                     num_inference_steps=case["steps"], guidance_scale=case["guidance"],
                     guidance_rescale=case.get("guidance_rescale", 0.0), eta=case.get("eta", 0.0), output_type="np",
                     generator=torch.Generator().manual_seed(case["seed"])).images
        assert 0.05 < image.std() and ((image > 0) & (image < 1)).mean() > 0.9, case["name"]
        write_fixture(out, case["name"], {"image": torch.from_numpy(image)}, settings(case))

    image_pipe.scheduler = schedulers["lcm"]
    for case in IMAGE_TO_IMAGE:
        init = Image.open(root / "img2img" / f"{case['image']}.png")
        image = image_pipe(PROMPT, negative_prompt=NEGATIVE, image=init, strength=case["strength"],
                           num_inference_steps=case["steps"], guidance_scale=case["guidance"], output_type="np",
                           generator=torch.Generator().manual_seed(case["seed"])).images
        write_fixture(out, case["name"], {"image": torch.from_numpy(image)},
                      {**settings(case), "width": init.width, "height": init.height})

    (out / "cases.json").write_text(json.dumps({"text_to_image": [c["name"] for c in TEXT_TO_IMAGE],
                                                "image_to_image": [c["name"] for c in IMAGE_TO_IMAGE]}, indent=1) + "\n")
