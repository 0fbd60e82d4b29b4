"""SDXL LoRA / LoCon reference fixtures (group ``sdxl_lora``) on the tiny SDXL pipeline (``sdxl/model``).

``sdxl_lora/files/kohya_xl.safetensors`` is a LoRA as kohya's sd-scripts writes them for SDXL (``sdxl_train_network``
trains its own copy of Stability AI's UNet, so the UNet modules carry the ORIGINAL LDM names), f16, rank 4,
``.lora_down.weight`` / ``.lora_up.weight`` / ``.alpha`` per module:

  * UNet (``lora_unet_`` + the LDM module name with ``_`` for ``.``, as ``fixtures_models.unet_diffusers_to_ldm_key``
    maps it): whole transformer blocks (attn1/attn2 ``to_q``/``to_k``/``to_v``/``to_out_0``, ``ff_net_0_proj``,
    ``ff_net_2``) in ``input_blocks_4_1`` (block 0 of 2) and ``middle_block_1`` (block 2 of 3), single projections
    in ``input_blocks_8_1``, ``output_blocks_0_1`` and ``output_blocks_3_1`` (cross-attention ``to_k``/``to_v``,
    80 wide), the linear ``proj_in`` / ``proj_out``; LoCon (``conv_dim``) on resnet convs
    (``in_layers_2``, ``out_layers_3``, 3×3), ``skip_connection`` (1×1), ``emb_layers_1`` (linear), the
    downsampler ``input_blocks_3_0_op`` and the upsampler ``output_blocks_2_2_conv``. alpha 2 (``network_alpha``)
    for linears and 1×1 convs, alpha 1 (``conv_alpha``) for 3×3 convs - as sd-scripts' ``networks.lora`` assigns
    them.
  * text encoders: ``lora_te1_text_model_encoder_layers_{0,3}_…`` (CLIP ViT-L's role; layer 3 is the tiny encoder's
    last, which SDXL's penultimate-state conditioning never reads: its weights change, the image does not) and
    ``lora_te2_text_model_encoder_layers_{1,4}_…`` (layer 4 reaches the image only through the pooled
    ``text_embeds``): ``self_attn_{q,k,v,out}_proj``, ``mlp_fc1``, ``mlp_fc2``; alpha 2.

The case ``kohya_xl`` applies it at 0.8 with diffusers' own loader (``StableDiffusionXLPipeline.load_lora_weights``:
``_maybe_map_sgm_blocks_to_diffusers`` + ``_convert_non_diffusers_lora_to_diffusers`` -> PEFT, then
``fuse_lora(lora_scale=0.8)``) and records the image, the same case's image without the LoRA
(``image_without_lora``), and every merged weight it changed - ``unet.<key>``, ``text_encoder.<key>``,
``text_encoder_2.<key>``, each component's own ``state_dict()`` key (transformers' ``CLIPTextModel`` has no
``text_model.`` level, ``CLIPTextModelWithProjection`` has). Images: ``StableDiffusionXLPipeline`` with the
model's Euler scheduler, NHWC [0, 1]. Metadata as group ``lora`` plus ``negative_prompt`` and
``text_encoder_2_changed``. The merged weights are checked against A1111's merge (``network_lora``:
W + multiplier * alpha / rank * up @ down, f32 from the f16 factors) to 1e-6, the changed set against the file's
modules (nothing dropped, nothing extra), and diffusers must log no warning about the file's keys.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import torch
from safetensors.torch import save_file

from fixtures_lora import RANK, _changed, _pair, lora_hashes, snapshot
from fixtures_models import _OneThread, unet_diffusers_to_ldm_key
from fixtures_sdxl import PROMPT, _load

NAME = "kohya_xl"
MULTIPLIER = 0.8
NEGATIVE = "blurry"
SEED, STEPS, GUIDANCE, SIZE = 31, 4, 5.0, 64
LINEAR_ALPHA, CONV_ALPHA = 2.0, 1.0

_BLOCK = ("attn1.to_q", "attn1.to_k", "attn1.to_v", "attn1.to_out.0",
          "attn2.to_q", "attn2.to_k", "attn2.to_v", "attn2.to_out.0", "ff.net.0.proj", "ff.net.2")
# diffusers' module names (the file carries their LDM names).
UNET_MODULES = (
    # input_blocks.4.1: proj_in, proj_out and all of transformer block 0 (of 2)
    "down_blocks.1.attentions.0.proj_in", "down_blocks.1.attentions.0.proj_out",
    *(f"down_blocks.1.attentions.0.transformer_blocks.0.{m}" for m in _BLOCK),
    # input_blocks.8.1: block 1 of 3, the feed-forward's GEGLU projection
    "down_blocks.2.attentions.1.transformer_blocks.1.ff.net.0.proj",
    # middle_block.1: all of transformer block 2 (of 3), proj_out
    *(f"mid_block.attentions.0.transformer_blocks.2.{m}" for m in _BLOCK), "mid_block.attentions.0.proj_out",
    # output_blocks.0.1: block 2 of 3, self-attention q and out
    "up_blocks.0.attentions.0.transformer_blocks.2.attn1.to_q",
    "up_blocks.0.attentions.0.transformer_blocks.2.attn1.to_out.0",
    # output_blocks.3.1: proj_in, block 1 of 2's cross-attention k and v (80 wide)
    "up_blocks.1.attentions.0.proj_in",
    "up_blocks.1.attentions.0.transformer_blocks.1.attn2.to_k",
    "up_blocks.1.attentions.0.transformer_blocks.1.attn2.to_v",
    # LoCon: resnets (in_layers.2, out_layers.3, skip_connection, emb_layers.1), down- and upsampler
    "down_blocks.0.resnets.0.conv1", "down_blocks.0.resnets.0.conv2", "down_blocks.0.downsamplers.0.conv",
    "down_blocks.1.resnets.0.conv_shortcut", "down_blocks.1.resnets.0.time_emb_proj",
    "mid_block.resnets.0.conv1", "mid_block.resnets.1.conv2",
    "up_blocks.0.upsamplers.0.conv",
    "up_blocks.2.resnets.2.conv1", "up_blocks.2.resnets.2.conv_shortcut",
)
TEXT_MODULES = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj", "mlp.fc1", "mlp.fc2")
TEXT_LAYERS = {"text_encoder": (0, 3), "text_encoder_2": (1, 4)}
KOHYA_PREFIX = {"unet": "lora_unet_", "text_encoder": "lora_te1_", "text_encoder_2": "lora_te2_"}
COMPONENTS = ("unet", "text_encoder", "text_encoder_2")


def _text_module(model, layer: int, suffix: str):
    """(state-dict name, module) of ``encoder.layers.<layer>.<suffix>`` (``text_model.`` where the model has it)."""
    found = [(n, m) for n, m in model.named_modules() if n.endswith(f"encoder.layers.{layer}.{suffix}")]
    assert len(found) == 1, (layer, suffix, found)
    return found[0]


def _kohya_xl_file(pipe, path: Path):
    """Write the file; return {(component, weight key): A1111's delta at multiplier 1} and {kohya module: same key}."""
    g = torch.Generator().manual_seed(9201)
    tensors, deltas, names = {}, {}, {}

    def put(component, kohya, module_name, module):
        weight = module.weight
        conv3 = isinstance(module, torch.nn.Conv2d) and module.kernel_size != (1, 1)
        alpha = CONV_ALPHA if conv3 else LINEAR_ALPHA
        down, up = _pair(weight, g)
        down, up = down.half(), up.half()
        key = KOHYA_PREFIX[component] + kohya
        assert key + ".lora_down.weight" not in tensors, key
        tensors[key + ".lora_down.weight"] = down
        tensors[key + ".lora_up.weight"] = up
        tensors[key + ".alpha"] = torch.tensor(alpha).half()
        # A1111 (extensions-builtin/Lora/network_lora.py): up @ down in f32, times multiplier * alpha / rank.
        delta = (up.float().flatten(1) @ down.float().flatten(1)).reshape(weight.shape) * (alpha / RANK)
        deltas[(component, module_name + ".weight")] = delta
        names[key] = f"{component}.{module_name}"

    modules = dict(pipe.unet.named_modules())
    for name in UNET_MODULES:
        ldm = unet_diffusers_to_ldm_key(name + ".weight", pipe.unet.config)[: -len(".weight")]
        put("unet", ldm.replace(".", "_"), name, modules[name])
    for component, layers in TEXT_LAYERS.items():
        model = getattr(pipe, component)
        for layer in layers:
            for suffix in TEXT_MODULES:
                name, module = _text_module(model, layer, suffix)
                put(component, f"text_model_encoder_layers_{layer}_{suffix}".replace(".", "_"), name, module)
    save_file(tensors, str(path))
    return deltas, names


class _Captured(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(record.getMessage())


def _load_lora(pipe, path: Path):
    """diffusers' loader; returns what it logged or warned (must be nothing)."""
    handler = _Captured()
    loggers = [logging.getLogger(n) for n in ("diffusers", "peft", "transformers")]
    for lg in loggers:
        lg.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            pipe.load_lora_weights(str(path), adapter_name=NAME)
    finally:
        for lg in loggers:
            lg.removeHandler(handler)
    return handler.records + [str(w.message) for w in caught]


def _peft_modules(model):
    """Names of the modules PEFT wrapped for the adapter, with their rank and scaling."""
    out = {}
    for n, m in model.named_modules():
        if hasattr(m, "lora_A") and NAME in getattr(m, "lora_A", {}):
            out[n] = (m.r[NAME], m.scaling[NAME])
    return out


@torch.no_grad()
def _image(pipe):
    image = pipe(PROMPT, negative_prompt=NEGATIVE, width=SIZE, height=SIZE, num_inference_steps=STEPS,
                 guidance_scale=GUIDANCE, output_type="np", generator=torch.Generator().manual_seed(SEED)).images
    return torch.from_numpy(image)


def make_sdxl_lora_fixtures(root: Path, write_fixture) -> None:
    with _OneThread():
        _make_sdxl_lora_fixtures(root, write_fixture)


@torch.no_grad()
def _make_sdxl_lora_fixtures(root: Path, write_fixture) -> None:
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline

    model_dir = root / "sdxl" / "model"
    out = root / "sdxl_lora"
    files = out / "files"
    files.mkdir(parents=True, exist_ok=True)
    lora_path = files / f"{NAME}.safetensors"

    pipe = _load(model_dir)
    assert type(pipe.scheduler) is EulerDiscreteScheduler
    deltas, names = _kohya_xl_file(pipe, lora_path)
    before = {c: snapshot(getattr(pipe, c)) for c in COMPONENTS}
    plain = _image(pipe)

    # What diffusers makes of the file: every kohya module -> one diffusers module, alphas kept.
    converted, alphas = StableDiffusionXLPipeline.lora_state_dict(str(lora_path), unet_config=pipe.unet.config)
    assert len(converted) == 2 * len(names) and len(alphas) == len(names), (len(converted), len(alphas), len(names))

    log = _load_lora(pipe, lora_path)
    assert not log, log
    wrapped = {c: _peft_modules(getattr(pipe, c)) for c in COMPONENTS}
    expected_wrapped = {c: {n.split(".", 1)[1] for n in names.values() if n.split(".", 1)[0] == c} for c in COMPONENTS}
    for c in COMPONENTS:
        assert set(wrapped[c]) == expected_wrapped[c], (c, set(wrapped[c]) ^ expected_wrapped[c])
        for module, (r, scaling) in wrapped[c].items():
            shape = before[c][module + ".weight"].shape
            conv3 = len(shape) == 4 and shape[2:] != (1, 1)
            assert r == RANK and scaling == (CONV_ALPHA if conv3 else LINEAR_ALPHA) / RANK, (c, module, r, scaling)
    pipe.fuse_lora(lora_scale=MULTIPLIER)

    changed = {c: _changed(getattr(pipe, c), before[c]) for c in COMPONENTS}
    expected = {(c, k) for (c, k) in deltas}
    got = {(c, k) for c in COMPONENTS for k in changed[c]}
    assert got == expected, f"changed set differs: missing {expected - got}, extra {got - expected}"
    worst = 0.0
    for (c, k), delta in deltas.items():
        by_hand = before[c][k] + MULTIPLIER * delta
        worst = max(worst, (changed[c][k] - by_hand).abs().max().item())
    assert worst <= 1e-6, f"merged weights differ from A1111's merge by {worst:.3g}"

    image = _image(pipe)
    assert torch.equal(image, _image(pipe)), "not deterministic"
    assert image.shape == (1, SIZE, SIZE, 3)
    std = image.std().item()
    inside = ((image > 0) & (image < 1)).float().mean().item()
    change = (image - plain).abs()
    assert std > 0.05 and inside > 0.9, (std, inside)
    assert change.mean().item() > 0.02, f"the LoRA hardly changes the image: {change.mean().item():.4f}"

    loras = f"{NAME}:{MULTIPLIER}"
    tensors = {"image": image, "image_without_lora": plain}
    for c in COMPONENTS:
        tensors.update({f"{c}.{k}": v for k, v in changed[c].items()})
    counts = {f"{c}_changed": len(changed[c]) for c in COMPONENTS}
    write_fixture(out, NAME, tensors, {
        "prompt": PROMPT, "negative_prompt": NEGATIVE, "seed": SEED, "steps": STEPS, "guidance": GUIDANCE,
        "scheduler": "euler", "width": SIZE, "height": SIZE, "loras": loras, "lora_hashes": lora_hashes(files, loras),
        **counts})

    files_written = [f for f in sorted(out.rglob("*")) if f.is_file()]
    print(f"[fixtures_sdxl_lora] {NAME}: {len(names)} modules; changed {counts}; merged vs A1111 max |diff| "
          f"{worst:.3g}; image std {std:.4f}, inside {inside:.3f}, mean |LoRA - plain| {change.mean().item():.4f} "
          f"(max {change.max().item():.4f})")
    print(f"[fixtures_sdxl_lora]   sdxl_lora/: {len(files_written)} files, "
          f"{sum(f.stat().st_size for f in files_written)} bytes")
