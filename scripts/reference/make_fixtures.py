"""Generate PyTorch/diffusers reference fixtures for the sdgen Swift tests.

Every fixture is a single safetensors file under ``Tests/Fixtures/<group>/``
(resolved relative to this script: ``<repo_root>/Tests/Fixtures``). Inputs and
the reference output are stored as tensors, and the numeric parameters of the
op are stored as string-valued safetensors metadata.

How to run (from the repository root):

    python3 -m venv ../venv && ../venv/bin/pip install -r scripts/reference/requirements.txt && ../venv/bin/python scripts/reference/make_fixtures.py

Pass group names to generate only some groups, e.g.::

    ../venv/bin/python scripts/reference/make_fixtures.py ops

Conventions (the Swift tests rely on them):
  * float tensors are float32 and contiguous; integer tensors (ids) are int64;
  * tensors use PyTorch's natural layout (NCHW for images);
  * metadata values are strings, e.g. {"heads": "4", "eps": "1e-05"};
  * every fixture seeds torch with its own fixed seed, so reruns with the
    pinned versions reproduce the same files;
  * reference outputs are computed in float32 on the CPU.

Groups are registered in ``GROUPS``; add further groups (models, schedulers,
tokenizers, ...) as functions ``make_<group>_fixtures(out_dir: Path)``.
"""

from __future__ import annotations

import argparse
import json
import math
import struct
import sys
from pathlib import Path
from typing import Callable, Dict, Mapping, Optional, Sequence

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from fixtures_schedulers import make_rng_fixtures, make_scheduler_fixtures
from fixtures_text_encoders import make_text_encoder_fixtures
from fixtures_prompts import make_prompt_fixtures
from fixtures_lora import make_lora_fixtures
from fixtures_img2img import make_img2img_fixtures
from fixtures_inpaint_area import make_inpaint_area_fixtures
from fixtures_few_step import make_few_step_fixtures
from fixtures_taesd import make_taesd_fixtures
from fixtures_sd2 import make_sd2_fixtures, make_sd2_single_file_fixtures
from fixtures_sdxl import make_sdxl_fixtures, make_sdxl_single_file_fixtures
from fixtures_sdxl_lora import make_sdxl_lora_fixtures
from fixtures_sdxl_prompts import make_sdxl_prompts_fixtures
from fixtures_sdxl_img2img import make_sdxl_img2img_fixtures, make_sdxl_inpaint9_fixtures
from fixtures_vae_tiling import make_vae_tiling_fixtures
from fixtures_previews import make_previews_fixtures

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES_DIR = REPO_ROOT / "Tests" / "Fixtures"


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

def _prepare(name: str, t: torch.Tensor) -> torch.Tensor:
    t = t.detach().cpu()
    if t.is_floating_point():
        t = t.to(torch.float32)
    elif t.dtype in (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8):
        t = t.to(torch.int64)
    else:
        raise TypeError(f"tensor {name!r}: unsupported dtype {t.dtype}")
    return t.contiguous()


def write_fixture(
    out_dir: Path,
    name: str,
    tensors: Mapping[str, torch.Tensor],
    meta: Optional[Mapping[str, object]] = None,
) -> Path:
    """Write ``out_dir/<name>.safetensors`` with float32/int64 tensors and string metadata."""
    out_dir.mkdir(parents=True, exist_ok=True)
    prepared = {k: _prepare(k, v) for k, v in tensors.items()}
    for k, v in prepared.items():
        if v.is_floating_point() and not torch.isfinite(v).all():
            raise ValueError(f"{name}: tensor {k!r} has non-finite values")
    metadata = {str(k): str(v) for k, v in (meta or {}).items()}
    path = out_dir / f"{name}.safetensors"
    save_file(prepared, str(path), metadata=metadata or None)
    _canonicalize_metadata_order(path)
    return path


def _canonicalize_metadata_order(path: Path) -> None:
    """Sort the ``__metadata__`` keys in the header, in place.

    safetensors serializes metadata from a hash map, so its key order (and the
    file bytes) differ from run to run. Reordering keeps the header the same
    length, so tensor data offsets are unchanged and reruns are byte-identical.
    """
    with open(path, "r+b") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        raw = f.read(n)
        header = json.loads(raw.decode("utf-8"))  # dicts keep the file's key order
        meta = header.get("__metadata__")
        if not meta:
            return
        header["__metadata__"] = dict(sorted(meta.items()))
        new_raw = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        if len(new_raw) > n:
            raise RuntimeError(f"{path}: canonical header longer than original")
        new_raw += b" " * (n - len(new_raw))
        if json.loads(new_raw.decode("utf-8")) != json.loads(raw.decode("utf-8")):
            raise RuntimeError(f"{path}: header changed while canonicalizing")
        f.seek(8)
        f.write(new_raw)


