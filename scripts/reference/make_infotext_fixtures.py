#!/usr/bin/env python3
"""Writes Tests/Fixtures/infotext/cases.json: parameter lines and the fields
AUTOMATIC1111's web UI reads from them, for sdgen's hand-written matcher of
A1111's `re_param` (a linear-time reading of the same regex).

Each case is a PNG `parameters` text whose last line starts with the five
fields sdgen requires and goes on with a segment of awkward characters
(quotes, backslashes, colons, commas, tabs, non-ASCII letters and digits);
`extras` is what A1111's `parse_generation_parameters` makes of that line —
`re_param.findall`, each value through its `unquote` — minus the five, as a
dict (a repeated key keeps its last value). Standard library only; from the
repository root:

    python3 scripts/reference/make_infotext_fixtures.py
"""
from __future__ import annotations

import json
import random
import re
from pathlib import Path

OUT = Path(__file__).resolve().parents[2] / "Tests" / "Fixtures" / "infotext"

# modules/infotext_utils.py (stable-diffusion-webui 1.10).
re_param_code = r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)'
re_param = re.compile(re_param_code)


def unquote(text: str) -> str:
    if len(text) == 0 or text[0] != '"' or text[-1] != '"':
        return text
    try:
        return json.loads(text)
    except Exception:
        return text


PREFIX = "Steps: 20, Sampler: Euler, CFG scale: 7, Seed: 1, Size: 8x8, "
KNOWN = {"Steps", "Sampler", "CFG scale", "Seed", "Size"}
# No capitals (no segment key can be a required one) and no newline (the
# last line stays the last line).
ALPHABET = list('abn_ -/:,"\\\t') + ["é", "中", "٣", "1", "\u00a0", "\u2003", "\u0301", "ⅷ"]

HANDWRITTEN = [
    'Lora hashes: "a: 123, b: 456", Version: v1.10.1',
    'Template: "a \\"quoted\\" word, and more", Next: 2',
    'open: "never closed, x: 1, y: 2',
    'q: "closed" then more, r: 3',
    'e: "", f: "\\\\", g: "\\"',
    'key-with/slash: v, sp ace d: w,, ,: x',
    'ab:c:d:e, :x, a:',
    '\t  tabbed: 1 ,  spaced  :  2  ',
    'uni中文: 値, ٣٣: digits, é́: accent',
    'trailing: "ok",',
    "x" * 300 + ": long key",
    "no colon anywhere " * 40,
    '"' * 50 + ": q, " + "\\" * 51 + '": b',
]


def case(segment: str) -> dict:
    text = "a prompt, with: a colon\nNegative prompt: bad\n" + PREFIX + segment
    lastline = text.strip().split("\n")[-1]
    extras: dict[str, str] = {}
    for key, value in re_param.findall(lastline):
        if key not in KNOWN:
            extras[key] = unquote(value)
    return {"text": text, "extras": extras}


def main() -> None:
    rng = random.Random(20261205)
    segments = list(HANDWRITTEN)
    for _ in range(400):
        length = rng.randrange(0, 48)
        segments.append("".join(rng.choice(ALPHABET) for _ in range(length)))
    # Segments that look like fields: a key, a colon, then an awkward value.
    for _ in range(200):
        parts = []
        for _ in range(rng.randrange(1, 5)):
            key = "".join(rng.choice("abé中٣_ -/") for _ in range(rng.randrange(1, 6)))
            value = "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(0, 12)))
            if rng.random() < 0.5:
                value = '"' + value + ('"' if rng.random() < 0.8 else "")
            parts.append(f"{key}:{' ' * rng.randrange(0, 3)}{value}")
        segments.append(", ".join(parts))
    OUT.mkdir(parents=True, exist_ok=True)
    cases = [case(s) for s in segments]
    (OUT / "cases.json").write_text(json.dumps(cases, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"wrote {len(cases)} cases to {OUT / 'cases.json'}")


if __name__ == "__main__":
    main()
