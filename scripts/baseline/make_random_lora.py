#!/usr/bin/env python3
"""Write a full-size random SD 1.5 LoRA in kohya's layout, to measure what applying one costs.

    ../venv/bin/python scripts/baseline/make_random_lora.py /tmp/r32.safetensors [--rank 32] [--locon]

The modules are those kohya's sd-scripts `networks.lora` trains on SD 1.5 (every Linear and 1×1
Conv2d inside the UNet's transformer blocks, the text encoder's attention and MLP), and with
--locon also the 3×3 resnet, downsampler and upsampler convs (LyCORIS LoCon). fp16 with `.alpha`,
as such files are shared. Cost does not depend on the values; the images it makes are not meant
to be looked at.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from safetensors.torch import save_file

from sd_bench import build


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", type=Path)
    p.add_argument("--rank", type=int, default=32)
    p.add_argument("--locon", action="store_true", help="also the 3×3 convolutions (LoCon)")
    args = p.parse_args()

    torch.manual_seed(4321)
    text, unet, _ = build()
    tensors = {}

    def add(prefix: str, name: str, weight: torch.Tensor) -> None:
        key = prefix + name.replace(".", "_")
        r = args.rank
        if weight.dim() == 2:
            down, up = torch.randn(r, weight.shape[1]), torch.randn(weight.shape[0], r)
        else:
            down = torch.randn(r, *weight.shape[1:])
            up = torch.randn(weight.shape[0], r, 1, 1)
        tensors[key + ".lora_down.weight"] = (down * 0.01).half()
        tensors[key + ".lora_up.weight"] = (up * 0.01).half()
        tensors[key + ".alpha"] = torch.tensor(float(r) / 2).half()

    for name, module in unet.named_modules():
        inside_transformer = ".attentions." in f".{name}"
        if isinstance(module, torch.nn.Linear) and inside_transformer:
            add("lora_unet_", name, module.weight)
        elif isinstance(module, torch.nn.Conv2d):
            if module.kernel_size == (1, 1) and inside_transformer:
                add("lora_unet_", name, module.weight)
            elif args.locon and module.kernel_size == (3, 3) and name not in ("conv_in", "conv_out"):
                add("lora_unet_", name, module.weight)
    for name, module in text.named_modules():
        if isinstance(module, torch.nn.Linear) and any(name.endswith(s) for s in
                                                       ("q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2")):
            add("lora_te_text_model_", name.removeprefix("text_model."), module.weight)
    save_file(tensors, str(args.out))
    size = args.out.stat().st_size
    print(f"{args.out}: {len(tensors) // 3} modules, rank {args.rank}, {size / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
