"""Tiny-autoencoder (TAESD) fixtures for the Swift ``TinyAutoencoderReferenceTests``: diffusers'
``AutoencoderTiny`` with random weights, saved as the folder ``madebyollin/taesd`` is
(``config.json`` + ``diffusion_pytorch_model.safetensors``), and what it decodes.

Group ``taesd`` -> ``Tests/Fixtures/taesd/``:
- ``taesd/``: TAESD's block structure (4 decoder stages of 3, 3, 3, 1 blocks, ×8) at 8 channels;
  ``decode_taesd.safetensors``: latents [1, 4, 5, 6] and ``vae.decode(latents).sample`` (NCHW, about [-1, 1]).
- ``taesd_x2/``: 2 stages (×2) to fit the committed tiny pipeline (``Tests/Fixtures/pipeline``, whose VAE
  is ×2); ``pipeline_taesd.safetensors``: that pipeline's image with ``pipe.vae`` replaced by it (the
  diffusers way to use TAESD), Euler, NHWC in [0, 1], settings as metadata.
"""

from __future__ import annotations

from pathlib import Path

import torch

PROMPT, NEGATIVE = "a lighthouse on a cliff", "fog"


def _tiny(blocks, channels, seed):
    from diffusers import AutoencoderTiny

    torch.manual_seed(seed)
    model = AutoencoderTiny(encoder_block_out_channels=tuple(channels), decoder_block_out_channels=tuple(channels),
                            num_encoder_blocks=(1,) + tuple(blocks[:-1]), num_decoder_blocks=tuple(blocks))
    # Default init leaves a ReLU stack's output small and near zero; widen it and centre the
    # image (the decoder's last conv output is the image in [0, 1]) so few pixels clip.
    with torch.no_grad():
        for p in model.decoder.parameters():
            p.mul_(1.1)
        model.decoder.layers[-1].bias.add_(0.4)
    return model.eval()


def make_taesd_fixtures(root: Path, write_fixture) -> None:
    from diffusers import EulerDiscreteScheduler, StableDiffusionPipeline

    out = root / "taesd"
    out.mkdir(parents=True, exist_ok=True)

    full = _tiny((3, 3, 3, 1), (8, 8, 8, 8), seed=31)
    full.save_pretrained(out / "taesd", safe_serialization=True)
    latents = torch.randn(1, 4, 5, 6, generator=torch.Generator().manual_seed(32)) * 2
    with torch.no_grad():
        image = full.decode(latents).sample
    assert image.std() > 0.05 and image.min() < 0 < image.max(), (image.std(), image.min(), image.max())
    write_fixture(out, "decode_taesd", {"latents": latents, "out": image})

    small = _tiny((2, 1), (8, 8), seed=33)
    small.save_pretrained(out / "taesd_x2", safe_serialization=True)
    kwargs = dict(safety_checker=None, feature_extractor=None, requires_safety_checker=False, local_files_only=True)
    pipe = StableDiffusionPipeline.from_pretrained(str(root / "pipeline"), **kwargs)
    pipe.scheduler = EulerDiscreteScheduler.from_config(pipe.scheduler.config)
    pipe.vae = small
    pipe.set_progress_bar_config(disable=True)
    case = dict(scheduler="euler", steps=4, guidance=7.5, seed=34, width=32, height=24)
    image = pipe(PROMPT, negative_prompt=NEGATIVE, width=case["width"], height=case["height"],
                 num_inference_steps=case["steps"], guidance_scale=case["guidance"], output_type="np",
                 generator=torch.Generator().manual_seed(case["seed"])).images
    assert image.std() > 0.05 and ((image > 0) & (image < 1)).mean() > 0.8, (image.std(), ((image > 0) & (image < 1)).mean())
    write_fixture(out, "pipeline_taesd", {"image": torch.from_numpy(image)},
                  {"prompt": PROMPT, "negative_prompt": NEGATIVE, **case})
