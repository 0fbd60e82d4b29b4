"""Fixtures for sdgen's opt-in bf16 matrix products (`--precision bf16`).

bf16 precision means: both operands of every matrix product rounded to
bfloat16 (round to nearest even, torch's ``.bfloat16()``), the products summed
in f32. The references here compute exactly that — the product of the rounded
operands, in float64 — so a bf16 kernel must match them to f32 accumulation
error (~1e-6), while an f32 product misses them by ~1e-2: the fixtures tell the
two apart.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F


def _r(t: torch.Tensor) -> torch.Tensor:
    """Rounded to bfloat16, held in float64 for an exact product."""
    return t.bfloat16().double()


def _linear(write, name: str, seed: int, x_shape, outputs: int) -> None:
    torch.manual_seed(seed)
    x = torch.randn(*x_shape)
    k = x_shape[-1]
    # f16-representable weights: the test also runs them stored as f16, as
    # SD's checkpoints are, and f16 → bf16 must give the same operand.
    w = (torch.randn(outputs, k) / math.sqrt(k)).half().float()
    b = torch.randn(outputs) * 0.1
    out = (_r(x) @ _r(w).T + b.double()).float()
    write(name, {"x": x, "weight": w, "bias": b, "out": out})


def _attention(write, name: str, seed: int, b: int, lq: int, lk: int, c: int, heads: int, causal: bool,
               masked: bool = False) -> None:
    """Attention as sdgen computes it in bf16: scores from rounded q and k, the
    softmax's exponentials (f32) rounded as the second product's operand, the
    division by their sum after that product (as flash attention does)."""
    torch.manual_seed(seed)
    q, k, v = torch.randn(b, lq, c), torch.randn(b, lk, c), torch.randn(b, lk, c)
    d = c // heads
    scale = 1.0 / math.sqrt(d)
    split = lambda t: t.view(b, -1, heads, d).transpose(1, 2)
    scores = scale * (_r(split(q)) @ _r(split(k)).transpose(-1, -2))
    tensors = {}
    if masked:
        # BERT's padding mask: an additive 0 or large negative per key and batch row.
        key_mask = torch.zeros(b, lk)
        key_mask[:, lk - lk // 3:] = -1e4
        key_mask[0, :] = 0
        scores = scores + key_mask.double()[:, None, None, :]
        tensors["key_mask"] = key_mask
    if causal:
        scores = scores.masked_fill(torch.ones(lq, lk, dtype=torch.bool).triu(1), float("-inf"))
    e = torch.exp((scores - scores.amax(-1, keepdim=True)).float())
    out = (_r(e) @ _r(split(v))) / e.double().sum(-1, keepdim=True)
    out = out.transpose(1, 2).reshape(b, lq, c).float()
    write(name, {"q": q, "k": k, "v": v, "out": out, **tensors},
          {"heads": heads, "causal": int(causal), "scale": str(scale)})


def make_bf16_fixtures(root: Path, write_fixture) -> None:
    out_dir = root / "bf16"
    write = lambda name, tensors, meta=None: write_fixture(out_dir, name, tensors, meta)

    # Odd K (a half-filled last pair), ragged M and N (partial register tiles).
    _linear(write, "linear", 2001, (3, 50, 77), 45)
    # Split over the workers by rows, then by columns.
    _linear(write, "linear_split_rows", 2002, (600, 128), 120)
    _linear(write, "linear_split_columns", 2003, (100, 300), 300)

    # Batched products with each transpose, and alpha.
    torch.manual_seed(2004)
    a, bm = torch.randn(3, 41, 23), torch.randn(3, 41, 35)
    write("matmul_ta", {"a": a, "b": bm, "out": (_r(a).transpose(1, 2) @ _r(bm)).float()}, {"transpose_a": 1})
    torch.manual_seed(2005)
    a, bm = torch.randn(3, 29, 33), torch.randn(3, 19, 33)
    write("matmul_tb", {"a": a, "b": bm, "out": (0.5 * (_r(a) @ _r(bm).transpose(1, 2))).float()},
          {"transpose_b": 1, "alpha": "0.5"})
    torch.manual_seed(2006)
    a, bm = torch.randn(2, 17, 66), torch.randn(2, 66, 70)
    write("matmul", {"a": a, "b": bm, "out": (_r(a) @ _r(bm)).float()})

    # im2col convolution: its GEMM operands are the input's and kernel's values.
    torch.manual_seed(2007)
    x = torch.randn(2, 24, 9, 11)
    w = (torch.randn(40, 24, 3, 3) / math.sqrt(24 * 9)).half().float()
    bias = torch.randn(40) * 0.1
    out = F.conv2d(_r(x), _r(w), bias.double(), padding=1).float()
    write("conv2d_direct", {"x": x, "weight": w, "bias": bias, "out": out}, {"stride": 1, "padding": 1})

    # SD's head widths: 40 (64×64 self-attention) and 64 (BERT), cross and causal.
    _attention(write, "attention_self", 2008, 2, 70, 70, 80, 2, False)
    _attention(write, "attention_cross", 2009, 2, 33, 9, 128, 2, False)
    _attention(write, "attention_causal", 2010, 1, 21, 21, 64, 1, True)
    # One head of 100 queries: split over the workers, so causality must count
    # from each share's first query. Head width 160 (SD's 8×8 level), a key mask.
    _attention(write, "attention_causal_split", 2011, 1, 100, 100, 16, 1, True)
    _attention(write, "attention_wide_heads", 2012, 1, 40, 40, 320, 2, False)
    _attention(write, "attention_mask", 2013, 2, 45, 45, 48, 2, False, masked=True)


def make_bf16_patch_fixtures(root: Path, write_fixture) -> None:
    """Direct convolutions whose input channels are whole multiples of 32, which
    sdgen's AVX-512 kernels multiply over the implicit patch matrix (no im2col):
    256 channels make K = 2304, past one bf16 K block (2048), and stride 2 takes
    every other pixel's patch."""
    out_dir = root / "bf16"
    write = lambda name, tensors, meta=None: write_fixture(out_dir, name, tensors, meta)
    for name, seed, stride in [("conv2d_patches", 2101, 1), ("conv2d_patches_s2", 2102, 2)]:
        torch.manual_seed(seed)
        x = torch.randn(2, 256, 7, 9)
        w = (torch.randn(24, 256, 3, 3) / math.sqrt(256 * 9)).half().float()
        bias = torch.randn(24) * 0.1
        out = F.conv2d(_r(x), _r(w), bias.double(), stride=stride, padding=1).float()
        write(name, {"x": x, "weight": w, "bias": bias, "out": out}, {"stride": stride, "padding": 1})
