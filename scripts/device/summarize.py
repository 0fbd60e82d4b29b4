#!/usr/bin/env python3
"""gpu-check.sh's last step: the JSON files of one run → summary.json and summary.md (sdgen's GPU beside
PyTorch CUDA from the same run, and the self-check)."""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path


def load(folder: Path, name: str):
    path = folder / name
    try:
        return json.loads(path.read_text()) if path.exists() else None
    except json.JSONDecodeError:
        return None


def main() -> None:
    work, out = Path(sys.argv[1]), Path(sys.argv[2])
    parts = {name: load(work, f"{name}.json") for name in
             ["selfcheck", "sdgen-sd", "sdgen-bert", "sdgen-image", "sdgen-sd-legacy", "sdgen-bert-legacy",
              "sdgen-sd-splitk", "sdgen-bert-splitk", "torch-sd-f32", "torch-sd-fp16", "torch-bert-f32", "torch-bert-fp16"]}
    devices = (work / "devices.txt").read_text() if (work / "devices.txt").exists() else ""
    nvidia = ((work / "nvidia.txt").read_text().strip() if (work / "nvidia.txt").exists() else "") or "no nvidia-smi"
    (out / "summary.json").write_text(json.dumps({"devices": devices, "nvidia": nvidia, **parts}, indent=1))

    lines = [f"GPU: {nvidia}", ""]

    def sd_row(label, report):
        if not report:
            return
        result = report["results"][0]
        unet = statistics.median(result["unet"]["samples"])
        lines.append(f"| {label} | {unet * 1000:.1f} | {result['textEncoderMilliseconds']:.1f} | "
                     f"{result['vaeDecodeSeconds'] * 1000:.1f} | {list(report['devices'].values())[0]} |")

    lines += ["| SD 1.5 (batch 2) | UNet ms/step (median) | text encoder ms | VAE decode ms | device |",
              "|---|---|---|---|---|"]
    sd_row("sdgen Vulkan", parts["sdgen-sd"])
    sd_row("sdgen Vulkan, first kernels", parts["sdgen-sd-legacy"])
    sd_row("sdgen Vulkan, split-K", parts["sdgen-sd-splitk"])
    sd_row("PyTorch CUDA fp32", parts["torch-sd-f32"])
    sd_row("PyTorch CUDA fp16", parts["torch-sd-fp16"])

    lines += ["", "| BERT-base | " + " | ".join(["sdgen Vulkan ms", "first kernels ms", "sdgen split-K ms",
                                                 "PyTorch fp32 ms", "PyTorch fp16 ms"]) + " |",
              "|---|---|---|---|---|---|"]
    def bert_ms(report):
        if not report:
            return {}
        return {(r["batch"], r["length"]): statistics.median(r["timing"]["samples"]) for r in report["rows"]
                if r["device"] == "gpu"}
    ours, legacy = bert_ms(parts["sdgen-bert"]), bert_ms(parts["sdgen-bert-legacy"])
    split = bert_ms(parts["sdgen-bert-splitk"])
    f32, f16 = bert_ms(parts["torch-bert-f32"]), bert_ms(parts["torch-bert-fp16"])
    for key in sorted(ours):
        cells = [f"{table[key]:.2f}" if key in table else "–" for table in (ours, legacy, split, f32, f16)]
        lines.append(f"| batch {key[0]} × {key[1]} | " + " | ".join(cells) + " |")

    # What the host did per UNet step and BERT pass (recording is host time an idle GPU waits on).
    commands = [("UNet step", (parts["sdgen-sd"] or {}).get("results", [{}])[0].get("unetCommands"))] + [
        (f"BERT {r['batch']} × {r['length']}", r.get("commands"))
        for r in (parts["sdgen-bert"] or {}).get("rows", []) if r["device"] == "gpu"]
    if any(c for _, c in commands):
        lines += ["", "| host, per pass | dispatches | recording ms | µs per dispatch | submissions | waits |",
                  "|---|---|---|---|---|---|"]
        for label, c in commands:
            if c:
                lines.append(f"| {label} | {c['dispatches']} | {c['recordingSeconds'] * 1000:.2f} | "
                             f"{c['recordingSeconds'] * 1e6 / max(c['dispatches'], 1):.1f} | {c['submissions']} | "
                             f"{c['waits']} |")

    if parts["sdgen-image"]:
        timings = parts["sdgen-image"]["images"][0]["timings"]
        lines += ["", f"One whole image with random weights: {timings['totalSeconds']:.1f} s "
                      f"({len(timings['unetSeconds'])} UNet steps)."]
    if parts["selfcheck"]:
        cases = parts["selfcheck"]["cases"]
        good = [c for c in cases if c.get("within_one_level", 0) >= 0.99]
        worst = max((c.get("max_levels", 255) for c in cases), default=0)
        lines += ["", f"Self-check: {len(good)} of {len(cases)} tiny pipeline cases within one level on ≥ 99% "
                      f"of values (largest difference {worst:.0f} levels)."]
    sd = (parts["sdgen-sd"] or {}).get("results", [{}])[0]
    split_sd = (parts["sdgen-sd-splitk"] or {}).get("results", [{}])[0]
    for title, profile in [("sdgen --profile: one UNet step", sd.get("unetProfile")),
                           ("sdgen --profile: one UNet step, split-K", split_sd.get("unetProfile")),
                           ("sdgen --profile: VAE decode", sd.get("vaeProfile"))] + [
            (f"sdgen --profile: BERT batch {row['batch']} × {row['length']}", row.get("profile"))
            for row in (parts["sdgen-bert"] or {}).get("rows", [])[-1:]]:
        lines += profile_lines(title, profile)
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def profile_lines(title, profile, top=20):
    """An OpProfile (sdgen's --profile JSON) as Markdown: per kind, then the largest kernels."""
    if not profile or not profile.get("entries"):
        return []
    entries = profile["entries"]
    total = sum(e["seconds"] for e in entries) or 1e-12
    lines = ["", f"{title} ({profile['clock']}): {total * 1000:.1f} ms in {sum(e['count'] for e in entries)} ops", "",
             "| op kind | ops | ms | share |", "|---|---|---|---|"]
    kinds = {}
    for e in entries:
        count, seconds = kinds.get(e["kind"], (0, 0.0))
        kinds[e["kind"]] = (count + e["count"], seconds + e["seconds"])
    for kind, (count, seconds) in sorted(kinds.items(), key=lambda kv: -kv[1][1]):
        lines.append(f"| {kind} | {count} | {seconds * 1000:.2f} | {100 * seconds / total:.1f}% |")
    lines += ["", "| kernel | count | ms | share | TFLOP/s |", "|---|---|---|---|---|"]
    for e in sorted(entries, key=lambda e: -e["seconds"])[:top]:
        rate = f"{e['flops'] / e['seconds'] / 1e12:.1f}" if e.get("flops") and e["seconds"] > 0 else ""
        lines.append(f"| {e['label']} | {e['count']} | {e['seconds'] * 1000:.2f} | {100 * e['seconds'] / total:.1f}% | {rate} |")
    return lines


if __name__ == "__main__":
    main()
