#!/usr/bin/env python3
"""sdgen's and OpenVINO's BERT-base f32 times, interleaved round by round.

`compare` runs each tool once, one after the other; on a VM whose memory
system slows and recovers within minutes that moves the ratio by ±20%. Here
each round runs `sdgen bert-bench` and `openvino_bench.py` (all four sizes
each), in alternating order, and the summary is the median of each tool's
per-round medians and of the per-round ratios (OpenVINO / sdgen: above 1,
sdgen is faster), with their range.

    /path/to/venv/bin/python scripts/baseline/bert_interleaved.py \\
        --sdgen .build/release/sdgen --rounds 4 --runs 6
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

SIZES = [(1, 128), (1, 512), (4, 128), (4, 512)]
HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sdgen", required=True)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    times = {size: {"sdgen": [], "openvino": []} for size in SIZES}

    def run_sdgen() -> None:
        out = subprocess.run([args.sdgen, "bert-bench", "--device", "cpu", "--runs", str(args.runs),
                              "--threads", str(args.threads)], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if m := re.match(r"\s*(\d+) × (\d+)\s+([\d.]+)", line):
                times[(int(m[1]), int(m[2]))]["sdgen"].append(float(m[3]))

    def run_openvino() -> None:
        out = subprocess.run([sys.executable, str(HERE / "openvino_bench.py"), "--precision", "f32", "--only", "bert",
                              "--runs", str(args.runs), "--batch", "1,4", "--seq", "128,512",
                              "--threads", str(args.threads), "--json"],
                             capture_output=True, text=True, check=True).stdout
        for row in json.loads(out[out.index("{"):])["rows"]:
            times[(row["batch"], row["length"])]["openvino"].append(statistics.median(row["timing"]["samples"]))

    for r in range(args.rounds):
        for run in ([run_sdgen, run_openvino] if r % 2 == 0 else [run_openvino, run_sdgen]):
            run()
        print(f"round {r + 1}: " + ", ".join(f"{b}×{s} {times[(b, s)]['sdgen'][-1]:.1f} / "
                                             f"{times[(b, s)]['openvino'][-1]:.1f} ms" for b, s in SIZES), flush=True)
    print("| BERT-base f32, batch × seq | sdgen ms | OpenVINO ms | OpenVINO / sdgen per round: median (range) |")
    print("|---|---:|---:|---:|")
    for b, s in SIZES:
        ours, theirs = times[(b, s)]["sdgen"], times[(b, s)]["openvino"]
        ratios = [o / x for x, o in zip(ours, theirs)]
        print(f"| {b} × {s} | {statistics.median(ours):.1f} | {statistics.median(theirs):.1f} | "
              f"{statistics.median(ratios):.2f}× ({min(ratios):.2f}–{max(ratios):.2f}) |")


if __name__ == "__main__":
    main()
