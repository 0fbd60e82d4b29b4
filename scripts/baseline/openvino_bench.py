#!/usr/bin/env python3
"""OpenVINO baseline for `sdgen bench` and `sdgen bert-bench`: the same benchmarks, tables and JSON.

The models of sd_bench.py and bert_bench.py (same configs, random weights), converted with
`openvino.convert_model` from the PyTorch modules (static input shapes) and compiled for the CPU with
INFERENCE_NUM_THREADS = --threads and INFERENCE_PRECISION_HINT = --precision (f32, or bf16: bf16
matrix products and convolutions where the CPU has them). Conversion and compilation are not timed.

  sd:   `--model` sd15|sd21|sd-turbo|sdxl|sdxl-turbo (sd_bench.py's MODELS; `--size` defaults to
        the model's): text encoder(s) on batch×77 ids (timed once after one warm-up; SDXL's two
        encoders as one converted model with two outputs, the context and the pooled vector),
        `--steps` UNet steps on [batch,4,size/8,size/8] after one warm-up (batch 2 with guidance, 1
        for the Turbo models; SDXL's UNet also takes text_embeds [batch,1280] and time_ids [batch,6]
        as inputs), one VAE decode of [1,4,size/8,size/8] after one warm-up; peak RSS from
        getrusage: it includes the PyTorch models converted in this process, whose weights the
        compiled models keep beside their own repacked copies (9.8 GB for sd15 at 128×128; SDXL's
        fp32 weights are 14 GB, so expect about 28 GB).
  bert: batch × seq (default 1,4 × 128,512), `--runs` timed runs after 2 warm-up runs.

`--only sd|bert` runs one; without it both run, bert first (with --json: two JSON documents, one
after the other; compare passes --only).
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import time
import warnings

import numpy as np
import openvino as ov
import torch
from transformers import BertConfig, BertModel

import bert_bench
import sd_bench
from common import all_cores, int_list


class Tensors(torch.nn.Module):
    """A module whose forward returns one tensor, for convert_model: `pick` takes the wrapped
    module's output (a ModelOutput) to its tensor."""

    def __init__(self, module: torch.nn.Module, call, pick):
        super().__init__()
        self.module, self.call, self.pick = module, call, pick

    def forward(self, *inputs):
        return self.pick(self.call(self.module, *inputs))


def compile_module(core: ov.Core, module: torch.nn.Module, call, pick, example: tuple, config: dict):
    """convert_model with static shapes (those of `example`), then compile_model for the CPU."""
    types = {torch.float32: ov.Type.f32, torch.int64: ov.Type.i64}
    wrapped = Tensors(module, call, pick).eval()
    with torch.no_grad(), warnings.catch_warnings():
        # torch.jit.trace's deprecation notice and its warnings about shapes frozen into the trace
        # (the inputs are static here).
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        model = ov.convert_model(wrapped, example_input=example,
                                 input=[(list(t.shape), types[t.dtype]) for t in example])
    return core.compile_model(model, "CPU", config)


def ov_config(threads: int, precision: str) -> dict:
    # The CPU plugin's default precision hint is bf16 on CPUs with bf16 instructions: always set it.
    return {"INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": precision}


def describe(compiled: ov.CompiledModel) -> tuple[int, str]:
    """The threads and precision the compiled model actually runs with."""
    return (int(compiled.get_property("INFERENCE_NUM_THREADS")),
            compiled.get_property("INFERENCE_PRECISION_HINT").to_string())


def name_of(threads: int, precision: str, effective: str) -> str:
    hint = precision if effective == precision else f"{precision} hint, runs {effective}"
    return f"CPU, {threads} threads (OpenVINO {ov.__version__.split('-')[0]}, {hint})"


def fields(threads: int, precision: str, attention: str) -> dict:
    # The PyTorch scripts' JSON fields (torch: the version the models were converted from; attention:
    # what PyTorch traced), plus openvino.
    return {"openvino": ov.__version__, "torch": torch.__version__, "precision": precision,
            "threads": threads, "attention": attention}


