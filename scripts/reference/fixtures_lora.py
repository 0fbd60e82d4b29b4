"""LoRA / LoCon reference fixtures (group ``lora``) on the tiny pipeline.

Three LoRA files are written to ``lora/files/`` and each case records the
merged weights of every tensor it changes and the image the merged model
makes:

  * ``kohya``: kohya/A1111 names in diffusers' module order
    (``lora_unet_down_blocks_0_attentions_0_proj_in``), f16, ``.alpha``;
    attention and feed-forward linears, the 1×1-conv ``proj_in``/``proj_out``,
    LoCon on every resnet conv (3×3 down, 1×1 up), ``time_emb_proj``,
    ``conv_shortcut``, the down/upsampler convs, and the text encoder. Applied
    at 0.8 by diffusers' own loader (``load_lora_weights`` → PEFT, then
    ``fuse_lora``).
  * ``two``: ``kohya`` at 0.8 plus ``peft`` at 0.5, the diffusers/PEFT layout
    (``unet.….lora_A.weight`` / ``lora_B.weight``, ``text_encoder.…``, f32),
    both through diffusers' loader (``set_adapters``, then ``fuse_lora``).
  * ``ldm``: kohya names of the original LDM layout
    (``lora_unet_input_blocks_1_1_proj_in``, ``…_in_layers_2``), bf16, some
    modules without ``.alpha`` (alpha = rank), one LoCon conv in CP/Tucker form
    (``lora_mid``), text encoder at 0.7 and UNet at 0.9 — merged by hand as
    A1111's ``network_lora`` does (``extensions-builtin/Lora``: scale
    multiplier × alpha / rank; ``lyco_helpers.rebuild_cp_decomposition``),
    since diffusers does not read that layout.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from safetensors.torch import save_file

from fixtures_models import unet_diffusers_to_ldm_key

RANK = 4
UNET_TARGETS = ("to_q", "to_k", "to_v", "to_out.0", "ff.net.0.proj", "ff.net.2", "proj_in", "proj_out",
                "conv1", "conv2", "time_emb_proj", "conv_shortcut", "downsamplers.0.conv", "upsamplers.0.conv")
TEXT_TARGETS = ("q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2")
PROMPT = "a fox in the snow"
SEED, STEPS = 31, 4


def _targets(model, suffixes):
    return [(n, m) for n, m in model.named_modules()
            if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)) and any(n.endswith(s) for s in suffixes)]


def _pair(weight: torch.Tensor, generator, rank=RANK):
    """down [r, in(, k, k)], up [out, r(, 1, 1)], scaled so the delta is ~20% of a weight."""
    if weight.dim() == 2:
        down = torch.randn(rank, weight.shape[1], generator=generator) / weight.shape[1] ** 0.5
        up = torch.randn(weight.shape[0], rank, generator=generator) * 0.3
    else:
        k = weight.shape[2]
        down = torch.randn(rank, weight.shape[1], k, k, generator=generator) / (weight.shape[1] * k * k) ** 0.5
        up = torch.randn(weight.shape[0], rank, 1, 1, generator=generator) * 0.3
    return down, up


def _kohya_file(pipe, path: Path) -> None:
    g = torch.Generator().manual_seed(9101)
    tensors = {}
    for prefix, model, suffixes in (("lora_unet_", pipe.unet, UNET_TARGETS),
                                    ("lora_te_text_model_", pipe.text_encoder, TEXT_TARGETS)):
        for name, module in _targets(model, suffixes):
            down, up = _pair(module.weight, g)
            key = prefix + name.replace(".", "_")
            tensors[key + ".lora_down.weight"] = down.half()
            tensors[key + ".lora_up.weight"] = up.half()
            tensors[key + ".alpha"] = torch.tensor(2.0).half()
    save_file(tensors, str(path))


def _peft_file(pipe, path: Path) -> None:
    g = torch.Generator().manual_seed(9102)
    tensors = {}
    for prefix, model, suffixes in (("unet.", pipe.unet, ("to_q", "to_v", "proj_in", "ff.net.2")),
                                    ("text_encoder.text_model.", pipe.text_encoder, ("q_proj", "fc1"))):
        for name, module in _targets(model, suffixes):
            down, up = _pair(module.weight, g)
            tensors[prefix + name + ".lora_A.weight"] = down.contiguous()
            tensors[prefix + name + ".lora_B.weight"] = up.contiguous()
    save_file(tensors, str(path))


def _ldm_file(pipe, path: Path):
    """The file, and for each diffusers weight its by-hand delta (per multiplier 1)."""
    g = torch.Generator().manual_seed(9103)
    tensors, deltas = {}, {}
    config = pipe.unet.config
    tucker = "down_blocks.1.resnets.0.conv2"
    for index, (name, module) in enumerate(_targets(pipe.unet, UNET_TARGETS)):
        key = "lora_unet_" + unet_diffusers_to_ldm_key(name + ".weight", config)[: -len(".weight")].replace(".", "_")
        weight = module.weight
        if name == tucker:
            # CP/Tucker LoCon: down [r, in, 1, 1], mid [r, r, k, k], up [out, r, 1, 1].
            k = weight.shape[2]
            down = torch.randn(RANK, weight.shape[1], 1, 1, generator=g) / weight.shape[1] ** 0.5
            mid = torch.randn(RANK, RANK, k, k, generator=g) / (RANK * k * k) ** 0.5
            up = torch.randn(weight.shape[0], RANK, 1, 1, generator=g) * 0.3
            tensors[key + ".lora_mid.weight"] = mid.bfloat16()
            mid = mid.bfloat16().float()
        else:
            down, up = _pair(weight, g)
            mid = None
        tensors[key + ".lora_down.weight"] = down.bfloat16()
        tensors[key + ".lora_up.weight"] = up.bfloat16()
        down, up = down.bfloat16().float(), up.bfloat16().float()
        alpha = None if index % 3 == 0 else 8.0
        if alpha is not None:
            tensors[key + ".alpha"] = torch.tensor(alpha).bfloat16()
        scale = (alpha if alpha is not None else RANK) / RANK
        if mid is not None:
            delta = torch.einsum("n m k l, i n, m j -> i j k l", mid, up.flatten(1), down.flatten(1))
        else:
            delta = (up.flatten(1) @ down.flatten(1)).reshape(weight.shape)
        deltas[("unet", name + ".weight")] = delta * scale
    for name, module in _targets(pipe.text_encoder, TEXT_TARGETS):
        key = "lora_te_text_model_" + name.replace(".", "_")
        down, up = _pair(module.weight, g)
        tensors[key + ".lora_down.weight"] = down.bfloat16()
        tensors[key + ".lora_up.weight"] = up.bfloat16()
        tensors[key + ".alpha"] = torch.tensor(2.0).bfloat16()
        deltas[("text_encoder", name + ".weight")] = \
            (up.bfloat16().float() @ down.bfloat16().float()) * (2.0 / RANK)
    save_file(tensors, str(path))
    return deltas


def addnet_short_hash(path: Path) -> str:
    """A1111's LoRA short hash (modules/hashes.py ``addnet_hash_safetensors``): SHA-256 of the file after its header."""
    data = path.read_bytes()
    header = int.from_bytes(data[:8], "little")
    return hashlib.sha256(data[8 + header:]).hexdigest()[:12]


