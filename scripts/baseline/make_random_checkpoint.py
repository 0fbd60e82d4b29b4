#!/usr/bin/env python3
"""Write a full-size Stable Diffusion 1.5 or SDXL diffusers folder with random weights.

    ../venv/bin/python scripts/baseline/make_random_checkpoint.py weights/sd15-random-fp16 [--dtype fp32]
    ../venv/bin/python scripts/baseline/make_random_checkpoint.py weights/sdxl-random-fp16 --model sdxl

Real weights cannot be downloaded here; timing and memory do not depend on the values, so this
folder stands in for one when measuring what `sdgen generate` costs end to end (peak RSS with fp16
weights on disk above all). The models are sd_bench.py's, with the VAE's encoder kept; fp16 files
use diffusers' `.fp16` variant names, as the Hub's fp16 revision does. The images it makes are noise:
only use it to measure.

  sd15 (default): SD 1.5 in fp16 (about 2 GB) or fp32 (--dtype fp32), as a StableDiffusionPipeline
        folder (model_index.json, unet, text_encoder, vae, scheduler; no tokenizer folder).
  sdxl: SDXL 1.0 base in fp16 only (about 7 GB), a complete StableDiffusionXLPipeline folder: unet,
        text_encoder (CLIPTextModel), text_encoder_2 (CLIPTextModelWithProjection), vae (scaling
        factor 0.13025, force_upcast), tokenizer and tokenizer_2 (CLIP's BPE from sdgen's bundled
        merges, Sources/Tokenizers/Resources/clip-merges.txt.gz; tokenizer_2 pads with "!", as
        SDXL's), SDXL base's EulerDiscreteScheduler config and model_index.json. Each network is
        built directly in fp16 (torch's default init, seeded) and written before the next is built,
        so peak RSS stays near the UNet's 5.1 GB.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
from pathlib import Path

import torch
from diffusers import AutoencoderKL, PNDMScheduler, UNet2DConditionModel
from safetensors.torch import save_file
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

from sd_bench import MODELS, VAE, build

ROOT = Path(__file__).resolve().parent.parent.parent
# CLIP's merges as sdgen bundles them: byte for byte a diffusers tokenizer folder's merges.txt, gzipped.
CLIP_MERGES = ROOT / "Sources/Tokenizers/Resources/clip-merges.txt.gz"

# stabilityai/stable-diffusion-xl-base-1.0's scheduler/scheduler_config.json (the values; some, such as
# clip_sample, are not EulerDiscreteScheduler's arguments, so it is written as is, not saved).
SDXL_SCHEDULER = {
    "_class_name": "EulerDiscreteScheduler", "beta_end": 0.012, "beta_schedule": "scaled_linear",
    "beta_start": 0.00085, "clip_sample": False, "interpolation_type": "linear", "num_train_timesteps": 1000,
    "prediction_type": "epsilon", "sample_max_value": 1.0, "set_alpha_to_one": False, "skip_prk_steps": True,
    "steps_offset": 1, "timestep_spacing": "leading", "trained_betas": None, "use_karras_sigmas": False,
}


def write_sd15(out: Path, dtype: str) -> None:
    torch.manual_seed(1234)
    text, unet, _ = build()
    text = text.encoders[0]
    vae = AutoencoderKL(**VAE)
    variant = "fp16" if dtype == "fp16" else None
    for name, model in [("text_encoder", text), ("unet", unet), ("vae", vae)]:
        if variant:
            model = model.half()
        model.save_pretrained(out / name, variant=variant, safe_serialization=True)
    PNDMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", skip_prk_steps=True,
                  steps_offset=1, set_alpha_to_one=False).save_pretrained(out / "scheduler")
    index = {"_class_name": "StableDiffusionPipeline", "scheduler": ["diffusers", "PNDMScheduler"],
             "text_encoder": ["transformers", "CLIPTextModel"], "tokenizer": ["transformers", "CLIPTokenizer"],
             "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"]}
    (out / "model_index.json").write_text(json.dumps(index, indent=2) + "\n")


@contextlib.contextmanager
def default_dtype(dtype: torch.dtype):
    """Construct modules with parameters of `dtype` (their default init runs in it): the SDXL UNet in
    fp16 is 5.1 GB, in fp32 10.3 GB."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def bytes_to_unicode() -> list[str]:
    """GPT-2's byte-level alphabet in CLIP's vocabulary order: the printable bytes, then the others
    mapped to 256 and up."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    others = [b for b in range(256) if b not in printable]
    return [chr(b) for b in printable] + [chr(256 + i) for i in range(len(others))]


def write_clip_tokenizer(folder: Path, pad_token: str) -> None:
    """A CLIPTokenizer folder as the Hub's SDXL ones (vocab.json, merges.txt, special_tokens_map.json,
    tokenizer_config.json): the merges sdgen bundles and the vocabulary OpenAI derives from them (the
    256 byte characters, the same with </w>, each merge in rank order, <|startoftext|> 49406 and
    <|endoftext|> 49407)."""
    folder.mkdir(parents=True, exist_ok=True)
    merges_text = gzip.decompress(CLIP_MERGES.read_bytes()).decode("utf-8")
    merges = [line.split() for line in merges_text.splitlines()[1:] if line]  # after "#version: 0.2"
    tokens = bytes_to_unicode()
    tokens += [t + "</w>" for t in tokens]
    tokens += ["".join(m) for m in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    vocab = {}
    for token in tokens:
        vocab.setdefault(token, len(vocab))
    assert len(vocab) == 49408 and vocab["<|endoftext|>"] == 49407, len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False) + "\n", encoding="utf-8")
    (folder / "merges.txt").write_text(merges_text, encoding="utf-8")

    def special(content: str) -> dict:
        return {"content": content, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False}

    tokens_map = {"bos_token": special("<|startoftext|>"), "eos_token": special("<|endoftext|>"),
                  "pad_token": pad_token, "unk_token": special("<|endoftext|>")}
    (folder / "special_tokens_map.json").write_text(json.dumps(tokens_map, indent=2) + "\n")
    config = {"add_prefix_space": False, "bos_token": {"__type": "AddedToken", **special("<|startoftext|>")},
              "clean_up_tokenization_spaces": True, "do_lower_case": True,
              "eos_token": {"__type": "AddedToken", **special("<|endoftext|>")}, "errors": "replace",
              "model_max_length": 77, "pad_token": pad_token, "tokenizer_class": "CLIPTokenizer",
              "unk_token": {"__type": "AddedToken", **special("<|endoftext|>")}}
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")


def write_sdxl(out: Path) -> None:
    m = MODELS["sdxl"]
    torch.manual_seed(1234)
    # One network at a time, built in fp16 and written before the next is built.
    builders = [("text_encoder", lambda: CLIPTextModel(CLIPTextConfig(**m.text))),
                ("text_encoder_2", lambda: CLIPTextModelWithProjection(CLIPTextConfig(**m.text_2))),
                ("unet", lambda: UNet2DConditionModel(**m.unet)),
                ("vae", lambda: AutoencoderKL(**dict(VAE, **m.vae)))]
    for name, make in builders:
        with default_dtype(torch.float16):
            model = make().half()
        bad = [k for k, v in model.state_dict().items() if v.is_floating_point() and not torch.isfinite(v).all()]
        assert not bad, f"{name}: non-finite weights in {bad[:3]}"
        model.save_pretrained(out / name, variant="fp16", safe_serialization=True)
        if name.startswith("text_encoder"):
            # The Hub's keys (text_model.…, text_projection.weight): transformers ≥ 5.6 saves a
            # CLIPTextModel's without the text_model. prefix (and loads both).
            save_file({k if k.startswith(("text_model.", "text_projection.")) else "text_model." + k: v.contiguous()
                       for k, v in model.state_dict().items()},
                      str(out / name / "model.fp16.safetensors"), metadata={"format": "pt"})
        del model
    write_clip_tokenizer(out / "tokenizer", pad_token="<|endoftext|>")
    write_clip_tokenizer(out / "tokenizer_2", pad_token="!")  # SDXL's second tokenizer pads with "!" (id 0)
    (out / "scheduler").mkdir(parents=True, exist_ok=True)
    (out / "scheduler" / "scheduler_config.json").write_text(json.dumps(SDXL_SCHEDULER, indent=2) + "\n")
    index = {"_class_name": "StableDiffusionXLPipeline", "force_zeros_for_empty_prompt": True,
             "scheduler": ["diffusers", "EulerDiscreteScheduler"],
             "text_encoder": ["transformers", "CLIPTextModel"],
             "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"],
             "tokenizer": ["transformers", "CLIPTokenizer"], "tokenizer_2": ["transformers", "CLIPTokenizer"],
             "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"]}
    (out / "model_index.json").write_text(json.dumps(index, indent=2) + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", type=Path, help="folder to write (created)")
    p.add_argument("--model", choices=["sd15", "sdxl"], default="sd15", help="SD 1.5 (default) or SDXL 1.0 base")
    p.add_argument("--dtype", choices=["fp16", "fp32"], default="fp16", help="sd15 only; sdxl is fp16")
    args = p.parse_args()
    if args.model == "sdxl" and args.dtype != "fp16":
        p.error("--model sdxl writes fp16 only (its fp32 UNet alone is 10.3 GB)")

    if args.model == "sdxl":
        write_sdxl(args.out)
    else:
        write_sd15(args.out, args.dtype)
    print(f"wrote {args.out} ({sum(f.stat().st_size for f in args.out.rglob('*') if f.is_file()) / 1e9:.2f} GB)")


if __name__ == "__main__":
    main()
