#!/usr/bin/env python3
"""PyTorch baseline for `sdgen bench`: the same Stable Diffusion benchmark, table and JSON.

diffusers' UNet2DConditionModel and AutoencoderKL and transformers' CLIPTextModel with the configs of
`--model` (sd15: SD 1.5, sd21: SD 2.1, sd-turbo: SD-Turbo, SD 2.1's architecture, sdxl: SDXL 1.0
base, sdxl-turbo: SDXL-Turbo, SDXL's architecture; inline, as sdgen's BenchmarkModel) and random
weights, float32 on the CPU (or, with --device cuda, on the GPU in fp32, fp16 or bf16 with SDPA
attention, as the GPU check runs it): the text encoder(s) on the model's prompt batch (timed once
after one warm-up), `--steps` UNet steps on latents of that batch after one warm-up, and one VAE
decode; as sdgen's StableDiffusionBenchmark. The batch is 2 with classifier-free guidance (sd15,
sd21, sdxl: the prompt and the empty one) and 1 without (the Turbo models, as diffusers with
guidance_scale 0). SDXL has two text encoders, CLIP ViT-L (CLIPTextModel) and OpenCLIP ViT-bigG
(CLIPTextModelWithProjection), as diffusers' StableDiffusionXLPipeline runs them: the context is
both encoders' hidden_states[-2] (no final layer norm) side by side, [batch,77,2048], and the UNet
also takes the second's text_embeds (pooled, projected) and the size conditioning [H,W,0,0,H,W] as
added_cond_kwargs (text_embeds, time_ids). `--size` defaults to the model's (sd21 768, sdxl 1024,
else 512).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import time
from dataclasses import dataclass, field

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from torch.utils.flop_counter import FlopCounterMode
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

from common import all_cores, gigabytes, median, render_table

# The prompts sdgen times: a 75-token prompt and (with guidance) the empty, unconditional one,
# padded to 77.
IDS = [[49406] + [320] * 75 + [49407], [49406] + [49407] * 76]


@dataclass(frozen=True)
class Model:
    """One `--model`: sdgen's BenchmarkModel (title, defaultSize, batch, imageSteps, unet, textEncoders,
    vae)."""
    title: str
    size: int  # the default --size, the side the model was trained at
    batch: int  # prompts per UNet evaluation: 2 with classifier-free guidance, 1 without
    text: dict = field(default_factory=dict)  # CLIPTextConfig's arguments
    unet: dict = field(default_factory=dict)  # UNet2DConditionModel's arguments
    # SDXL's second text encoder (CLIPTextModelWithProjection), whose states follow the first's and
    # whose projected pooled vector conditions the UNet; None for one encoder.
    text_2: dict | None = None
    vae: dict = field(default_factory=dict)  # AutoencoderKL's arguments beyond VAE's
    image_steps: int = 50  # steps of a typical image (diffusers' default; 1 for the Turbo models)

    @property
    def ids(self) -> list[list[int]]:
        return IDS[:self.batch]

    @property
    def guidance(self) -> str:
        return "guidance" if self.batch == 2 else "no guidance"


# SD 2.x: OpenCLIP ViT-H's text tower as diffusers ships it (23 of its 24 layers, gelu) and a UNet
# with per-block heads, linear projections and 1024-wide cross-attention
# (stabilityai/stable-diffusion-2-1's and sd-turbo's config.json files).
SD2_TEXT = dict(hidden_size=1024, intermediate_size=4096, num_attention_heads=16, num_hidden_layers=23,
                hidden_act="gelu", projection_dim=512, max_position_embeddings=77, vocab_size=49408)
SD2_UNET = dict(attention_head_dim=[5, 10, 20, 20], cross_attention_dim=1024, use_linear_projection=True,
                upcast_attention=True)

# runwayml/stable-diffusion-v1-5's text encoder: clip-vit-large-patch14's text tower (SDXL's first).
SD15_TEXT = dict(hidden_size=768, intermediate_size=3072, num_attention_heads=12, num_hidden_layers=12,
                 max_position_embeddings=77, hidden_act="quick_gelu", vocab_size=49408)

# SDXL: OpenCLIP ViT-bigG's text tower with its projection as the second encoder, and a UNet of three
# levels (no attention in the first, 2 and 10 transformer layers per block in the others, 10 in the
# middle) with 2048-wide cross-attention and "text_time" added conditioning: the pooled 1280-wide
# vector and six size numbers of 256 sinusoids each, 1280 + 6·256 = 2816 wide
# (stabilityai/stable-diffusion-xl-base-1.0's and sdxl-turbo's config.json files).
SDXL_TEXT_2 = dict(hidden_size=1280, intermediate_size=5120, num_attention_heads=20, num_hidden_layers=32,
                   hidden_act="gelu", projection_dim=1280, max_position_embeddings=77, vocab_size=49408)
SDXL_UNET = dict(block_out_channels=[320, 640, 1280], layers_per_block=2,
                 down_block_types=["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
                 up_block_types=["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
                 attention_head_dim=[5, 10, 20], transformer_layers_per_block=[1, 2, 10], cross_attention_dim=2048,
                 use_linear_projection=True, addition_embed_type="text_time", addition_time_embed_dim=256,
                 projection_class_embeddings_input_dim=2816)
# SD 1.5's VAE shapes with SDXL's latent scale (not applied by decode) and config.json's other values.
SDXL_VAE = dict(scaling_factor=0.13025, force_upcast=True, sample_size=1024)

# SD 1.5's VAE, every model's shapes.
VAE = dict(block_out_channels=[128, 256, 512, 512], down_block_types=["DownEncoderBlock2D"] * 4,
           up_block_types=["UpDecoderBlock2D"] * 4, layers_per_block=2, latent_channels=4, sample_size=512)

MODELS = {
    # The UNet defaults are SD 1.5's but for sample_size and cross_attention_dim (SD 2 / generic values).
    "sd15": Model("Stable Diffusion 1.5", 512, 2, text=SD15_TEXT, unet=dict(sample_size=64, cross_attention_dim=768)),
    "sd21": Model("Stable Diffusion 2.1", 768, 2, text=SD2_TEXT, unet=dict(SD2_UNET, sample_size=96)),
    # One step without guidance: only the conditional batch.
    "sd-turbo": Model("SD-Turbo", 512, 1, text=SD2_TEXT, unet=dict(SD2_UNET, sample_size=64), image_steps=1),
    "sdxl": Model("Stable Diffusion XL 1.0", 1024, 2, text=SD15_TEXT, text_2=SDXL_TEXT_2,
                  unet=dict(SDXL_UNET, sample_size=128), vae=SDXL_VAE),
    "sdxl-turbo": Model("SDXL-Turbo", 512, 1, text=SD15_TEXT, text_2=SDXL_TEXT_2,
                        unet=dict(SDXL_UNET, sample_size=64), vae=SDXL_VAE, image_steps=1),
}


def time_ids(batch: int, size: int, device=None) -> torch.Tensor:
    """SDXL's size conditioning for a size×size image, float32 [batch,6], as diffusers'
    StableDiffusionXLPipeline makes it by default: original size (H, W), crop top-left (0, 0),
    target size (H, W)."""
    return torch.tensor([[size, size, 0, 0, size, size]] * batch, dtype=torch.float32, device=device)


class TextEncoders(torch.nn.Module):
    """The model's text encoder(s) as one module, as sdgen's StableDiffusionBenchmark.encode and diffusers'
    pipelines use them. One encoder: its last_hidden_state. SDXL's two: both run with
    output_hidden_states and their hidden_states[-2] (the penultimate layer's, without the final layer
    norm) are concatenated along the width, and the second's text_embeds (its projected pooled output)
    is the pooled vector."""

    def __init__(self, encoders: list[torch.nn.Module]):
        super().__init__()
        self.encoders = torch.nn.ModuleList(encoders)

    @property
    def config(self):
        """The first encoder's config (the attention implementation, for the reports)."""
        return self.encoders[0].config

    def forward(self, ids: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(context,) for one encoder, (context, pooled) for two: only tensors, for tracing."""
        if len(self.encoders) == 1:
            return (self.encoders[0](ids).last_hidden_state,)
        outputs = [encoder(ids, output_hidden_states=True) for encoder in self.encoders]
        return torch.cat([o.hidden_states[-2] for o in outputs], dim=-1), outputs[-1].text_embeds

    def encode(self, ids: torch.Tensor, size: int) -> tuple[torch.Tensor, dict | None]:
        """The UNet's encoder_hidden_states and added_cond_kwargs (None without added conditioning) for
        a size×size image."""
        context, *pooled = self(ids)
        if not pooled:
            return context, None
        return context, {"text_embeds": pooled[0], "time_ids": time_ids(ids.shape[0], size, pooled[0].device)}


def build(model: str = "sd15"):
    """The model's three networks: its TextEncoders, UNet and VAE (SD 1.5's shapes for all)."""
    m = MODELS[model]
    encoders = [CLIPTextModel(CLIPTextConfig(**m.text))]
    if m.text_2 is not None:
        encoders.append(CLIPTextModelWithProjection(CLIPTextConfig(**m.text_2)))
    unet = UNet2DConditionModel(**m.unet)
    vae = AutoencoderKL(**dict(VAE, **m.vae))
    # Only the decoder is benchmarked and sdgen holds only the decoder: keep peak RSS comparable.
    del vae.encoder, vae.quant_conv
    return TextEncoders(encoders).eval(), unet.eval(), vae.eval()


def latents_for(model: str, latent: int) -> torch.Tensor:
    """The UNet's input, [batch,4,latent,latent]: values as sdgen's (sin(i·0.37)); they only need to be
    ordinary floats, not denormals."""
    batch = MODELS[model].batch
    return torch.sin(torch.arange(batch * 4 * latent * latent) * 0.37).reshape(batch, 4, latent, latent)


def count_gflop(latent: int, model: str = "sd15") -> tuple[float, float]:
    # Built on the meta device nothing is computed, so counting is free. FlopCounterMode counts
    # matmuls, convolutions and attention, a multiply-add as 2: sdgen's FLOPCounter convention.
    batch = MODELS[model].batch
    with torch.device("meta"):
        _, unet, vae = build(model)
        x = torch.zeros(batch, 4, latent, latent)
        context = torch.zeros(batch, 77, unet.config.cross_attention_dim)
        added = None
        if unet.config.addition_embed_type == "text_time":  # SDXL: the pooled vector and the size numbers
            sizes = time_ids(batch, latent * 8)
            pooled = unet.config.projection_class_embeddings_input_dim - sizes.shape[1] * unet.config.addition_time_embed_dim
            added = {"text_embeds": torch.zeros(batch, pooled), "time_ids": sizes}
    with torch.inference_mode():
        with FlopCounterMode(display=False) as counter:
            unet(x, 999, encoder_hidden_states=context, added_cond_kwargs=added)
        unet_flops = counter.get_total_flops()
        with FlopCounterMode(display=False) as counter:
            vae.decode(x[:1])
    return unet_flops / 1e9, counter.get_total_flops() / 1e9


def precision_context(precision: str, device: str = "cpu"):
    # One autocast region around every timed call: its cast weights are cached
    # across calls, as a serving loop would keep them.
    return torch.autocast(device, dtype=torch.bfloat16) if precision == "bf16" else contextlib.nullcontext()


def synchronize(device: str) -> None:
    # GPU work is asynchronous: read the clock only once it is done.
    if device == "cuda":
        torch.cuda.synchronize()


def print_report(result: dict, name: str, fields: dict, steps: int, as_json: bool, markdown: bool) -> None:
    """sdgen's `bench` output for one result: its JSON (BenchReport's fields plus `fields`, what
    identifies this side) or its table. Shared with openvino_bench.py."""
    if as_json:
        print(json.dumps({"devices": {result["device"]: name}, "results": [result], **fields},
                         indent=2, sort_keys=True))
        return
    samples, text_ms, vae_s = result["unet"]["samples"], result["textEncoderMilliseconds"], result["vaeDecodeSeconds"]
    unet_gflop, vae_gflop, size = result["unetGFLOP"], result["vaeGFLOP"], result["width"]
    model = MODELS[result["model"]]
    med = median(samples)
    image_steps = model.image_steps  # as sdgen's BenchmarkModel.imageSteps
    image_s = text_ms / 1000 + image_steps * med + vae_s  # text encoder + the UNet steps + VAE decode
    print(f"{model.title} (random weights), {size}×{size}, UNet batch {model.batch} ({model.guidance}), "
          f"{steps} timed steps")
    print(f"CPU: {name}")
    header = ["device", "UNet s/it (median)", "UNet min", "text encoder ms", "VAE decode s", f"{image_steps}-step image s",
              "UNet GFLOP/s", "peak RSS"]
    row = ["CPU", f"{med:.2f}", f"{min(samples):.2f}", f"{text_ms:.0f}", f"{vae_s:.1f}", f"{image_s:.0f}",
           f"{unet_gflop / med:.1f}", gigabytes(result["peakResidentBytes"])]
    print(render_table(header, [row], markdown))
    print(f"Work: UNet step {unet_gflop:.0f} GFLOP, VAE decode {vae_gflop:.0f} GFLOP (multiply-add = 2)")


def add_model_options(p: argparse.ArgumentParser, prefix: str = "") -> None:
    """--model and --size, as sdgen's `bench`. Shared with openvino_bench.py."""
    p.add_argument("--model", choices=list(MODELS), default="sd15",
                   help=f"{prefix}the model's architecture: " + ", ".join(
                       f"{k} ({m.title}, {m.size}², batch {m.batch})" for k, m in MODELS.items()) + " (default sd15)")
    p.add_argument("--size", type=int, help=f"{prefix}image size in pixels (square), a multiple of 8 "
                                            "(default: the model's)")