def snapshot(model):
    """A copy of the model's weights, by state-dict key (to tell later which ones a LoRA changed)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def lora_hashes(files: Path, loras: str) -> str:
    """A1111's ``Lora hashes`` parameter for ``loras`` ("name:te[:unet],…"; each ``files/<name>.safetensors``)."""
    return ", ".join(f"{n.split(':')[0]}: {addnet_short_hash(files / (n.split(':')[0] + '.safetensors'))}"
                     for n in loras.split(","))


def _changed(model, before):
    """The merged weights that differ from `before`, by their plain names (PEFT's base_layer folded)."""
    merged = {k.replace(".base_layer", ""): v.detach().clone() for k, v in model.state_dict().items() if ".lora_" not in k}
    return {k: v for k, v in merged.items() if not torch.equal(v, before[k])}


@torch.no_grad()
def make_lora_fixtures(root: Path, write_fixture) -> None:
    from diffusers import EulerDiscreteScheduler, StableDiffusionPipeline

    out = root / "lora"
    files = out / "files"
    files.mkdir(parents=True, exist_ok=True)

    def fresh():
        pipe = StableDiffusionPipeline.from_pretrained(str(root / "pipeline"), safety_checker=None,
                                                       feature_extractor=None, requires_safety_checker=False,
                                                       local_files_only=True)
        pipe.set_progress_bar_config(disable=True)
        pipe.scheduler = EulerDiscreteScheduler.from_config(pipe.scheduler.config)
        return pipe

    pipe = fresh()
    _kohya_file(pipe, files / "kohya.safetensors")
    _peft_file(pipe, files / "peft.safetensors")
    ldm_deltas = _ldm_file(pipe, files / "ldm.safetensors")

    def record(name, pipe, before_unet, before_text, loras):
        unet, text = _changed(pipe.unet, before_unet), _changed(pipe.text_encoder, before_text)
        image = pipe(PROMPT, height=32, width=32, num_inference_steps=STEPS, guidance_scale=7.5, output_type="np",
                     generator=torch.Generator().manual_seed(SEED)).images
        tensors = {"image": torch.from_numpy(image)}
        tensors.update({"unet." + k: v for k, v in unet.items()})
        tensors.update({"text_encoder." + k: v for k, v in text.items()})
        hashes = lora_hashes(files, loras)
        write_fixture(out, name, tensors, {"prompt": PROMPT, "seed": SEED, "steps": STEPS, "guidance": 7.5,
                                           "scheduler": "euler", "width": 32, "height": 32, "loras": loras,
                                           "lora_hashes": hashes,
                                           "unet_changed": len(unet), "text_encoder_changed": len(text)})
        print(f"  lora/{name}: {len(unet)} UNet and {len(text)} text-encoder weights merged")

    # diffusers' loader, one kohya file.
    pipe = fresh()
    before_unet, before_text = snapshot(pipe.unet), snapshot(pipe.text_encoder)
    pipe.load_lora_weights(str(files / "kohya.safetensors"), adapter_name="kohya")
    pipe.fuse_lora(lora_scale=0.8)
    record("kohya", pipe, before_unet, before_text, "kohya:0.8")

    # Two files, two layouts, diffusers' loader.
    pipe = fresh()
    pipe.load_lora_weights(str(files / "kohya.safetensors"), adapter_name="kohya")
    pipe.load_lora_weights(str(files / "peft.safetensors"), adapter_name="peft")
    pipe.set_adapters(["kohya", "peft"], adapter_weights=[0.8, 0.5])
    pipe.fuse_lora(adapter_names=["kohya", "peft"], lora_scale=1.0)
    record("two", pipe, before_unet, before_text, "kohya:0.8,peft:0.5")

    # The LDM-named file merged by hand (A1111's algorithm): te 0.7, unet 0.9.
    pipe = fresh()
    state = {"unet": pipe.unet.state_dict(), "text_encoder": pipe.text_encoder.state_dict()}
    for (component, key), delta in ldm_deltas.items():
        state[component][key] += delta * (0.9 if component == "unet" else 0.7)
    pipe.unet.load_state_dict(state["unet"])
    pipe.text_encoder.load_state_dict(state["text_encoder"])
    record("ldm", pipe, before_unet, before_text, "ldm:0.7:0.9")