def run_sd(args, core: ov.Core) -> None:
    torch.manual_seed(1234)
    text, unet, vae = sd_bench.build(args.model)
    attention = (f"{text.config._attn_implementation} / "
                 f"{type(unet.attn_processors[next(iter(unet.attn_processors))]).__name__}")
    config = ov_config(args.threads, args.precision)
    latent = args.size // 8
    ids = torch.tensor(sd_bench.MODELS[args.model].ids)
    latents = sd_bench.latents_for(args.model, latent)
    with torch.no_grad():
        context, added = text.encode(ids, args.size)  # the UNet's example inputs only
    # SDXL's added conditioning as two more UNet inputs (text_embeds, time_ids); none for the others.
    extra = (added["text_embeds"], added["time_ids"]) if added else ()

    def unet_call(m, x, t, c, *more):
        return m(x, t, encoder_hidden_states=c,
                 added_cond_kwargs=dict(zip(("text_embeds", "time_ids"), more)) if more else None)

    # The compiled models keep the converted weights (shared with the PyTorch modules: dropping those
    # frees nothing) beside their own repacked copies, so peak RSS is about twice the weights.
    # TextEncoders returns (context,) or, SDXL, (context, pooled): one output or two.
    text_ov = compile_module(core, text, lambda m, i: m(i), lambda o: o[0] if len(o) == 1 else o, (ids,), config)
    unet_ov = compile_module(core, unet, unet_call, lambda o: o.sample,
                             (latents, torch.tensor(999), context, *extra), config)
    vae_ov = compile_module(core, vae, lambda m, z: m.decode(z), lambda o: o.sample, (latents[:1],), config)
    time_ids_np = added["time_ids"].numpy() if added else None
    del text, unet, vae, context, added, extra
    gc.collect()
    threads, effective = describe(unet_ov)

    text_rq, unet_rq, vae_rq = (m.create_infer_request() for m in (text_ov, unet_ov, vae_ov))
    ids_np, latents_np = ids.numpy(), latents.numpy()
    text_rq.infer([ids_np], share_inputs=True, share_outputs=True)
    start = time.perf_counter()
    out = text_rq.infer([ids_np], share_inputs=True, share_outputs=True)
    text_ms = (time.perf_counter() - start) * 1000
    context_np = np.array(out[0])  # a copy: the request owns its output buffer
    # SDXL: the pooled vector (a copy, as the context) and the size conditioning.
    extra_np = [np.array(out[1]), time_ids_np] if time_ids_np is not None else []

    unet_rq.infer([latents_np, np.array(999, dtype=np.int64), context_np, *extra_np], share_inputs=True,
                  share_outputs=True)
    samples = []
    for step in range(args.steps):
        t = np.array(999 - 20 * step, dtype=np.int64)
        start = time.perf_counter()
        unet_rq.infer([latents_np, t, context_np, *extra_np], share_inputs=True, share_outputs=True)
        samples.append(time.perf_counter() - start)

    z = np.ascontiguousarray(latents_np[:1])
    vae_rq.infer([z], share_inputs=True, share_outputs=True)  # warm-up
    start = time.perf_counter()
    vae_rq.infer([z], share_inputs=True, share_outputs=True)
    vae_s = time.perf_counter() - start

    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    unet_gflop, vae_gflop = sd_bench.count_gflop(latent, args.model)
    result = {"device": "cpu", "model": args.model, "batch": sd_bench.MODELS[args.model].batch,
              "width": args.size, "height": args.size, "textEncoderMilliseconds": text_ms,
              "unet": {"samples": samples}, "vaeDecodeSeconds": vae_s, "unetGFLOP": unet_gflop,
              "vaeGFLOP": vae_gflop, "peakResidentBytes": peak_rss}
    sd_bench.print_report(result, name_of(threads, args.precision, effective),
                          fields(threads, args.precision, attention), args.steps, args.json, args.markdown)


def run_bert(args, core: ov.Core) -> None:
    torch.manual_seed(42)
    config = BertConfig()
    model = BertModel(config).eval()
    attention = model.config._attn_implementation
    settings = ov_config(args.threads, args.precision)
    rows, threads, effective = [], args.threads, args.precision
    for b in args.batch:
        for s in args.seq:
            if s > config.max_position_embeddings:
                sys.exit(f"error: sequence {s} is longer than the model's {config.max_position_embeddings} positions")
            ids = torch.full((b, s), bert_bench.UNK, dtype=torch.long)
            compiled = compile_module(core, model, lambda m, i: m(input_ids=i), lambda o: o.last_hidden_state,
                                      (ids,), settings)
            threads, effective = describe(compiled)
            request, ids_np = compiled.create_infer_request(), ids.numpy()
            for _ in range(2):
                request.infer([ids_np], share_inputs=True, share_outputs=True)
            samples = []
            for _ in range(args.runs):
                start = time.perf_counter()
                request.infer([ids_np], share_inputs=True, share_outputs=True)
                samples.append((time.perf_counter() - start) * 1000)
            del request, compiled
            rows.append({"device": "cpu", "batch": b, "length": s, "timing": {"samples": samples},
                         "gflop": bert_bench.count_gflop(config, b, s)})
    bert_bench.print_report(rows, "cpu", name_of(threads, args.precision, effective),
                            fields(threads, args.precision, attention), args.runs, args.json, args.markdown)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", choices=["sd", "bert"], help="run one benchmark (default: bert, then sd)")
    p.add_argument("--threads", type=int, default=all_cores(), help="CPU threads (default: every core)")
    p.add_argument("--precision", choices=["f32", "bf16"], default="f32",
                   help="OpenVINO's INFERENCE_PRECISION_HINT (default f32)")
    p.add_argument("--batch", type=int_list, default=[1, 4], help="BERT batch sizes, comma-separated (default 1,4)")
    p.add_argument("--seq", type=int_list, default=[128, 512],
                   help="BERT sequence lengths, comma-separated (default 128,512)")
    p.add_argument("--runs", type=int, default=50, help="BERT timed runs per configuration, after 2 warm-up runs")
    sd_bench.add_model_options(p, prefix="SD: ")
    p.add_argument("--steps", type=int, default=5, help="SD timed UNet steps (default 5)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    args = p.parse_args()
    sd_bench.check_model_options(p, args)
    if args.steps <= 0 or args.runs <= 0 or args.threads <= 0:
        p.error("--steps, --runs and --threads must be positive")

    torch.set_num_threads(args.threads)  # the conversion's tracing runs PyTorch
    core = ov.Core()
    if args.only in (None, "bert"):
        run_bert(args, core)
    if args.only is None and not args.json:
        print()
    if args.only in (None, "sd"):
        run_sd(args, core)


if __name__ == "__main__":
    main()