def check_model_options(p: argparse.ArgumentParser, args) -> None:
    if args.size is None:
        args.size = MODELS[args.model].size
    if args.size <= 0 or args.size % 8:
        p.error("--size must be a positive multiple of 8")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_options(p)
    p.add_argument("--steps", type=int, default=5, help="timed UNet steps (default 5)")
    p.add_argument("--threads", type=int, default=all_cores(), help="CPU threads (default: every core)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="where PyTorch runs (default cpu)")
    p.add_argument("--precision", choices=["f32", "bf16", "fp16"], default="f32",
                   help="f32, or bf16 under torch.autocast (bf16 matrix products and convolutions, as sdgen's "
                        "--precision bf16 rounds its products' operands)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = p.parse_args()
    check_model_options(p, args)
    if args.steps <= 0 or args.threads <= 0:
        p.error("--steps and --threads must be positive")

    if args.precision == "fp16" and args.device != "cuda":
        p.error("--precision fp16 runs on --device cuda")
    torch.set_num_threads(args.threads)
    torch.manual_seed(1234)
    text, unet, vae = build(args.model)
    dtype = torch.float16 if args.precision == "fp16" else torch.float32
    text, unet, vae = (m.to(args.device, dtype) for m in (text, unet, vae))
    attention = f"{text.config._attn_implementation} / {type(unet.attn_processors[next(iter(unet.attn_processors))]).__name__}"
    where = torch.cuda.get_device_name() if args.device == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    name = f"{where} (PyTorch {torch.__version__}, attention {attention}, {args.precision})"
    latent = args.size // 8

    with torch.inference_mode(), precision_context(args.precision, args.device):
        ids = torch.tensor(MODELS[args.model].ids, device=args.device)
        text.encode(ids, args.size)
        synchronize(args.device)
        start = time.perf_counter()
        context, added = text.encode(ids, args.size)  # added: SDXL's added_cond_kwargs, else None
        synchronize(args.device)
        text_ms = (time.perf_counter() - start) * 1000

        latents = latents_for(args.model, latent).to(args.device, dtype)
        unet(latents, 999, encoder_hidden_states=context, added_cond_kwargs=added)
        synchronize(args.device)
        samples = []
        for step in range(args.steps):
            start = time.perf_counter()
            unet(latents, 999 - 20 * step, encoder_hidden_states=context, added_cond_kwargs=added)
            synchronize(args.device)
            samples.append(time.perf_counter() - start)

        if args.device == "cuda":
            vae.decode(latents[:1])  # the GPU's first decode also picks its kernels
            synchronize(args.device)
        start = time.perf_counter()
        vae.decode(latents[:1])
        synchronize(args.device)
        vae_s = time.perf_counter() - start

    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    unet_gflop, vae_gflop = count_gflop(latent, args.model)
    device_bytes = torch.cuda.max_memory_allocated() if args.device == "cuda" else None
    result = {"device": "gpu" if args.device == "cuda" else "cpu", "model": args.model,
              "batch": MODELS[args.model].batch, "width": args.size, "height": args.size,
              "textEncoderMilliseconds": text_ms,
              "unet": {"samples": samples}, "vaeDecodeSeconds": vae_s, "unetGFLOP": unet_gflop,
              "vaeGFLOP": vae_gflop, "peakResidentBytes": peak_rss,
              **({"peakDeviceBytes": device_bytes} if device_bytes is not None else {})}

    print_report(result, name, {"torch": torch.__version__, "precision": args.precision,
                                "threads": torch.get_num_threads(), "attention": attention},
                 args.steps, args.json, args.markdown)


if __name__ == "__main__":
    main()