def _conv(out_dir: Path, name: str, seed: int, x_shape, w_shape, stride: int, padding,
          half_weights: bool = False, residual: bool = False) -> None:
    """padding: an int for all sides, or (top, left, bottom, right), applied with F.pad;
    half_weights: f16-representable weights, as SD's fp16 files hold; residual: a
    tensor of the output's shape added after the convolution (a ResNet block's skip)."""
    torch.manual_seed(seed)
    x = torch.randn(*x_shape)
    weight = torch.randn(*w_shape) * (1.0 / math.sqrt(w_shape[1] * w_shape[2] * w_shape[3]))
    if half_weights:
        weight = weight.half().float()
    bias = torch.randn(w_shape[0]) * 0.1
    if isinstance(padding, int):
        out = F.conv2d(x, weight, bias, stride=stride, padding=padding)
        meta = {"stride": stride, "padding": padding}
    else:
        top, left, bottom, right = padding
        out = F.conv2d(F.pad(x, (left, right, top, bottom)), weight, bias, stride=stride)
        meta = {"stride": stride, "padding_top": top, "padding_left": left,
                "padding_bottom": bottom, "padding_right": right}
    tensors = {"x": x, "weight": weight, "bias": bias}
    if residual:
        tensors["residual"] = torch.randn(*out.shape)
        out = out + tensors["residual"]
    write_fixture(out_dir, name, {**tensors, "out": out}, meta)


def _sdpa_heads(q, k, v, heads: int, scale: float, causal: bool, attn_mask=None) -> torch.Tensor:
    """Split [B, L, H*D] into heads, run SDPA, merge back to [B, L, H*D]."""
    b, lq, c = q.shape
    lk = k.shape[1]
    d = c // heads
    qh = q.view(b, lq, heads, d).transpose(1, 2)
    kh = k.view(b, lk, heads, d).transpose(1, 2)
    vh = v.view(b, lk, heads, d).transpose(1, 2)
    o = F.scaled_dot_product_attention(qh, kh, vh, attn_mask=attn_mask, is_causal=causal, scale=scale)
    return o.transpose(1, 2).reshape(b, lq, heads * d)


