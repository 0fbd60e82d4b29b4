#!/usr/bin/env python3
"""Feeds sdgen thousands of random and mutated files, as a stranger's
downloads would be, and checks that every run ends with an exit status of
its own — an image or one `error:` line — never a signal (a trap, an abort,
an out-of-memory kill) or a hang.

    scripts/robustness.py [--count N] [--binary .build/release/sdgen] [--seed S]

Kinds of input, N of each: safetensors (random bytes, the tiny checkpoint
truncated, bit-flipped, overwritten, given random length prefixes; loaded as
`--weights`, half of them with the tiny model's configs); PNGs (the same
mutations of a PNG with A1111 parameters; read by `sdgen info`); init images
(a PNG and a JPEG mutated likewise, given to `--init-image`, half with a mask);
and LoRA files (a kohya LoRA mutated, given to `--lora`). Plain Python, no
packages. Exit status 0 when no run was killed by a signal.
"""

import argparse
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "Tests" / "Fixtures"


def mutate(original: bytes, rng: random.Random, focus: int) -> bytes:
    data = bytearray(original)
    kind = rng.randrange(6)
    pos = lambda: rng.randrange(len(data)) if rng.random() < 0.25 else rng.randrange(min(focus, len(data)))
    if kind == 0:
        return bytes(data[: rng.randrange(len(data))])
    if kind == 1:
        for _ in range(rng.randint(1, 4)):
            data[pos()] ^= 1 << rng.randrange(8)
    elif kind == 2:
        start = pos()
        for i in range(start, min(len(data), start + rng.randint(1, 16))):
            data[i] = rng.randrange(256)
    elif kind == 3:
        data[pos()] = rng.choice([0x00, 0xFF, 0x7F, 0x80, 0x30, 0x39, 0x2D, 0x22, 0x5D, 0x7D])
    elif kind == 4:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 4097)))
    else:
        data[:8] = rng.getrandbits(64).to_bytes(8, "little")
    return bytes(data)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000, help="inputs of each kind (default 5000)")
    parser.add_argument("--binary", default=str(ROOT / ".build" / "release" / "sdgen"))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    checkpoint = (FIXTURES / "pipeline_single_file" / "tiny_sd.safetensors").read_bytes()
    header = 8 + int.from_bytes(checkpoint[:8], "little")
    configs = str(FIXTURES / "pipeline")
    env = dict(os.environ, SDGEN_MEMORY_LIMIT=str(4 << 30))
    statuses: dict = {}
    killed = []
    with tempfile.TemporaryDirectory(prefix="sdgen-robustness-") as folder:
        work = Path(folder)
        subprocess.run([args.binary, "a fox", "--weights", configs, "--steps", "1", "--seed", "3",
                        "-o", str(work / "seed.png"), "--quiet"], check=True)
        png = (work / "seed.png").read_bytes()
        images = FIXTURES / "img2img"
        init_png, init_jpeg = (images / "init_40x24.png").read_bytes(), (images / "init_40x24.jpg").read_bytes()
        lora = (FIXTURES / "lora" / "files" / "kohya.safetensors").read_bytes()
        lora_header = 8 + int.from_bytes(lora[:8], "little")
        tiny = ["--weights", configs, "--steps", "2", "--width", "16", "--height", "16", "-o", str(work / "out.png"),
                "--quiet"]
        kinds = 4
        for index in range(kinds * args.count):
            kind = index // args.count
            if kind == 0:
                path = work / "mutant.safetensors"
                path.write_bytes(mutate(checkpoint, rng, header))
                command = [args.binary, "a fox", "--weights", str(path), "--steps", "1", "--width", "16",
                           "--height", "16", "-o", str(work / "out.png"), "--quiet"]
                if index % 2:
                    command += ["--config", configs]
            elif kind == 1:
                path = work / "mutant.png"
                path.write_bytes(mutate(png, rng, 200))
                command = [args.binary, "info", str(path)]
            elif kind == 2:
                original = init_png if index % 2 else init_jpeg
                path = work / ("mutant.png" if index % 2 else "mutant.jpg")
                path.write_bytes(mutate(original, rng, 300))
                command = [args.binary, "a fox", "--init-image", str(path), *tiny]
                if index % 4 < 2:
                    command += ["--mask", str(images / "mask_40x24.png")]
            else:
                path = work / "mutant.safetensors"
                path.write_bytes(mutate(lora, rng, lora_header))
                command = [args.binary, "a fox", "--lora", f"{path}:0.7", *tiny]
            try:
                result = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        timeout=120)
                status = result.returncode
            except subprocess.TimeoutExpired:
                status = "timeout"
            statuses[status] = statuses.get(status, 0) + 1
            if status == "timeout" or status < 0:
                kept = work.parent / f"sdgen-robustness-{index}{path.suffix}"
                kept.write_bytes(path.read_bytes())
                killed.append((index, status, str(kept)))
            elif status != 0 and result.stderr.count(b"\n") != 1:
                killed.append((index, "not one error line: " + result.stderr.decode(errors="replace")[:200], ""))
            if (index + 1) % 1000 == 0:
                print(f"{index + 1} runs: {statuses}", flush=True)
    print(f"done: {kinds * args.count} runs, exit statuses {statuses}")
    for index, status, kept in killed:
        print(f"  input {index}: {status} {kept}")
    return 1 if killed else 0


if __name__ == "__main__":
    sys.exit(main())
