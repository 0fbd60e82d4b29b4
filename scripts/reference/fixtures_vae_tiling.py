"""Tiled VAE decode fixtures: diffusers' ``AutoencoderKL.enable_tiling()`` (``tiled_decode``) on the committed
tiny VAE (``Tests/Fixtures/pipeline/vae``, ×2, ``sample_size`` 16), with tiles made small enough that the
test latents span several of them.

Group ``vae_tiling`` -> ``Tests/Fixtures/vae_tiling/``: one ``tiled_<H>x<W>.safetensors`` per latent size with
- ``latents``: [1, 4, H, W] as a pipeline holds them, before dividing by the VAE's ``scaling_factor``;
- ``tiled``: ``vae.decode(latents / scaling_factor).sample`` with tiling on, [1, 3, 2H, 2W] (NCHW);
- ``untiled``: the same with ``vae.disable_tiling()``;
and as metadata: ``height``, ``width`` (latent), ``tile_sample_min_size`` (32), ``tile_latent_min_size`` (16),
``tile_overlap_factor`` (0.25), ``scaling_factor``. ``cases.json`` lists the names under ``"cases"``.

diffusers' algorithm (0.42.1) with these settings: decode tiles only if the latent height or width exceeds
``tile_latent_min_size``; tiles start every ``int(16 * (1 - 0.25)) = 12`` latents (rows, then columns within a
row), each at most 16 × 16 latents (smaller at the bottom/right edges); every decoded tile's top is blended
with the tile above over ``int(32 * 0.25) = 8`` pixels, then its left with the tile to its left, in place and
row-major (so a neighbour is read already blended), and cropped to its top-left ``32 - 8 = 24`` pixels.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

TILE_SAMPLE_MIN_SIZE = 32
TILE_LATENT_MIN_SIZE = 16
TILE_OVERLAP_FACTOR = 0.25

# (latent height, latent width, seed). 16x16 is exactly one tile: decode() does not tile it at all.
CASES = [
    (40, 40, 41),
    (24, 56, 42),
    (16, 16, 43),
    (17, 33, 44),
    # An edge tile of one latent (blend width 2) and an axis of 13-16 latents that still gets two rows.
    (8, 25, 45),
    (16, 40, 46),
]


def make_vae_tiling_fixtures(root: Path, write_fixture) -> None:
    from diffusers import AutoencoderKL

    out = root / "vae_tiling"
    out.mkdir(parents=True, exist_ok=True)
    vae = AutoencoderKL.from_pretrained(str(root / "pipeline" / "vae"), torch_dtype=torch.float32,
                                        local_files_only=True).eval()
    assert vae.config.block_out_channels == [16, 32] or tuple(vae.config.block_out_channels) == (16, 32)
    sf = float(vae.config.scaling_factor)
    vae.enable_tiling()
    vae.tile_sample_min_size = TILE_SAMPLE_MIN_SIZE
    vae.tile_latent_min_size = TILE_LATENT_MIN_SIZE
    vae.tile_overlap_factor = TILE_OVERLAP_FACTOR

    names = []
    for height, width, seed in CASES:
        name = f"tiled_{height}x{width}"
        latents = torch.randn(1, 4, height, width, generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            vae.enable_tiling()
            tiled = vae.decode(latents / sf).sample
            vae.disable_tiling()
            untiled = vae.decode(latents / sf).sample
        vae.enable_tiling()
        assert tiled.shape == untiled.shape == (1, 3, 2 * height, 2 * width), (name, tiled.shape, untiled.shape)
        diff = (tiled - untiled).abs().max().item()
        single_tile = height <= TILE_LATENT_MIN_SIZE and width <= TILE_LATENT_MIN_SIZE
        if single_tile:
            assert torch.equal(tiled, untiled), (name, diff)
        else:
            assert diff > 1e-3, (name, diff)
        print(f"[vae_tiling]   {name}: max |tiled - untiled| = {diff:.6g}")
        write_fixture(out, name, {"latents": latents, "tiled": tiled, "untiled": untiled}, {
            "height": height,
            "width": width,
            "tile_sample_min_size": TILE_SAMPLE_MIN_SIZE,
            "tile_latent_min_size": TILE_LATENT_MIN_SIZE,
            "tile_overlap_factor": str(TILE_OVERLAP_FACTOR),
            "scaling_factor": str(sf),
        })
        names.append(name)

    (out / "cases.json").write_text(json.dumps({"cases": names}, indent=1) + "\n")
