#!/usr/bin/env python3
"""PyTorch baseline for `sdgen bert-bench`: the same benchmark, table and JSON.

bert-base-uncased's BertModel (BertConfig() defaults) with random weights, on
inputs of [UNK] repeated to the sequence length (no special tokens), forward
pass only, `--runs` timed runs after 2 warm-up runs, float32 on the CPU.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time

import torch
from torch.utils.flop_counter import FlopCounterMode
from transformers import BertConfig, BertModel

from common import all_cores, int_list, median, render_table

UNK = 100  # bert-base-uncased's [UNK], as sdgen's BertBenchmark.unknownTokenID


def count_gflop(config: BertConfig, batch: int, length: int) -> float:
    # On the meta device nothing is computed, so counting is free. FlopCounterMode counts
    # matmuls and attention only, a multiply-add as 2: sdgen's FLOPCounter convention.
    with torch.device("meta"):
        model = BertModel(config).eval()
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        model(input_ids=torch.full((batch, length), UNK, device="meta"))
    return counter.get_total_flops() / 1e9


def print_report(rows: list[dict], device: str, name: str, fields: dict, runs: int, as_json: bool,
                 markdown: bool) -> None:
    """sdgen's `bert-bench` output: its JSON (BertBenchReport's fields plus `fields`, what identifies
    this side) or its table. Shared with openvino_bench.py."""
    if as_json:
        print(json.dumps({"devices": {device: name}, "rows": rows, **fields}, indent=2, sort_keys=True))
        return
    print(f"BERT encoder (bert-base-uncased shape, random weights), forward pass, inputs of [UNK], "
          f"{runs} runs after warm-up")
    print(f"CPU: {name}")
    table = []
    for r in rows:
        med = median(r["timing"]["samples"])
        table.append([f"{r['batch']} × {r['length']}", f"{med:.1f}", f"{min(r['timing']['samples']):.1f}",
                      f"{r['gflop'] / (med / 1000):.1f}"])
    print(render_table(["batch × seq", "CPU ms/it (median)", "CPU min", "CPU GFLOP/s"], table, markdown))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int_list, default=[1, 4], help="batch sizes, comma-separated (default 1,4)")
    p.add_argument("--seq", type=int_list, default=[128, 512], help="sequence lengths, comma-separated (default 128,512)")
    p.add_argument("--runs", type=int, default=50, help="timed runs per configuration, after 2 warm-up runs")
    p.add_argument("--threads", type=int, default=all_cores(), help="CPU threads (default: every core)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="where PyTorch runs (default cpu)")
    p.add_argument("--precision", choices=["f32", "bf16", "fp16"], default="f32",
                   help="f32, or bf16 under torch.autocast (bf16 matrix products, as sdgen's --precision bf16); "
                        "fp16 (cuda): the model in half precision")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = p.parse_args()
    if args.runs <= 0 or args.threads <= 0:
        p.error("--runs and --threads must be positive")

    if args.precision == "fp16" and args.device != "cuda":
        p.error("--precision fp16 runs on --device cuda")
    torch.set_num_threads(args.threads)
    torch.manual_seed(42)
    config = BertConfig()
    model = BertModel(config).eval()
    model = model.to(args.device, torch.float16 if args.precision == "fp16" else torch.float32)
    attention = model.config._attn_implementation  # "sdpa" unless transformers changes its default
    where = torch.cuda.get_device_name() if args.device == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    name = f"{where} (PyTorch {torch.__version__}, {attention} attention, {args.precision})"
    sync = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)
    # One autocast region around every timed call: its cast weights are cached
    # across calls, as a serving loop would keep them.
    precision = (torch.autocast(args.device, dtype=torch.bfloat16) if args.precision == "bf16"
                 else contextlib.nullcontext())

    rows = []
    for b in args.batch:
        for s in args.seq:
            if s > config.max_position_embeddings:
                sys.exit(f"error: sequence {s} is longer than the model's {config.max_position_embeddings} positions")
            ids = torch.full((b, s), UNK, dtype=torch.long, device=args.device)
            samples = []
            with torch.inference_mode(), precision:
                for _ in range(2):
                    model(input_ids=ids)
                sync()
                for _ in range(args.runs):
                    start = time.perf_counter()
                    model(input_ids=ids)
                    sync()  # GPU work is asynchronous
                    samples.append((time.perf_counter() - start) * 1000)
            rows.append({"device": "gpu" if args.device == "cuda" else "cpu", "batch": b, "length": s, "timing": {"samples": samples},
                         "gflop": count_gflop(config, b, s)})

    print_report(rows, "gpu" if args.device == "cuda" else "cpu", name,
                 {"torch": torch.__version__, "precision": args.precision,
                  "threads": torch.get_num_threads(), "attention": attention},
                 args.runs, args.json, args.markdown)


if __name__ == "__main__":
    main()
