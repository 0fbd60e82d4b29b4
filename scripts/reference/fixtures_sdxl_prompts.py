"""A1111's prompt conditioning for SDXL (stable-diffusion-webui 1.10: modules/sd_hijack_clip.py,
sd_hijack_open_clip.py, sd_models_xl.py, textual_inversion/textual_inversion.py, sd_hijack.py), on the tiny SDXL
model of ``sdxl/model/``, reusing ``fixtures_prompts``' transcription of the A1111 procedure:

  * each of the two embedders runs that procedure on the prompt independently - ``clip_l``
    (FrozenCLIPEmbedderForSDXLWithCustomWords: ``text_encoder`` + ``tokenizer``, ``id_pad`` = EOS) and ``clip_g``
    (FrozenOpenCLIPEmbedder2WithCustomWords: ``text_encoder_2`` + ``tokenizer_2``, ``id_pad`` = 0, i.e. "!"):
    emphasis parsed, 75-token chunks (comma backtrack, BREAK), each ``[BOS] + 75 padded with EOS + [EOS]``, every id
    after the chunk's first EOS set to ``id_pad``, each chunk encoded alone, the penultimate hidden state WITHOUT the
    final layer norm (SDXL's "penultimate" for both), emphasis applied (times the weights, each chunk's mean
    restored: 'Original'), the chunks concatenated along the tokens;
  * sgm's GeneralConditioner concatenates the two along the width (32 + 48 = 80 here);
  * the pooled vector is clip_g's ``text_projection(ln_final(last layer))`` at the ``argmax`` of the ids (the first
    EOS) of the FIRST chunk;
  * textual inversion: an SDXL embedding file has ``clip_l`` [n, 768] and ``clip_g`` [n, 1280] (here [n, 32] and
    [n, 48]); the name's ids come from the first embedder's tokenizer (GeneralConditioner.tokenize; both tiny
    tokenizers share the vocabulary, so clip_g finds the same ids), and each embedder's EmbeddingsWithFixes puts its
    own key's vectors into the placeholder slots (ids 0).

Group ``sdxl_prompts`` -> ``Tests/Fixtures/sdxl_prompts/`` (reads ``sdxl/model/``):
  * ``embeddings/xlfox.safetensors``  an SDXL embedding: ``clip_l`` [2, 32], ``clip_g`` [2, 48] (float32, seeded
                randn * 0.5 as the ``prompts`` group's).
  * ``<case>.safetensors``  ``tokens`` / ``tokens_2`` (int64 [chunks, 77]: the ids clip_l / clip_g were fed - chunk
                tokens, embedding slots 0; in ``tokens_2`` every id after each chunk's first EOS is 0), ``multipliers``
                (float32 [chunks, 77], the same for both embedders), ``cond`` [1, 77 * chunks, 80] (clip_l's 32 then
                clip_g's 48) and ``pooled`` [1, 40]. Metadata: prompt, emphasis, chunks.
  * ``cases.json``  the case names.

Checks: a plain prompt's conditioning equals diffusers' ``StableDiffusionXLPipeline.encode_prompt`` (prompt_embeds,
pooled_prompt_embeds, and both tokenizers' ids exactly); the embedding case without weights equals encode_prompt
after diffusers' ``load_textual_inversion`` of the file's ``clip_l`` / ``clip_g`` into the two encoders.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from fixtures_prompts import encode_chunks, tokenize_line
from fixtures_sdxl import PROJECTION_DIM, PROMPT, LONG_PROMPT, _ids, _load

EMBEDDING_NAME = "xlfox"
EMBEDDING_VECTORS = 2
EMBEDDING_SEEDS = {"clip_l": 7101, "clip_g": 7102}

CASES = [
    dict(name="plain", prompt=PROMPT, emphasis="original"),
    dict(name="emphasis", prompt="a (red:1.3) fox in the [snow], highly detailed", emphasis="original"),
    dict(name="long_break",
         prompt=LONG_PROMPT + " BREAK (sharp focus:1.1), [blurry background], golden hour", emphasis="original"),
    dict(name="embedding", prompt="a photo of xlfox, (xlfox:1.2) in snow", emphasis="original"),
]
CHUNKS = {"plain": 1, "emphasis": 1, "long_break": 3, "embedding": 1}
PENULTIMATE = -2  # SDXL's layer "penultimate" for both embedders: hidden_states[-2], no final layer norm


def _embedders(pipe):
    """(key, text encoder, tokenizer, id_pad) of A1111's two SDXL embedders."""
    tok, tok2 = pipe.tokenizer, pipe.tokenizer_2
    assert tok.get_vocab() == tok2.get_vocab() and tok.eos_token_id == tok2.eos_token_id
    assert tok.pad_token_id == tok.eos_token_id and tok2.pad_token_id == 0
    # sgm's pooling takes the argmax of the ids: EOS must be the largest id (as 49407 in CLIP's vocabulary).
    assert tok.eos_token_id == max(tok.get_vocab().values())
    return [("clip_l", pipe.text_encoder, tok, tok.eos_token_id), ("clip_g", pipe.text_encoder_2, tok2, 0)]