def _attention(out_dir: Path, name: str, seed: int, b: int, lq: int, lk: int, c: int, heads: int,
               causal: bool, hidden: list | None = None) -> None:
    """SDPA over random q, k, v; `hidden`: (sample, slice of keys) pairs that a
    key mask of float32's lowest value hides, as transformers' masks do."""
    torch.manual_seed(seed)
    q = torch.randn(b, lq, c)
    k = torch.randn(b, lk, c)
    v = torch.randn(b, lk, c)
    scale = 1.0 / math.sqrt(c // heads)
    tensors = {"q": q, "k": k, "v": v}
    mask = None
    if hidden is not None:
        key_mask = torch.zeros(b, lk, dtype=torch.float32)
        for sample, keys in hidden:
            key_mask[sample, keys] = torch.finfo(torch.float32).min
        tensors["key_mask"] = key_mask
        mask = key_mask[:, None, None, :]
    out = _sdpa_heads(q, k, v, heads, scale, causal, attn_mask=mask)
    write_fixture(
        out_dir, name,
        {**tensors, "out": out},
        {"heads": heads, "causal": int(causal), "scale": str(scale)},
    )


def _activation_input(seed: int) -> torch.Tensor:
    torch.manual_seed(seed)
    return torch.linspace(-8.0, 8.0, 1003) + torch.randn(1003) * 0.01


# --------------------------------------------------------------------------
# Group: ops
# --------------------------------------------------------------------------

def make_op_fixtures(root: Path) -> None:
    out_dir = root / "ops"
    from diffusers.models.embeddings import get_timestep_embedding

    # linear
    torch.manual_seed(1001)
    x = torch.randn(3, 5, 37)
    w = torch.randn(29, 37)
    b = torch.randn(29)
    write_fixture(out_dir, "linear", {"x": x, "weight": w, "bias": b, "out": F.linear(x, w, b)})

    # matmul (batched)
    torch.manual_seed(1002)
    a = torch.randn(4, 13, 37)
    bm = torch.randn(4, 37, 19)
    write_fixture(out_dir, "matmul", {"a": a, "b": bm, "out": torch.bmm(a, bm)})

    # matmul with transposed b and alpha
    torch.manual_seed(1003)
    a = torch.randn(4, 13, 37)
    bm = torch.randn(4, 19, 37)
    alpha = 0.5
    write_fixture(
        out_dir, "matmul_tb",
        {"a": a, "b": bm, "out": alpha * (a @ bm.transpose(1, 2))},
        {"transpose_b": 1, "alpha": "0.5"},
    )

    # Products big enough that sdgen splits them over its workers: by rows of
    # the output (many rows), by columns (few rows, many outputs), and by rows
    # of a transposed A. Unit-variance outputs keep the 1e-5 bound meaningful.
    torch.manual_seed(1110)
    x = torch.randn(600, 128)
    w = torch.randn(120, 128) / math.sqrt(128)
    b = torch.randn(120) * 0.1
    write_fixture(out_dir, "linear_split_rows", {"x": x, "weight": w, "bias": b, "out": F.linear(x, w, b)})
    torch.manual_seed(1111)
    x = torch.randn(40, 256)
    w = torch.randn(1024, 256) / math.sqrt(256)
    b = torch.randn(1024) * 0.1
    write_fixture(out_dir, "linear_split_columns", {"x": x, "weight": w, "bias": b, "out": F.linear(x, w, b)})
    # The same two splits with an activation after the product (BERT's GELU,
    # CLIP's quick GELU), which the CPU applies to each worker's block as it
    # is made: rows ragged against every register tile. Each of these four
    # is at least twice the CPU's parallelGEMMWork (2^22 multiply-adds), so
    # that it really is split over two workers.
    torch.manual_seed(1190)
    x = torch.randn(603, 256)
    w = torch.randn(80, 256) / math.sqrt(256)
    b = torch.randn(80) * 0.1
    write_fixture(out_dir, "linear_gelu_split_rows", {"x": x, "weight": w, "bias": b, "out": F.gelu(F.linear(x, w, b))})
    torch.manual_seed(1191)
    x = torch.randn(41, 320)
    w = torch.randn(802, 320) / math.sqrt(320)
    b = torch.randn(802) * 0.1
    y = F.linear(x, w, b)
    write_fixture(out_dir, "linear_quick_gelu_split_columns",
                  {"x": x, "weight": w, "bias": b, "out": y * torch.sigmoid(1.702 * y)})
    # A residual added after the product (a transformer block's skip
    # connection), which the CPU adds to each worker's block as it is made:
    # batched tokens split by rows, and after an activation split by columns.
    torch.manual_seed(1192)
    x = torch.randn(3, 201, 256)
    w = torch.randn(80, 256) / math.sqrt(256)
    b = torch.randn(80) * 0.1
    r = torch.randn(3, 201, 80)
    write_fixture(out_dir, "linear_residual_split_rows",
                  {"x": x, "weight": w, "bias": b, "residual": r, "out": F.linear(x, w, b) + r})
    torch.manual_seed(1193)
    x = torch.randn(41, 320)
    w = torch.randn(802, 320) / math.sqrt(320)
    b = torch.randn(802) * 0.1
    r = torch.randn(41, 802)
    write_fixture(out_dir, "linear_gelu_residual_split_columns",
                  {"x": x, "weight": w, "bias": b, "residual": r, "out": F.gelu(F.linear(x, w, b)) + r})

    # f16-representable weights (SD's checkpoints are fp16): the CPU keeps them
    # f16 and widens them in its own GEMM as it packs them, or in blocks for
    # OpenBLAS; either way the result is the f32 product of these values.
    torch.manual_seed(1112)
    x = torch.randn(3, 50, 77)
    w = (torch.randn(45, 77) / math.sqrt(77)).half().float()
    b = torch.randn(45) * 0.1
    write_fixture(out_dir, "linear_f16_weight", {"x": x, "weight": w, "bias": b, "out": F.linear(x, w, b)})
    torch.manual_seed(1113)
    x = torch.randn(2, 24, 9, 11)
    w = (torch.randn(40, 24, 3, 3) / math.sqrt(24 * 9)).half().float()
    b = torch.randn(40) * 0.1
    write_fixture(out_dir, "conv2d_f16_weight", {"x": x, "weight": w, "bias": b,
                                                "out": F.conv2d(x, w, b, padding=1)}, {"stride": 1, "padding": 1})
    torch.manual_seed(1112)
    a = torch.randn(2, 256, 200) / math.sqrt(256)
    bm = torch.randn(2, 256, 200)
    write_fixture(out_dir, "matmul_ta_split", {"a": a, "b": bm, "out": a.transpose(1, 2) @ bm}, {"transpose_a": 1})

    # conv2d
    _conv(out_dir, "conv2d_3x3", 1004, (2, 7, 9, 11), (13, 7, 3, 3), stride=1, padding=1)
    _conv(out_dir, "conv2d_3x3_s2", 1005, (2, 7, 9, 11), (13, 7, 3, 3), stride=2, padding=1)
    _conv(out_dir, "conv2d_3x3_s2_p0", 1006, (1, 5, 8, 10), (6, 5, 3, 3), stride=2, padding=0)
    _conv(out_dir, "conv2d_1x1", 1007, (2, 16, 5, 6), (8, 16, 1, 1), stride=1, padding=0)
    _conv(out_dir, "conv2d_3x3_wide", 1008, (1, 40, 6, 6), (36, 40, 3, 3), stride=1, padding=1)
    # Sizes that are not multiples of the 4×4 Winograd tile, with enough tiles
    # that sdgen's automatic choice takes Winograd; the second has SD-deep sums.
    _conv(out_dir, "conv2d_3x3_winograd", 1100, (2, 64, 30, 33), (48, 64, 3, 3), stride=1, padding=1)
    _conv(out_dir, "conv2d_3x3_winograd_deep", 1101, (1, 256, 34, 29), (64, 256, 3, 3), stride=1, padding=1)
    # Geometries a Winograd tiling must get right at the edges: no padding,
    # asymmetric padding, images smaller than one 4×4 tile, a single pixel,
    # padding wider than the kernel's reach, a batch of odd-sized images.
    _conv(out_dir, "conv2d_3x3_valid", 1102, (1, 8, 9, 7), (16, 8, 3, 3), stride=1, padding=0)
    _conv(out_dir, "conv2d_3x3_asymmetric", 1103, (1, 24, 5, 6), (40, 24, 3, 3), stride=1, padding=(0, 1, 2, 1))
    _conv(out_dir, "conv2d_3x3_subtile", 1104, (2, 16, 3, 2), (8, 16, 3, 3), stride=1, padding=1)
    _conv(out_dir, "conv2d_3x3_single_pixel", 1105, (1, 8, 1, 1), (8, 8, 3, 3), stride=1, padding=1)
    _conv(out_dir, "conv2d_3x3_pad2", 1106, (1, 8, 4, 4), (8, 8, 3, 3), stride=1, padding=2)
    _conv(out_dir, "conv2d_3x3_batch", 1107, (3, 8, 13, 17), (24, 8, 3, 3), stride=1, padding=1)

    # group norm
    torch.manual_seed(1009)
    x = torch.randn(2, 64, 5, 7)
    w = torch.randn(64) * 0.5 + 1.0
    b = torch.randn(64) * 0.1
    eps = 1e-5
    write_fixture(
        out_dir, "group_norm",
        {"x": x, "weight": w, "bias": b, "out": F.group_norm(x, 32, w, b, eps)},
        {"groups": 32, "eps": str(eps), "silu": 0},
    )

    torch.manual_seed(1010)
    x = torch.randn(2, 96, 3, 5) * 3.0 + 2.0
    w = torch.randn(96) * 0.5 + 1.0
    b = torch.randn(96) * 0.1
    eps = 1e-6
    write_fixture(
        out_dir, "group_norm_silu",
        {"x": x, "weight": w, "bias": b, "out": F.silu(F.group_norm(x, 32, w, b, eps))},
        {"groups": 32, "eps": str(eps), "silu": 1},
    )

    # layer norm
    torch.manual_seed(1011)
    x = torch.randn(2, 77, 48)
    w = torch.randn(48) * 0.5 + 1.0
    b = torch.randn(48) * 0.1
    eps = 1e-5
    write_fixture(
        out_dir, "layer_norm",
        {"x": x, "weight": w, "bias": b, "out": F.layer_norm(x, (48,), w, b, eps)},
        {"eps": str(eps)},
    )

    torch.manual_seed(1012)
    x = torch.randn(3, 10, 37) + 100.0
    w = torch.randn(37) * 0.5 + 1.0
    b = torch.randn(37) * 0.1
    eps = 1e-12
    write_fixture(
        out_dir, "layer_norm_offset",
        {"x": x, "weight": w, "bias": b, "out": F.layer_norm(x, (37,), w, b, eps)},
        {"eps": str(eps)},
    )

    # softmax over the last dim
    torch.manual_seed(1013)
    x = torch.randn(3, 7, 77) * 4.0
    write_fixture(out_dir, "softmax", {"x": x, "out": torch.softmax(x, dim=-1)})

    # attention
    _attention(out_dir, "attention_causal", 1014, b=2, lq=77, lk=77, c=96, heads=4, causal=True)
    _attention(out_dir, "attention_cross", 1015, b=2, lq=64, lk=77, c=64, heads=8, causal=False)

    _attention(out_dir, "attention_mask", 1016, b=2, lq=20, lk=20, c=48, heads=3, causal=False,
               hidden=[(1, slice(13, None))])

    _attention(out_dir, "attention_long", 1017, b=1, lq=300, lk=300, c=40, heads=1, causal=False)
    # One causal head split over the workers (causality counted from each
    # share's first query), and heads 160 wide (SD's 8×8 level).
    _attention(out_dir, "attention_causal_split", 1040, b=1, lq=100, lk=100, c=16, heads=1, causal=True)
    _attention(out_dir, "attention_wide_heads", 1041, b=1, lq=40, lk=40, c=320, heads=2, causal=False)

    # elementwise activations
    x = _activation_input(1018)
    write_fixture(out_dir, "gelu", {"x": x, "out": F.gelu(x)})
    x = _activation_input(1019)
    write_fixture(out_dir, "gelu_tanh", {"x": x, "out": F.gelu(x, approximate="tanh")})
    x = _activation_input(1020)
    write_fixture(out_dir, "quick_gelu", {"x": x, "out": x * torch.sigmoid(1.702 * x)})
    x = _activation_input(1021)
    write_fixture(out_dir, "silu", {"x": x, "out": F.silu(x)})
    # Far past where the exponentials underflow or clamp (|x| up to 1e4): the
    # sigmoid's exp(−|s·x|) form must neither overflow nor lose the sign.
    x = torch.tensor([-1e4, -1000.0, -200.0, -104.0, -100.0, -90.0, -88.0, -87.0, -60.0, -50.0, -20.0, -15.0,
                      -9.0, -5.0, -1e-3, -0.0, 0.0, 1e-3, 5.0, 9.0, 15.0, 20.0, 50.0, 60.0, 87.0, 88.0, 90.0,
                      100.0, 104.0, 200.0, 1000.0, 1e4, -30.0, 30.0, -3.0, 3.0, 0.5])
    write_fixture(out_dir, "gelu_extremes", {"x": x, "out": F.gelu(x)})
    write_fixture(out_dir, "quick_gelu_extremes", {"x": x, "out": x * torch.sigmoid(1.702 * x)})
    write_fixture(out_dir, "silu_extremes", {"x": x, "out": F.silu(x)})

    # GEGLU (diffusers GEGLU after its projection), 40 wide: the C loops' two
    # vectors at a time and their masked tail on every kernel set
    torch.manual_seed(1022)
    x = torch.randn(2, 9, 80)
    hidden, gate = x.chunk(2, dim=-1)
    write_fixture(out_dir, "geglu", {"x": x, "out": hidden * F.gelu(gate)})

    # broadcasting binary ops
    torch.manual_seed(1023)
    a = torch.randn(2, 5, 6, 7)
    bb = torch.randn(2, 5, 6, 7)
    write_fixture(out_dir, "add_same", {"a": a, "b": bb, "out": a + bb})

    torch.manual_seed(1024)
    a = torch.randn(2, 5, 6, 7)
    bb = torch.randn(2, 1, 1, 7)
    write_fixture(out_dir, "add_broadcast", {"a": a, "b": bb, "out": a + bb})

    torch.manual_seed(1025)
    a = torch.randn(3, 4, 10)
    bb = torch.randn(10)
    write_fixture(out_dir, "mul_broadcast", {"a": a, "b": bb, "out": a * bb})

    torch.manual_seed(1026)
    a = torch.randn(2, 3, 4)
    bb = torch.randn(2, 3, 1)
    write_fixture(out_dir, "sub_broadcast", {"a": a, "b": bb, "out": a - bb})

    # affine
    torch.manual_seed(1027)
    x = torch.randn(2, 3, 17)
    scale, shift = 0.18215, -0.5
    write_fixture(
        out_dir, "affine",
        {"x": x, "out": x * scale + shift},
        {"scale": str(scale), "shift": str(shift)},
    )

    # nearest 2x upsample
    torch.manual_seed(1028)
    x = torch.randn(2, 3, 5, 7)
    write_fixture(out_dir, "upsample_nearest2x",
                  {"x": x, "out": F.interpolate(x, scale_factor=2.0, mode="nearest")})

    # concat along channels
    torch.manual_seed(1029)
    a = torch.randn(2, 3, 4, 5)
    bb = torch.randn(2, 6, 4, 5)
    write_fixture(out_dir, "concat_channels", {"a": a, "b": bb, "out": torch.cat([a, bb], dim=1)},
                  {"axis": 1})

    # embedding lookup
    torch.manual_seed(1030)
    table = torch.randn(50, 16)
    ids = torch.tensor([0, 7, 49, 7, 23, 0, 12, 49, 31], dtype=torch.int64)
    write_fixture(out_dir, "embedding", {"table": table, "ids": ids, "out": F.embedding(ids, table)})

    # sinusoidal timestep embedding (diffusers)
    timesteps = torch.tensor([0.0, 1.0, 500.0, 999.0], dtype=torch.float32)
    out = get_timestep_embedding(timesteps, 32, flip_sin_to_cos=True, downscale_freq_shift=0,
                                 max_period=10000)
    write_fixture(
        out_dir, "timestep_embedding",
        {"timesteps": timesteps, "out": out},
        {"dim": 32, "flip_sin_to_cos": 1, "downscale_freq_shift": 0, "max_period": 10000},
    )
    timesteps = torch.tensor([3.0, 250.5, 981.0], dtype=torch.float32)
    out = get_timestep_embedding(timesteps, 15, flip_sin_to_cos=False, downscale_freq_shift=1,
                                 max_period=10000)
    write_fixture(
        out_dir, "timestep_embedding_odd",
        {"timesteps": timesteps, "out": out},
        {"dim": 15, "flip_sin_to_cos": 0, "downscale_freq_shift": 1, "max_period": 10000},
    )

    # permute
    torch.manual_seed(1031)
    x = torch.randn(2, 3, 4, 5)
    write_fixture(out_dir, "permute", {"x": x, "out": x.permute(0, 2, 3, 1).contiguous()},
                  {"axes": "0,2,3,1"})

    # float16 round trip: values within the f16 range, including subnormals.
    torch.manual_seed(1032)
    x = torch.randn(1000) * 100.0
    special = torch.tensor([
        0.0, -0.0, 1e-6, -1e-6, 3e-7, -3e-7, 6e-8, 5.9604645e-08, 2e-8, 1e-8,
        6.1035156e-05, 6.0e-05, -6.0e-05, 1.5e-5, 1e-4, -1e-4,
        65504.0, -65504.0, 65519.0, 60000.0, 1.0 + 2.0 ** -11, 1.0 + 3 * 2.0 ** -11,
        2049.0, 2051.0, 0.1, 1.0 / 3.0,
    ], dtype=torch.float32)
    x[: special.numel()] = special
    # plus a band of random tiny values in the subnormal range
    x[100:140] = torch.randn(40) * 1e-6
    write_fixture(out_dir, "half_roundtrip", {"x": x, "out": x.half().float()})

    # bfloat16 round trip
    torch.manual_seed(1033)
    x = torch.randn(1000) * 1000.0
    write_fixture(out_dir, "bf16_roundtrip", {"x": x, "out": x.bfloat16().float()})


# --------------------------------------------------------------------------
# Registry / entry point
def make_narrow_conv_fixtures(root: Path) -> None:
    """Convolutions with a few output channels (sdgen computes them as dot products
    along the input channels, without im2col): a VAE decoder's RGB output with
    f16-representable weights and input channels past whole vectors, and a
    strided 8-channel one as a VAE encoder's moments."""
    out_dir = root / "ops"
    _conv(out_dir, "conv2d_3x3_rgb_out", 1200, (2, 20, 11, 9), (3, 20, 3, 3), stride=1, padding=1, half_weights=True)
    _conv(out_dir, "conv2d_3x3_narrow_s2", 1201, (1, 32, 9, 8), (8, 32, 3, 3), stride=2, padding=1)


def make_patch_conv_fixtures(root: Path) -> None:
    """Direct convolutions with input channels in whole multiples of 32, which
    sdgen's AVX-512 kernels multiply over the implicit patch matrix, packing
    patches straight from the input: output channels off the register tile
    (70), a VAE encoder's stride-2 downsample padded only bottom and right with
    f16 weights, and K = 9 · 288 = 2592, past one f32 K block (1024)."""
    out_dir = root / "ops"
    _conv(out_dir, "conv2d_3x3_patches", 1400, (1, 96, 7, 10), (70, 96, 3, 3), stride=1, padding=1)
    _conv(out_dir, "conv2d_3x3_patches_s2", 1401, (2, 64, 11, 9), (40, 64, 3, 3), stride=2, padding=(0, 0, 1, 1),
          half_weights=True)
    _conv(out_dir, "conv2d_3x3_patches_deep", 1402, (1, 288, 5, 6), (24, 288, 3, 3), stride=1, padding=1)


def make_residual_conv_fixtures(root: Path) -> None:
    """Convolutions with a residual added (diffusers' ResnetBlock2D: shortcut +
    conv2(h)), one per way sdgen computes a convolution: Winograd with tiles
    past the image's edges (and, deep, in chunks of outputs), the implicit patch
    matrix, a stride-2 product, a narrow one (dot products), and 1×1 (a linear
    layer)."""
    out_dir = root / "ops"
    _conv(out_dir, "conv2d_3x3_residual", 1500, (2, 32, 13, 10), (48, 32, 3, 3), stride=1, padding=1, residual=True)
    _conv(out_dir, "conv2d_3x3_residual_deep", 1501, (1, 128, 17, 14), (64, 128, 3, 3), stride=1, padding=1,
          residual=True)
    _conv(out_dir, "conv2d_3x3_residual_patches", 1502, (1, 64, 6, 7), (40, 64, 3, 3), stride=1, padding=1,
          residual=True)
    _conv(out_dir, "conv2d_3x3_residual_s2", 1503, (1, 32, 9, 8), (16, 32, 3, 3), stride=2, padding=1, residual=True)
    _conv(out_dir, "conv2d_3x3_residual_narrow", 1504, (1, 20, 7, 9), (3, 20, 3, 3), stride=1, padding=1,
          residual=True)
    _conv(out_dir, "conv2d_1x1_residual", 1505, (2, 16, 5, 6), (24, 16, 1, 1), stride=1, padding=0, residual=True)


def make_norm_offset_fixtures(root: Path) -> None:
    """GroupNorm of activations whose mean (100) dwarfs their spread (0.5), where
    E[x²] − E[x]² in f32 loses every digit: the reference is computed in float64
    (PyTorch's f32 kernel is itself a few 1e-5 off here), then rounded to f32.
    Per-channel offsets make the group's spread partly between channels."""
    out_dir = root / "ops"
    torch.manual_seed(1300)
    x = torch.randn(2, 64, 9, 7) * 0.5 + 100.0 + torch.randn(1, 64, 1, 1) * 0.1
    w = torch.randn(64) * 0.5 + 1.0
    b = torch.randn(64) * 0.1
    eps = 1e-5
    out = F.group_norm(x.double(), 8, w.double(), b.double(), eps).float()
    write_fixture(out_dir, "group_norm_offset", {"x": x, "weight": w, "bias": b, "out": out},
                  {"groups": 8, "eps": str(eps), "silu": 0})


def make_shifted_norm_fixtures(root: Path) -> None:
    """GroupNorm(+SiLU) of x plus per-sample channel offsets, as diffusers'
    ResnetBlock2D computes `norm2(conv1(h) + temb[:, :, None, None])` (the add
    rounded to f32 first). In the second the offsets carry a mean of 100 that
    dwarfs the spread (0.5), referenced in float64 from the f32 sum: the offsets
    must enter before the statistics' centering."""
    out_dir = root / "ops"
    torch.manual_seed(1600)
    x = torch.randn(2, 64, 6, 5) * 2.0 + 0.5
    t = torch.randn(2, 64) * 3.0
    w = torch.randn(64) * 0.5 + 1.0
    b = torch.randn(64) * 0.1
    eps = 1e-5
    out = F.silu(F.group_norm(x + t[:, :, None, None], 32, w, b, eps))
    write_fixture(out_dir, "group_norm_offsets_silu", {"x": x, "offsets": t, "weight": w, "bias": b, "out": out},
                  {"groups": 32, "eps": str(eps), "silu": 1})

    torch.manual_seed(1601)
    x = torch.randn(3, 48, 7, 4) * 0.5
    t = torch.randn(3, 48) * 0.1 + 100.0
    w = torch.randn(48) * 0.5 + 1.0
    b = torch.randn(48) * 0.1
    eps = 1e-6
    out = F.group_norm((x + t[:, :, None, None]).double(), 8, w.double(), b.double(), eps).float()
    write_fixture(out_dir, "group_norm_offsets_large", {"x": x, "offsets": t, "weight": w, "bias": b, "out": out},
                  {"groups": 8, "eps": str(eps), "silu": 0})


def make_attention_key_block_fixtures(root: Path) -> None:
    """Attention over more keys than one of the CPU kernels' key blocks (192),
    so the running softmax rescales between blocks: a key mask that hides the
    whole first block and part of the second of one sample (the running
    maximum starts at the mask's value and then jumps), the last keys of the
    other; and a causal head whose early queries see only the first block."""
    out_dir = root / "ops"
    _attention(out_dir, "attention_key_blocks_mask", 1800, b=2, lq=70, lk=450, c=40, heads=1, causal=False,
               hidden=[(0, slice(None, 250)), (1, slice(350, None))])
    _attention(out_dir, "attention_key_blocks_causal", 1801, b=1, lq=420, lk=420, c=32, heads=1, causal=True)
    # A head of 13 (no multiple of 8, and its last Vᵀ tile of 5 rows holds 3)
    # and 37 queries (the last block of 16 holds 5): the ragged edges of the
    # AVX2 kernel's value panels and of its transposed output store.
    _attention(out_dir, "attention_odd_head", 1802, b=2, lq=37, lk=200, c=26, heads=2, causal=False)


def make_geglu_module_fixtures(root: Path) -> None:
    """diffusers' GEGLU module (projection to 2·dim_out, then values · GELU(gates)),
    as `Backend.geglu(x, weight:, bias:)` computes it: 48 outputs pair into
    blocks of 16 values and 16 gates (the matrix-unit kernel's fused store), 40
    do not (the product, then the gating)."""
    from diffusers.models.activations import GEGLU

    out_dir = root / "ops"
    for name, seed, dim_out, bias in [("geglu_module", 1700, 48, True), ("geglu_module_unpaired", 1701, 40, False)]:
        torch.manual_seed(seed)
        module = GEGLU(40, dim_out, bias=bias).eval()
        x = torch.randn(2, 7, 40)
        with torch.no_grad():
            out = module(x)
        tensors = {"x": x, "weight": module.proj.weight.detach(), "out": out}
        if bias:
            tensors["bias"] = module.proj.bias.detach()
        write_fixture(out_dir, name, tensors)


# --------------------------------------------------------------------------

from fixtures_models import make_model_fixtures, make_pipeline_fixtures, make_unet_ragged_fixtures  # noqa: E402
from fixtures_tokenizers import make_clip_long_word_fixtures, make_tokenizer_fixtures  # noqa: E402
from fixtures_bf16 import make_bf16_fixtures, make_bf16_patch_fixtures  # noqa: E402

GROUPS: Dict[str, Callable[[Path], None]] = {
    "schedulers": make_scheduler_fixtures,
    "rng": make_rng_fixtures,
    "ops": make_op_fixtures,
    "narrow_conv": make_narrow_conv_fixtures,
    "norm_offset": make_norm_offset_fixtures,
    "patch_conv": make_patch_conv_fixtures,
    "residual_conv": make_residual_conv_fixtures,
    "shifted_norm": make_shifted_norm_fixtures,
    "geglu_module": make_geglu_module_fixtures,
    "attention_key_blocks": make_attention_key_block_fixtures,
    "bf16": lambda root: make_bf16_fixtures(root, write_fixture),
    "bf16_patches": lambda root: make_bf16_patch_fixtures(root, write_fixture),
    "models": make_model_fixtures,
    "unet_ragged": make_unet_ragged_fixtures,
    "pipeline": make_pipeline_fixtures,
    "tokenizers": make_tokenizer_fixtures,
    "clip_long_words": make_clip_long_word_fixtures,
    "text_encoders": lambda root: make_text_encoder_fixtures(root, write_fixture),
    "prompts": lambda root: make_prompt_fixtures(root, write_fixture),
    "lora": lambda root: make_lora_fixtures(root, write_fixture),
    "img2img": lambda root: make_img2img_fixtures(root, write_fixture),
    "inpaint_area": lambda root: make_inpaint_area_fixtures(root, write_fixture),
    "few_step": lambda root: make_few_step_fixtures(root, write_fixture),
    "taesd": lambda root: make_taesd_fixtures(root, write_fixture),
    "sd2": lambda root: make_sd2_fixtures(root, write_fixture),
    "sd2_single_file": make_sd2_single_file_fixtures,
    "sdxl": lambda root: make_sdxl_fixtures(root, write_fixture),
    "sdxl_single_file": make_sdxl_single_file_fixtures,
    "sdxl_lora": lambda root: make_sdxl_lora_fixtures(root, write_fixture),
    "sdxl_prompts": lambda root: make_sdxl_prompts_fixtures(root, write_fixture),
    "sdxl_img2img": lambda root: make_sdxl_img2img_fixtures(root, write_fixture),
    "sdxl_inpaint9": lambda root: make_sdxl_inpaint9_fixtures(root, write_fixture),
    "vae_tiling": lambda root: make_vae_tiling_fixtures(root, write_fixture),
    "previews": lambda root: make_previews_fixtures(root, write_fixture),
}


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("groups", nargs="*", metavar="GROUP",
                        help=f"groups to generate (default: all): {', '.join(GROUPS)}")
    parser.add_argument("--out", type=Path, default=FIXTURES_DIR,
                        help=f"fixtures root (default: {FIXTURES_DIR})")
    args = parser.parse_args(argv)

    groups = args.groups or list(GROUPS)
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        parser.error(f"unknown group(s): {', '.join(unknown)}; known: {', '.join(GROUPS)}")

    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    for g in groups:
        print(f"[make_fixtures] group {g} -> {args.out / g}")
        GROUPS[g](args.out)
        files = sorted((args.out / g).glob("*.safetensors"))
        total = sum(f.stat().st_size for f in files)
        print(f"[make_fixtures]   {len(files)} files, {total} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
