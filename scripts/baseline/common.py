"""Helpers shared by the baseline scripts: sdgen's option syntax and table layout."""

from __future__ import annotations

import os


def int_list(text: str) -> list[int]:
    """sdgen's comma-separated lists ("1,4")."""
    return [int(v) for v in text.split(",") if v.strip()]


def all_cores() -> int:
    # The cores this process may run on, as sdgen's default (Foundation's activeProcessorCount).
    return len(os.sched_getaffinity(0))


def median(samples: list[float]) -> float:
    s = sorted(samples)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def gigabytes(n: int | None) -> str:
    return "n/a" if n is None else f"{n / 1e9:.2f} GB"


def render_table(header: list[str], rows: list[list[str]], markdown: bool = False) -> str:
    """sdgen's TextTable: labels left-aligned, numbers right-aligned; or Markdown."""
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        padded = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))]
        return "| " + " | ".join(padded) + " |" if markdown else "  ".join(padded)

    if markdown:
        rule = "|" + "|".join(" " + "-" * w + " " if i == 0 else " " + "-" * max(w - 1, 1) + ": "
                              for i, w in enumerate(widths)) + "|"
    else:
        rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule] + [line(r) for r in rows])
