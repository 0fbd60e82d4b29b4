#!/usr/bin/env python3
"""Write a full-size Stable Diffusion 1.5 diffusers folder with random weights, in fp16 or fp32.

    ../venv/bin/python scripts/baseline/make_random_checkpoint.py weights/sd15-random-fp16 [--dtype fp32]

Real SD 1.5 weights cannot be downloaded here; timing and memory do not depend on the values, so
this folder stands in for one when measuring what `sdgen generate` costs end to end (peak RSS with
fp16 weights on disk above all). The models are sd_bench.py's, with the VAE's encoder kept; fp16
files use diffusers' `.fp16` variant names, as the Hub's fp16 revision does. About 2 GB in fp16.
The images it makes are noise: only use it to measure.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from diffusers import AutoencoderKL, PNDMScheduler

from sd_bench import build


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", type=Path, help="folder to write (created)")
    p.add_argument("--dtype", choices=["fp16", "fp32"], default="fp16")
    args = p.parse_args()

    torch.manual_seed(1234)
    text, unet, _ = build()
    vae = AutoencoderKL(block_out_channels=[128, 256, 512, 512], down_block_types=["DownEncoderBlock2D"] * 4,
                        up_block_types=["UpDecoderBlock2D"] * 4, layers_per_block=2, latent_channels=4,
                        sample_size=512)
    variant = "fp16" if args.dtype == "fp16" else None
    for name, model in [("text_encoder", text), ("unet", unet), ("vae", vae)]:
        if variant:
            model = model.half()
        model.save_pretrained(args.out / name, variant=variant, safe_serialization=True)
    PNDMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", skip_prk_steps=True,
                  steps_offset=1, set_alpha_to_one=False).save_pretrained(args.out / "scheduler")
    index = {"_class_name": "StableDiffusionPipeline", "scheduler": ["diffusers", "PNDMScheduler"],
             "text_encoder": ["transformers", "CLIPTextModel"], "tokenizer": ["transformers", "CLIPTokenizer"],
             "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"]}
    (args.out / "model_index.json").write_text(json.dumps(index, indent=2) + "\n")
    print(f"wrote {args.out} ({sum(f.stat().st_size for f in args.out.rglob('*') if f.is_file()) / 1e9:.2f} GB)")


if __name__ == "__main__":
    main()
