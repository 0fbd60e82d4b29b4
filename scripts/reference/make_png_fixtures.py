#!/usr/bin/env python3
"""Writes the PNG fixtures of Tests/Fixtures/png: small files in the colour
types, bit depths and interlacing other programs produce (sdgen itself only
writes 8-bit RGB), each with the 8-bit RGB bytes a reader must return.

Encoded by hand (struct + zlib, no imaging library), so each file's content
is exactly what this script says. Standard library only; from the repository
root:

    python3 scripts/reference/make_png_fixtures.py

Expected bytes (`<name>.rgb`, row-major R G B): grey g -> (g, g, g);
16-bit v -> round(v / 257), libpng's png_set_scale_16; alpha dropped;
palette indices looked up.
"""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

WIDTH, HEIGHT = 11, 7
OUT = Path(__file__).resolve().parents[2] / "Tests" / "Fixtures" / "png"


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(color_type: int, bit_depth: int, rows: list[bytes], interlaced_stream: bytes | None = None,
        extra_chunks: list[bytes] = ()) -> bytes:
    ihdr = struct.pack(">IIBBBBB", WIDTH, HEIGHT, bit_depth, color_type, 0, 0, 1 if interlaced_stream else 0)
    raw = interlaced_stream if interlaced_stream is not None else b"".join(b"\x00" + row for row in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + b"".join(extra_chunks)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def rgb(x: int, y: int) -> tuple[int, int, int]:
    return (x * 23) % 256, (y * 37 + x) % 256, (x * y * 5 + 17) % 256


def grey(x: int, y: int) -> int:
    return (x * 19 + y * 31) % 256


def grey16(x: int, y: int) -> int:
    return (x * 5003 + y * 7919 + 128) % 65536


def adam7(pixel_bytes) -> bytes:
    """The filtered (filter 0) data of an Adam7-interlaced image."""
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    stream = b""
    for x0, y0, dx, dy in passes:
        xs = range(x0, WIDTH, dx)
        for y in range(y0, HEIGHT, dy):
            if len(xs) == 0:
                break
            stream += b"\x00" + b"".join(pixel_bytes(x, y) for x in xs)
    return stream


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    coords = [(x, y) for y in range(HEIGHT) for x in range(WIDTH)]
    rgb_bytes = lambda x, y: bytes(rgb(x, y))
    files: dict[str, tuple[bytes, bytes]] = {}

    rows = [b"".join(rgb_bytes(x, y) for x in range(WIDTH)) for y in range(HEIGHT)]
    expected_rgb = b"".join(rgb_bytes(x, y) for x, y in coords)
    files["rgb8_interlaced"] = (png(2, 8, rows, interlaced_stream=adam7(rgb_bytes)), expected_rgb)

    rows = [bytes(grey(x, y) for x in range(WIDTH)) for y in range(HEIGHT)]
    files["grey8"] = (png(0, 8, rows), b"".join(bytes([grey(x, y)] * 3) for x, y in coords))

    rows = [b"".join(struct.pack(">H", grey16(x, y)) for x in range(WIDTH)) for y in range(HEIGHT)]
    files["grey16"] = (png(0, 16, rows),
                       b"".join(bytes([round(grey16(x, y) / 257)] * 3) for x, y in coords))

    rows = [b"".join(rgb_bytes(x, y) + bytes([(x * 40) % 256]) for x in range(WIDTH)) for y in range(HEIGHT)]
    files["rgba8"] = (png(6, 8, rows), expected_rgb)

    palette = [(i * 60 % 256, 255 - i * 30, i * 17) for i in range(8)]
    index = lambda x, y: (x + 2 * y) % 8
    rows = [bytes(index(x, y) for x in range(WIDTH)) for y in range(HEIGHT)]
    plte = chunk(b"PLTE", b"".join(bytes(c) for c in palette))
    files["palette8"] = (png(3, 8, rows, extra_chunks=[plte]),
                         b"".join(bytes(palette[index(x, y)]) for x, y in coords))

    for name, (data, expected) in files.items():
        (OUT / f"{name}.png").write_bytes(data)
        (OUT / f"{name}.rgb").write_bytes(expected)
        print(f"{name}.png: {len(data)} bytes")


if __name__ == "__main__":
    main()