@torch.no_grad()
def encode_sdxl(pipe, prompt: str, emphasis: str = "original", embeddings=None):
    """A1111's SDXL conditioning of one prompt: cond [1, 77 * chunks, 80], pooled [1, 40], and per embedder
    (chunks, the ids fed [chunks, 77])."""
    conds, per_embedder, pooled = [], [], None
    for key, text_encoder, tokenizer, pad in _embedders(pipe):
        vectors = {name: vec[key] for name, vec in (embeddings or {}).items()}
        chunks = tokenize_line(tokenizer, prompt, emphasis, vectors)
        results = encode_chunks(text_encoder, chunks, emphasis, eos=tokenizer.eos_token_id, pad_id=pad,
                                hidden_layer=PENULTIMATE)
        conds.append(torch.hstack([z for z, _, _ in results]))
        per_embedder.append((chunks, torch.cat([ids for _, ids, _ in results])))
        if key == "clip_g":
            _, ids, outputs = results[0]
            # sgm FrozenOpenCLIPEmbedder2.pool: ln_final(last)[argmax(ids)] @ text_projection, first chunk only.
            position = ids.argmax(dim=-1)
            assert position.item() == chunks[0]["tokens"].index(tokenizer.eos_token_id)
            pooled = text_encoder.text_projection(outputs.last_hidden_state[torch.arange(1), position])
            assert torch.equal(pooled, outputs.text_embeds)
    (chunks_l, ids_l), (chunks_g, ids_g) = per_embedder
    assert len(chunks_l) == len(chunks_g)
    for a, b in zip(chunks_l, chunks_g):
        assert a["tokens"] == b["tokens"] and a["multipliers"] == b["multipliers"]
        assert [o for o, _ in a["fixes"]] == [o for o, _ in b["fixes"]]
    return torch.cat(conds, dim=-1), pooled, per_embedder


