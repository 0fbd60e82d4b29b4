#!/usr/bin/env python3
"""diffusers' StableDiffusionImg2ImgPipeline end to end on the CPU, as `sdgen --init-image` runs it.

    ../venv/bin/python scripts/baseline/img2img_bench.py --weights weights/sd15-random-fp16 \\
        --init /tmp/init.png [--steps 4 --strength 0.5 --threads 2 --json]
    ../venv/bin/python scripts/baseline/img2img_bench.py --write-init /tmp/init.png [--size 512]

One image from the init image (prompt, seed, steps and strength as given; float32 weights, the
folder's fp16 files upcast as sdgen widens them): wall time of the whole call, the mean UNet
evaluation (from the step callback), and the process's peak RSS (getrusage).
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np
from PIL import Image


def write_init(path: str, size: int) -> None:
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    rgb = np.stack([128 + 100 * np.sin(x / 23) * np.cos(y / 31), 40 + 180 * x / size,
                    200 - 150 * y / size + 20 * np.sin((x + y) / 13)], axis=-1)
    Image.fromarray(np.clip(rgb, 0, 255).round().astype(np.uint8), "RGB").save(path)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights")
    p.add_argument("--init")
    p.add_argument("--write-init", metavar="PATH")
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--strength", type=float, default=0.5)
    p.add_argument("--prompt", default="astronaut riding a horse on mars")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--threads", type=int)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    if args.write_init:
        write_init(args.write_init, args.size)
        return

    import torch
    from diffusers import StableDiffusionImg2ImgPipeline
    if args.threads:
        torch.set_num_threads(args.threads)
    variant = "fp16" if any(f.name.endswith(".fp16.safetensors")
                            for f in __import__("pathlib").Path(args.weights, "unet").iterdir()) else None
    pipe = StableDiffusionImg2ImgPipeline.from_pretrained(args.weights, torch_dtype=torch.float32, variant=variant,
                                                          safety_checker=None, feature_extractor=None,
                                                          tokenizer=None, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    stamps = []

    def on_step(pipeline, step, timestep, kwargs):
        stamps.append(time.perf_counter())
        return kwargs

    image = Image.open(args.init).convert("RGB")
    start = time.perf_counter()
    with torch.inference_mode():
        # The random folder has no tokenizer: BOS then EOS padding (the text encoder's cost is the same).
        ids = torch.full((1, 77), 49407)
        ids[0, 0] = 49406
        embeds = pipe.text_encoder(ids)[0]
        pipe(prompt_embeds=embeds, negative_prompt_embeds=embeds, image=image, strength=args.strength,
             num_inference_steps=args.steps, generator=torch.Generator().manual_seed(args.seed),
             callback_on_step_end=on_step)
    total = time.perf_counter() - start
    steps = np.diff(stamps) if len(stamps) > 1 else np.array([float("nan")])
    result = {"torch": torch.__version__, "threads": torch.get_num_threads(), "total_seconds": total,
              "unet_mean_seconds": float(np.mean(steps)), "evaluations": len(stamps),
              "peak_resident_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}
    print(json.dumps(result) if args.json else result)


if __name__ == "__main__":
    main()
