"""Live-preview fixture: AUTOMATIC1111's "Approx cheap" latent preview
(``modules/sd_vae_approx.py`` ``cheap_approximation``, then
``sd_samplers_common.single_sample_to_image``), recomputed with torch and numpy
as the webui does it: ``einsum("lxy,lr -> rxy", latents, coefs)``,
``clamp((x + 1) / 2, 0, 1)``, ``255 * moveaxis(x, 0, 2)`` and ``astype(uint8)``
(truncation).

Group ``previews`` -> ``Tests/Fixtures/previews/cheap_approximation.safetensors``:
``latents`` [4, 12, 20] (one image's NCHW latents, standard deviation 2 so that
the clamp bites) and ``rgb`` [12, 20, 3] (the bytes, stored as float32).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

# SD 1.x/2.x coefficients, latent channel by RGB, as the webui has them.
COEFFICIENTS = [
    [0.298, 0.207, 0.208],
    [0.187, 0.286, 0.173],
    [-0.158, 0.189, 0.264],
    [-0.184, -0.271, -0.473],
]


def make_previews_fixtures(root: Path, write_fixture) -> None:
    out = root / "previews"
    out.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator().manual_seed(61)
    latents = torch.randn(4, 12, 20, generator=generator) * 2
    x = torch.einsum("lxy,lr -> rxy", latents, torch.tensor(COEFFICIENTS))
    x = torch.clamp((x + 1.0) / 2.0, min=0.0, max=1.0)
    rgb = (255.0 * np.moveaxis(x.numpy(), 0, 2)).astype(np.uint8)
    assert 0 < (rgb == 0).mean() < 0.5 and 0 < (rgb == 255).mean() < 0.5, "the clamp should bite at both ends"
    write_fixture(out, "cheap_approximation", {"latents": latents, "rgb": torch.from_numpy(rgb.astype(np.float32))},
                  {"height": "12", "width": "20"})
