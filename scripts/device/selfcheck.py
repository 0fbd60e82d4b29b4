#!/usr/bin/env python3
"""sdgen's GPU against diffusers' reference images, where no Swift toolchain (and so no XCTest) runs.

    python3 scripts/device/selfcheck.py --sdgen BUNDLE/sdgen [--device gpu] [--out DIR]

Runs the bundled sdgen on the tiny pipelines of Tests/Fixtures — text to image (PNDM, Euler, DDIM),
image to image (several schedulers), inpainting with the 4- and 9-channel UNets — with each fixture's
prompt, seed and settings, and compares the PNG with the image diffusers made: the share of values
within one level of 255, and the largest difference. The bar is the tests': ≥ 99% within one level.
Prints a Markdown table and writes selfcheck.json to --out. Needs numpy, Pillow and safetensors.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image
from safetensors import safe_open

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "Tests" / "Fixtures"


def fixture(path: Path):
    with safe_open(str(path), "np") as f:
        return f.metadata() or {}, f.get_tensor("image")


def inpainting_model(folder: Path) -> Path:
    """The tiny pipeline with the 9-channel UNet in place of its own (as the Swift tests assemble it)."""
    model = folder / "inpaint_model"
    model.mkdir(exist_ok=True)
    for part in ["model_index.json", "scheduler", "text_encoder", "tokenizer", "vae"]:
        link = model / part
        if not link.exists():
            link.symlink_to(FIXTURES / "pipeline" / part)
    if not (model / "unet").exists():
        (model / "unet").symlink_to(FIXTURES / "img2img" / "inpaint_unet")
    return model


def cases(scratch: Path):
    """(name, sdgen arguments, reference image) for every fixture case."""
    for name in ["pndm", "euler", "ddim"]:
        meta, image = fixture(FIXTURES / "pipeline" / "expected" / f"{name}.safetensors")
        yield (f"text2img {name}", [meta["prompt"], "--negative-prompt", meta.get("negative_prompt", ""),
                                    "--weights", str(FIXTURES / "pipeline"), "--prompt-syntax", "diffusers",
                                    "--steps", meta["steps"], "--guidance", meta["guidance"], "--seed", meta["seed"],
                                    "--width", meta["width"], "--height", meta["height"],
                                    "--scheduler", meta["scheduler"]], image)
    listing = json.loads((FIXTURES / "img2img" / "cases.json").read_text())
    for name in listing["img2img"] + listing["inpaint"] + listing["outpaint"]:
        meta, image = fixture(FIXTURES / "img2img" / f"{name}.safetensors")
        model = inpainting_model(scratch) if meta.get("unet") == "9" else FIXTURES / "pipeline"
        arguments = [meta["prompt"], "--negative-prompt", meta.get("negative_prompt", ""), "--weights", str(model),
                     "--steps", meta["steps"], "--guidance", meta["guidance"], "--seed", meta["seed"],
                     "--scheduler", meta["scheduler"], "--strength", meta["strength"],
                     "--init-image", str(FIXTURES / "img2img" / f"{meta['image']}.png")]
        if "mask" in meta:
            arguments += ["--mask", str(FIXTURES / "img2img" / f"{meta['mask']}.png")]
        if "outpaint" in meta:
            arguments += ["--outpaint", meta["outpaint"]]
        yield (name, arguments, image)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sdgen", required=True)
    p.add_argument("--device", default="gpu")
    p.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "sdgen-selfcheck")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows, failures = [], 0
    with tempfile.TemporaryDirectory() as scratch:
        for name, arguments, reference in cases(Path(scratch)):
            output = Path(scratch) / "out.png"
            run = subprocess.run([args.sdgen, *arguments, "--device", args.device, "-o", str(output), "--quiet"],
                                 capture_output=True, text=True)
            if run.returncode != 0:
                rows.append({"case": name, "error": run.stderr.strip()})
                failures += 1
                continue
            ours = np.asarray(Image.open(output).convert("RGB"), dtype=np.float64)
            theirs = np.round(reference[0].astype(np.float64) * 255)
            difference = np.abs(ours - theirs)
            within = float(np.mean(difference <= 1))
            rows.append({"case": name, "within_one_level": within, "max_levels": float(difference.max())})
            failures += within < 0.99
    (args.out / "selfcheck.json").write_text(json.dumps({"device": args.device, "cases": rows}, indent=1))
    print(f"| case ({args.device}) | within 1 level | max difference (levels) |\n|---|---|---|")
    for row in rows:
        if "error" in row:
            print(f"| {row['case']} | error: {row['error']} | |")
        else:
            print(f"| {row['case']} | {100 * row['within_one_level']:.1f}% | {row['max_levels']:.0f} |")
    print(f"\nselfcheck: {len(rows) - failures} of {len(rows)} cases within one level on ≥ 99% of values")
    raise SystemExit(1 if failures else 0)


if __name__ == "__main__":
    main()