@torch.no_grad()
def _check_against_diffusers(root: Path, pipe, embeddings) -> None:
    """A plain prompt through encode_prompt; the embedding case without weights through load_textual_inversion."""
    device = torch.device("cpu")
    cond, pooled, ((_, ids_l), (_, ids_g)) = encode_sdxl(pipe, PROMPT)
    pe, _, pp, _ = pipe.encode_prompt(PROMPT, device=device, do_classifier_free_guidance=False)
    assert torch.equal(ids_l, _ids(pipe.tokenizer, PROMPT)) and torch.equal(ids_g, _ids(pipe.tokenizer_2, PROMPT))
    d_cond, d_pooled = (cond - pe).abs().max().item(), (pooled - pp).abs().max().item()
    assert cond.shape == pe.shape == (1, 77, 80) and pooled.shape == pp.shape == (1, PROJECTION_DIM)
    assert d_cond <= 1e-6 and d_pooled <= 1e-6, (d_cond, d_pooled)
    print(f"[sdxl_prompts] plain prompt vs encode_prompt: max |d| cond {d_cond:.3g}, pooled {d_pooled:.3g}")

    prompt = "a photo of xlfox, xlfox in snow"
    cond, pooled, _ = encode_sdxl(pipe, prompt, embeddings=embeddings)
    ti = _load(root / "sdxl" / "model")
    file = load_file(str(root / "sdxl_prompts" / "embeddings" / f"{EMBEDDING_NAME}.safetensors"))
    ti.load_textual_inversion(file["clip_l"], token=EMBEDDING_NAME, text_encoder=ti.text_encoder,
                              tokenizer=ti.tokenizer)
    ti.load_textual_inversion(file["clip_g"], token=EMBEDDING_NAME, text_encoder=ti.text_encoder_2,
                              tokenizer=ti.tokenizer_2)
    pe, _, pp, _ = ti.encode_prompt(prompt, device=device, do_classifier_free_guidance=False)
    d_cond, d_pooled = (cond - pe).abs().max().item(), (pooled - pp).abs().max().item()
    assert cond.shape == pe.shape and d_cond <= 1e-6 and d_pooled <= 1e-6, (d_cond, d_pooled)
    print(f"[sdxl_prompts] embedding prompt vs load_textual_inversion + encode_prompt: "
          f"max |d| cond {d_cond:.3g}, pooled {d_pooled:.3g}")


@torch.no_grad()
def make_sdxl_prompts_fixtures(root: Path, write_fixture) -> None:
    out = root / "sdxl_prompts"
    (out / "embeddings").mkdir(parents=True, exist_ok=True)
    pipe = _load(root / "sdxl" / "model")
    widths = {"clip_l": pipe.text_encoder.config.hidden_size, "clip_g": pipe.text_encoder_2.config.hidden_size}
    vec = {key: torch.randn(EMBEDDING_VECTORS, widths[key], generator=torch.Generator().manual_seed(seed)) * 0.5
           for key, seed in EMBEDDING_SEEDS.items()}
    save_file({k: v.contiguous() for k, v in vec.items()}, str(out / "embeddings" / f"{EMBEDDING_NAME}.safetensors"))
    embeddings = {EMBEDDING_NAME: vec}
    _check_against_diffusers(root, pipe, embeddings)

    results = {}
    for case in CASES:
        cond, pooled, ((chunks, ids_l), (_, ids_g)) = encode_sdxl(pipe, case["prompt"], case["emphasis"], embeddings)
        n = CHUNKS[case["name"]]
        assert len(chunks) == n and cond.shape == (1, 77 * n, 80) and pooled.shape == (1, PROJECTION_DIM), case
        assert torch.isfinite(cond).all() and cond.abs().max() < 100
        assert [len(c["fixes"]) for c in chunks] == ([2] if case["name"] == "embedding" else [0] * n)
        results[case["name"]] = (cond, pooled, ids_l, ids_g)
        write_fixture(out, case["name"], {
            "tokens": ids_l, "tokens_2": ids_g,
            "multipliers": torch.tensor([c["multipliers"] for c in chunks], dtype=torch.float32),
            "cond": cond, "pooled": pooled,
        }, {"prompt": case["prompt"], "emphasis": case["emphasis"], "chunks": n})
    # "emphasis" is "plain" with weights: the same ids and pooled vector (emphasis acts on the penultimate states
    # only), another conditioning.
    (c0, p0, l0, g0), (c1, p1, l1, g1) = results["plain"], results["emphasis"]
    assert torch.equal(l0, l1) and torch.equal(g0, g1) and torch.equal(p0, p1)
    assert (c0 - c1).abs().max() > 1e-2
    (out / "cases.json").write_text(json.dumps([c["name"] for c in CASES], indent=1) + "\n")
