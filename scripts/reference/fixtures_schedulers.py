"""Scheduler and RNG reference fixtures for the Swift ``SchedulersTests``.

Two groups, registered in ``make_fixtures.py``:

``schedulers`` -> ``Tests/Fixtures/schedulers/``
    One run per scheduler: the diffusers scheduler is built with
    ``Cls.from_config(SD 1.5's scheduler_config.json, **overrides)`` exactly as
    a diffusers user swaps schedulers, ``set_timesteps(10)``, initial latents
    come from ``torch.randn`` on a seeded CPU generator times
    ``init_noise_sigma``, and the loop of the text-to-image pipeline runs with
    a deterministic stand-in for the UNet (``_model``). For every model
    evaluation the scaled model input, the model output and the resulting
    sample are recorded (plus, for euler-a, the noise the step drew from the
    same generator).

    ``<run>.json`` (compact JSON) holds the metadata (the config dict passed to diffusers,
    timesteps, sigmas, init_noise_sigma, the layout of the data file) and
    ``<run>.f32`` the float32 little-endian arrays, in this order:
    ``initial`` then, per model evaluation, the names in ``per_step``.
    ``alphas_cumprod.f32`` holds SD 1.5's 1000 training ``alphas_cumprod``.

``rng`` -> ``Tests/Fixtures/rng/``
    ``torch.randn(shape, generator=torch.Generator().manual_seed(seed))`` on
    the CPU and the Philox reference below, for several shapes (sizes below,
    at and above 16, not multiples of 16) and seeds (including seeds above
    2**32 and 2**63). Values are stored as float32 bit patterns (uint32) in
    ``rng.json``; the two [1, 4, 64, 64] streams of seed 0 are stored whole in
    ``.f32`` files, the other large streams by an FNV-1a 64 hash of their bytes
    plus their first and last 32 values. ``sequences`` record successive draws
    from one generator (the state carried between calls: torch's cached
    Box-Muller value, philox's offset).

Note on torch's CPU randn: on x86-64 the float path of ``normal_fill`` runs
through the AVX2 kernel (``avx_mathfun.h``'s Cephes-style ``log256_ps`` /
``sincos256_ps``), while tensors with fewer than 16 elements take the scalar
``normal_distribution<double>`` path. The values recorded here are what this
x86-64 machine's torch produces; torch on other architectures (e.g. arm64)
uses libm there and differs in the last bits.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np
import torch

# SD 1.5's scheduler/scheduler_config.json as published (diffusers 0.6.0 era):
# no timestep_spacing / prediction_type keys, so every scheduler class falls
# back to its own default for those (leading for PNDM/DDIM, linspace for the
# sigma-based ones).
SD15_SCHEDULER_CONFIG: Dict[str, object] = {
    "_class_name": "PNDMScheduler",
    "_diffusers_version": "0.6.0",
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "clip_sample": False,
    "num_train_timesteps": 1000,
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "steps_offset": 1,
    "trained_betas": None,
}

STEPS = 10
SHAPE = (1, 4, 8, 8)
SEED = 1234

# (run name, CLI kind, diffusers class name, config overrides)
RUNS: Sequence[tuple] = (
    ("pndm", "pndm", "PNDMScheduler", {}),
    ("ddim", "ddim", "DDIMScheduler", {}),
    ("euler", "euler", "EulerDiscreteScheduler", {}),
    ("euler-a", "euler-a", "EulerAncestralDiscreteScheduler", {}),
    ("lms", "lms", "LMSDiscreteScheduler", {}),
    ("heun", "heun", "HeunDiscreteScheduler", {}),
    ("dpm++2m", "dpm++2m", "DPMSolverMultistepScheduler",
     {"algorithm_type": "dpmsolver++", "solver_order": 2}),
    ("euler-karras", "euler-karras", "EulerDiscreteScheduler", {"use_karras_sigmas": True}),
    ("lms-karras", "lms-karras", "LMSDiscreteScheduler", {"use_karras_sigmas": True}),
    ("dpm++2m-karras", "dpm++2m-karras", "DPMSolverMultistepScheduler",
     {"algorithm_type": "dpmsolver++", "solver_order": 2, "use_karras_sigmas": True}),
    ("ddim-v", "ddim", "DDIMScheduler", {"prediction_type": "v_prediction"}),
    ("euler-v", "euler", "EulerDiscreteScheduler", {"prediction_type": "v_prediction"}),
    ("ddim-trailing", "ddim", "DDIMScheduler", {"timestep_spacing": "trailing"}),
    ("euler-trailing", "euler", "EulerDiscreteScheduler", {"timestep_spacing": "trailing"}),
    ("dpm++2m-trailing", "dpm++2m", "DPMSolverMultistepScheduler",
     {"algorithm_type": "dpmsolver++", "solver_order": 2, "timestep_spacing": "trailing"}),
    ("pndm-trailing", "pndm", "PNDMScheduler", {"timestep_spacing": "trailing"}),
    # LCM from SD 1.5's config (original_inference_steps 50, timestep_scaling 10): the 4 steps
    # LCM-LoRA users run, and 10. "_steps" overrides STEPS for one run.
    ("lcm", "lcm", "LCMScheduler", {"_steps": 4}),
    ("lcm-10", "lcm", "LCMScheduler", {}),
    # prediction_type "sample" (the model predicts x0), on each scheduler family that steps it
    # (diffusers' Euler ancestral raises NotImplementedError; sdgen's shares Euler's x0 estimate).
    ("ddim-sample", "ddim", "DDIMScheduler", {"prediction_type": "sample"}),
    ("euler-sample", "euler", "EulerDiscreteScheduler", {"prediction_type": "sample"}),
    ("heun-sample", "heun", "HeunDiscreteScheduler", {"prediction_type": "sample"}),
    ("dpm++2m-sample", "dpm++2m", "DPMSolverMultistepScheduler",
     {"algorithm_type": "dpmsolver++", "solver_order": 2, "prediction_type": "sample"}),
    ("lcm-sample", "lcm", "LCMScheduler", {"_steps": 4, "prediction_type": "sample"}),
    # Zero terminal SNR (rescale_betas_zero_snr), as its paper pairs it: v-prediction, trailing spacing.
    # Euler and DPM++ raise the last alpha_cumprod to 2**-24 (first sigma ~4096); DDIM keeps it at 0.
    ("ddim-zsnr", "ddim", "DDIMScheduler",
     {"rescale_betas_zero_snr": True, "prediction_type": "v_prediction", "timestep_spacing": "trailing"}),
    ("euler-zsnr", "euler", "EulerDiscreteScheduler",
     {"rescale_betas_zero_snr": True, "prediction_type": "v_prediction", "timestep_spacing": "trailing"}),
    ("euler-a-zsnr", "euler-a", "EulerAncestralDiscreteScheduler",
     {"rescale_betas_zero_snr": True, "prediction_type": "v_prediction", "timestep_spacing": "trailing"}),
    ("dpm++2m-zsnr", "dpm++2m", "DPMSolverMultistepScheduler",
     {"algorithm_type": "dpmsolver++", "solver_order": 2, "rescale_betas_zero_snr": True,
      "prediction_type": "v_prediction", "timestep_spacing": "trailing"}),
    ("lcm-zsnr", "lcm", "LCMScheduler",
     {"_steps": 4, "rescale_betas_zero_snr": True, "prediction_type": "v_prediction"}),
    # DDIM with eta > 0: a share of the posterior variance as fresh noise at every step.
    ("ddim-eta", "ddim", "DDIMScheduler", {"_eta": 0.5}),
    ("ddim-eta1-v", "ddim", "DDIMScheduler", {"_eta": 1.0, "prediction_type": "v_prediction"}),
    # TCD: step()'s default gamma 0.3, deterministic gamma 0, and v / sample prediction.
    ("tcd", "tcd", "TCDScheduler", {"_steps": 4}),
    ("tcd-gamma0", "tcd", "TCDScheduler", {"_steps": 4, "_eta": 0.0}),
    ("tcd-v", "tcd", "TCDScheduler", {"_steps": 6, "_eta": 0.7, "prediction_type": "v_prediction"}),
    ("tcd-sample", "tcd", "TCDScheduler", {"_steps": 3, "_eta": 0.3, "prediction_type": "sample"}),
    ("tcd-zsnr", "tcd", "TCDScheduler",
     {"_steps": 4, "_eta": 0.5, "rescale_betas_zero_snr": True, "prediction_type": "v_prediction"}),
)


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

def _f32_list(t) -> List[float]:
    """float32 values as Python floats; repr() of these round-trips exactly."""
    return [float(v) for v in np.asarray(t, dtype=np.float32).reshape(-1)]


def _bits(a: np.ndarray) -> List[int]:
    return [int(v) for v in np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).reshape(-1)]


def _fnv1a64(a: np.ndarray) -> str:
    h = 0xCBF29CE484222325
    for byte in np.ascontiguousarray(a, dtype="<f4").tobytes():
        h ^= byte
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def _write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, sort_keys=True, separators=(",", ":")) + "\n")


def _model(x_in: torch.Tensor, t) -> torch.Tensor:
    """Deterministic stand-in for the UNet: depends on the input and the timestep."""
    n = x_in.numel()
    base = (torch.sin(torch.arange(n, dtype=torch.float32) * 0.7) * 2.0).reshape(x_in.shape)
    return (0.1 * x_in + 0.2 * torch.sin(float(t) / 100.0 + base)).to(torch.float32)


# --------------------------------------------------------------------------
# Group: schedulers
# --------------------------------------------------------------------------

def _run(out_dir: Path, name: str, kind: str, class_name: str, overrides: Dict[str, object]) -> int:
    import diffusers

    cls = getattr(diffusers, class_name)
    overrides = dict(overrides)
    steps = overrides.pop("_steps", STEPS)
    # eta is an argument of step(), not of the config (DDIM's noise share, TCD's gamma); absent: step's default.
    eta = overrides.pop("_eta", None)
    sched = cls.from_config(SD15_SCHEDULER_CONFIG, **overrides)
    sched.set_timesteps(steps)
    # Schedulers whose step draws noise from the generator (LCM and TCD: every step but the last;
    # TCD only with gamma > 0, its default 0.3; DDIM only with eta > 0, every step).
    ancestral = (class_name in ("EulerAncestralDiscreteScheduler", "LCMScheduler")
                 or (class_name == "TCDScheduler" and (eta is None or eta > 0))
                 or (class_name == "DDIMScheduler" and eta is not None and eta > 0))
    noise_steps = len(sched.timesteps) - 1 if class_name in ("LCMScheduler", "TCDScheduler") else len(sched.timesteps)

    generator = torch.Generator().manual_seed(SEED)
    latents = torch.randn(SHAPE, generator=generator, dtype=torch.float32) * sched.init_noise_sigma
    arrays = [latents.clone()]
    # PNDM, DDIM and DPM-Solver leave the model input unscaled: skip recording it.
    identity_input = class_name in ("PNDMScheduler", "DDIMScheduler", "DPMSolverMultistepScheduler", "LCMScheduler",
                                    "TCDScheduler")
    per_step = ([] if identity_input else ["model_input"]) + ["model_output", "sample"]
    per_step += ["noise"] if ancestral else []

    for index, t in enumerate(sched.timesteps):
        x_in = sched.scale_model_input(latents, t)
        out = _model(x_in, t)
        kwargs = {} if eta is None else {"eta": eta}
        if ancestral:
            # The step draws its noise from `generator`; replay that draw from
            # a copy of the state to record it.
            state = generator.get_state()
            kwargs["generator"] = generator
        latents = sched.step(out, t, latents, **kwargs).prev_sample
        if not identity_input:
            arrays.append(x_in.clone())
        arrays += [out.clone(), latents.clone()]
        if ancestral and index < noise_steps:
            replay = torch.Generator()
            replay.set_state(state)
            arrays.append(torch.randn(SHAPE, generator=replay, dtype=torch.float32))
        elif ancestral:
            arrays.append(torch.zeros(SHAPE))   # no draw: a placeholder keeps the layout

    data = np.concatenate([a.detach().numpy().astype("<f4").reshape(-1) for a in arrays])
    if not np.isfinite(data).all():
        raise ValueError(f"{name}: non-finite values")
    data.tofile(out_dir / f"{name}.f32")

    sigmas = getattr(sched, "sigmas", None)
    config = dict(SD15_SCHEDULER_CONFIG)
    config.update(overrides)
    meta = {
        "name": name,
        "kind": kind,
        "diffusers_class": class_name,
        "config": config,
        "num_inference_steps": steps,
        "noise_steps": noise_steps if ancestral else 0,
        "shape": list(SHAPE),
        "seed": str(SEED),
        "rng": "torch",
        "timesteps": _f32_list(sched.timesteps.to(torch.float32)),
        "sigmas": _f32_list(sigmas) if sigmas is not None and class_name not in ("PNDMScheduler", "DDIMScheduler") else None,
        "init_noise_sigma": float(np.float32(float(sched.init_noise_sigma))),
        "data": f"{name}.f32",
        "per_step": per_step,
    }
    if eta is not None:
        meta["eta"] = eta
    _write_json(out_dir / f"{name}.json", meta)
    return data.nbytes


def make_scheduler_fixtures(root: Path) -> None:
    out_dir = root / "schedulers"
    out_dir.mkdir(parents=True, exist_ok=True)
    from diffusers import DDIMScheduler

    _write_json(out_dir / "sd15_scheduler_config.json", SD15_SCHEDULER_CONFIG)
    ddim = DDIMScheduler.from_config(SD15_SCHEDULER_CONFIG)
    ddim.alphas_cumprod.numpy().astype("<f4").tofile(out_dir / "alphas_cumprod.f32")

    total = 0
    for name, kind, class_name, overrides in RUNS:
        total += _run(out_dir, name, kind, class_name, overrides)
    print(f"[fixtures_schedulers] {len(RUNS)} runs, {total} bytes of float32 data")


# --------------------------------------------------------------------------
# Philox4x32-10 reference (torch's CUDA randn, as reproduced on the CPU)
# --------------------------------------------------------------------------
#
# Written from the algorithm that AUTOMATIC1111's stable-diffusion-webui ships
# in modules/rng_philox.py (verified there against torch.randn on CUDA) and
# that apple/ml-stable-diffusion's NvRandomSource implements: element i of a
# randn call is produced by Philox4x32 with 10 rounds from the counter
# (offset, 0, i, 0) and the key (seed low 32 bits, seed high 32 bits); the
# first two output words give one normal value by Box-Muller in float64; the
# generator's offset advances by one per randn call.

_PHILOX_M = (np.uint64(0xD2511F53), np.uint64(0xCD9E8D57))
_PHILOX_W = (np.uint32(0x9E3779B9), np.uint32(0xBB67AE85))
_TWO_POW32_INV = np.float32(2.3283064e-10)
_TWO_POW32_INV_2PI = np.float32(2.3283064e-10 * 6.2831855)


def _mulhilo(a: np.ndarray, m: np.uint64):
    prod = a.astype(np.uint64) * m
    return (prod >> np.uint64(32)).astype(np.uint32), (prod & np.uint64(0xFFFFFFFF)).astype(np.uint32)


def philox_randn(seed: int, offset: int, shape: Sequence[int]) -> np.ndarray:
    n = int(np.prod(shape)) if len(shape) else 1
    c0 = np.full(n, offset & 0xFFFFFFFF, dtype=np.uint32)
    c1 = np.zeros(n, dtype=np.uint32)
    c2 = np.arange(n, dtype=np.uint32)
    c3 = np.zeros(n, dtype=np.uint32)
    k0 = np.full(n, seed & 0xFFFFFFFF, dtype=np.uint32)
    k1 = np.full(n, (seed >> 32) & 0xFFFFFFFF, dtype=np.uint32)
    with np.errstate(over="ignore"):
        for r in range(10):
            hi0, lo0 = _mulhilo(c0, _PHILOX_M[0])
            hi1, lo1 = _mulhilo(c2, _PHILOX_M[1])
            c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
            if r < 9:
                k0 = k0 + _PHILOX_W[0]
                k1 = k1 + _PHILOX_W[1]
    # Box-Muller in float64 (uint32 * float32 promotes to float64 in numpy),
    # keeping the sine branch; the halves centre the uniforms in their bins.
    u = c0.astype(np.float64) * np.float64(_TWO_POW32_INV) + np.float64(_TWO_POW32_INV / np.float32(2))
    v = c1.astype(np.float64) * np.float64(_TWO_POW32_INV_2PI) + np.float64(_TWO_POW32_INV_2PI / np.float32(2))
    s = np.sqrt(-2.0 * np.log(u))
    return (s * np.sin(v)).astype(np.float32).reshape(shape)


class PhiloxGenerator:
    def __init__(self, seed: int):
        self.seed = seed
        self.offset = 0

    def randn(self, shape: Sequence[int]) -> np.ndarray:
        out = philox_randn(self.seed, self.offset, shape)
        self.offset += 1
        return out


# --------------------------------------------------------------------------
# Group: rng
# --------------------------------------------------------------------------

RNG_SHAPES = ([1, 4, 64, 64], [1, 4, 8, 8], [1, 4, 5, 7], [3], [15], [16], [17], [2, 4, 9, 11])
RNG_SEEDS = (0, 42, 2**32 + 7, 2**63 + 12345, 2**64 - 1)
RNG_SEQUENCE = ([3], [5], [1, 4, 8, 8], [1], [17], [2])
FULL_LIMIT = 1024


def _torch_randn(seed: int, shape) -> np.ndarray:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g, dtype=torch.float32).numpy()


def _case(rng: str, seed: int, shape, values: np.ndarray, out_dir: Path) -> dict:
    flat = values.reshape(-1)
    case = {"rng": rng, "seed": str(seed), "shape": list(shape), "count": int(flat.size),
            "fnv1a64": _fnv1a64(flat)}
    if flat.size <= FULL_LIMIT:
        case["bits"] = _bits(flat)
    else:
        case["head_bits"] = _bits(flat[:32])
        case["tail_bits"] = _bits(flat[-32:])
        if seed == 0:
            fname = f"{rng}_seed{seed}_{'x'.join(map(str, shape))}.f32"
            flat.astype("<f4").tofile(out_dir / fname)
            case["file"] = fname
    return case


def make_rng_fixtures(root: Path) -> None:
    out_dir = root / "rng"
    out_dir.mkdir(parents=True, exist_ok=True)
    cases = []
    for seed in RNG_SEEDS:
        for shape in RNG_SHAPES:
            cases.append(_case("torch", seed, shape, _torch_randn(seed, shape), out_dir))
            cases.append(_case("philox", seed, shape, philox_randn(seed, 0, shape), out_dir))

    sequences = []
    for seed in (7, 2**40 + 3):
        g = torch.Generator().manual_seed(seed)
        draws = [torch.randn(s, generator=g, dtype=torch.float32).numpy() for s in RNG_SEQUENCE]
        sequences.append({"rng": "torch", "seed": str(seed), "shapes": [list(s) for s in RNG_SEQUENCE],
                          "bits": [_bits(d) for d in draws]})
        pg = PhiloxGenerator(seed)
        draws = [pg.randn(s) for s in RNG_SEQUENCE]
        sequences.append({"rng": "philox", "seed": str(seed), "shapes": [list(s) for s in RNG_SEQUENCE],
                          "bits": [_bits(d) for d in draws]})

    _write_json(out_dir / "rng.json", {
        "note": "float32 values as uint32 bit patterns; fnv1a64 over the little-endian float32 bytes",
        "cases": cases,
        "sequences": sequences,
    })
    print(f"[fixtures_schedulers] rng: {len(cases)} cases, {len(sequences)} sequences")
