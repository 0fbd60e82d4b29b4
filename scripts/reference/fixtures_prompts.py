"""A1111's prompt language, transcribed from AUTOMATIC1111's webui (our own
code of its algorithms), as the reference for sdgen's prompt encoder:

  * ``parse_prompt_attention`` (modules/prompt_parser.py): ``(text)`` ×1.1,
    ``[text]`` ÷1.1, ``(text:w)``, escapes, unbalanced brackets, BREAK,
    runs of equal weight merged;
  * ``tokenize_line`` (modules/sd_hijack_clip.py): 75-token chunks,
    ``[BOS] + 75 + [EOS]`` padded with EOS, comma backtracking (20 tokens),
    BREAK starting a new chunk;
  * ``process_tokens`` + ``EmphasisOriginal`` / ``EmphasisOriginalNoNorm``
    (modules/sd_emphasis.py): each chunk encoded alone, hidden states times
    the token weights, the chunk's mean restored ('Original'); ``encode_chunks``
    also takes an ``id_pad`` other than EOS (every id after the chunk's first
    EOS becomes it) and a hidden layer, which fixtures_sdxl_prompts.py uses;
  * ``pad_cond`` (modules/sd_samplers_cfg_denoiser.py): the shorter of
    cond/uncond padded with the empty prompt's chunk;
  * textual-inversion embeddings (modules/textual_inversion/textual_inversion.py
    ``find_embedding_at_position``, modules/sd_hijack.py ``EmbeddingsWithFixes``):
    a name's tokens become placeholder slots whose token embeddings are the file's vectors.

Fixtures (group ``prompts``): ``prompts/parse.json`` (many strings and their
weighted runs) and, per case, ``prompts/<name>.safetensors`` with the chunks'
tokens and weights, the conditioning of prompt and negative prompt as CFG
runs them, and the image diffusers' StableDiffusionPipeline makes from that
conditioning (prompt_embeds / negative_prompt_embeds) on the tiny model.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch
from safetensors.torch import save_file

from prompt_schedules import SCHEDULE_STRINGS, prompt_schedule

RE_ATTENTION = re.compile(r"""
\\\(|
\\\)|
\\\[|
\\]|
\\\\|
\\|
\(|
\[|
:\s*([+-]?[.\d]+)\s*\)|
\)|
]|
[^\\()\[\]:]+|
:
""", re.X)

RE_BREAK = re.compile(r"\s*\bBREAK\b\s*", re.S)

CHUNK_LENGTH = 75
COMMA_PADDING_BACKTRACK = 20


def parse_prompt_attention(text: str):
    res = []
    round_brackets, square_brackets = [], []

    def multiply_range(start, multiplier):
        for p in range(start, len(res)):
            res[p][1] *= multiplier

    for m in RE_ATTENTION.finditer(text):
        piece, weight = m.group(0), m.group(1)
        if piece.startswith("\\"):
            res.append([piece[1:], 1.0])
        elif piece == "(":
            round_brackets.append(len(res))
        elif piece == "[":
            square_brackets.append(len(res))
        elif weight is not None and round_brackets:
            multiply_range(round_brackets.pop(), float(weight))
        elif piece == ")" and round_brackets:
            multiply_range(round_brackets.pop(), 1.1)
        elif piece == "]" and square_brackets:
            multiply_range(square_brackets.pop(), 1 / 1.1)
        else:
            for i, part in enumerate(re.split(RE_BREAK, piece)):
                if i > 0:
                    res.append(["BREAK", -1])
                res.append([part, 1.0])
    for pos in round_brackets:
        multiply_range(pos, 1.1)
    for pos in square_brackets:
        multiply_range(pos, 1 / 1.1)
    if not res:
        res = [["", 1.0]]
    i = 0
    while i + 1 < len(res):
        if res[i][1] == res[i + 1][1]:
            res[i][0] += res[i + 1][0]
            res.pop(i + 1)
        else:
            i += 1
    return res


def embedding_lookup(tokenizer, embeddings):
    """First token id -> [(name's ids, vectors)], longest first (A1111's ids_lookup)."""
    lookup = {}
    for name, vectors in embeddings.items():
        ids = tokenizer([name], truncation=False, add_special_tokens=False)["input_ids"][0]
        lookup.setdefault(ids[0], []).append((ids, vectors))
    for key in lookup:
        lookup[key].sort(key=lambda entry: -len(entry[0]))
    return lookup


def tokenize_line(tokenizer, line: str, emphasis: str, embeddings=None):
    parsed = parse_prompt_attention(line) if emphasis != "none" else [[line, 1.0]]
    tokenized = tokenizer([t for t, _ in parsed], truncation=False, add_special_tokens=False)["input_ids"]
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    comma = tokenizer.get_vocab()[",</w>"]
    chunks = []
    lookup = embedding_lookup(tokenizer, embeddings or {})
    chunk = {"tokens": [], "multipliers": [], "fixes": []}
    last_comma = -1

    def next_chunk():
        nonlocal chunk, last_comma
        to_add = CHUNK_LENGTH - len(chunk["tokens"])
        if to_add > 0:
            chunk["tokens"] += [eos] * to_add
            chunk["multipliers"] += [1.0] * to_add
        chunk["tokens"] = [bos] + chunk["tokens"] + [eos]
        chunk["multipliers"] = [1.0] + chunk["multipliers"] + [1.0]
        last_comma = -1
        chunks.append(chunk)
        chunk = {"tokens": [], "multipliers": [], "fixes": []}

    for tokens, (text, weight) in zip(tokenized, parsed):
        if text == "BREAK" and weight == -1:
            next_chunk()
            continue
        position = 0
        while position < len(tokens):
            token = tokens[position]
            if token == comma:
                last_comma = len(chunk["tokens"])
            elif (COMMA_PADDING_BACKTRACK != 0 and len(chunk["tokens"]) == CHUNK_LENGTH and last_comma != -1
                  and len(chunk["tokens"]) - last_comma <= COMMA_PADDING_BACKTRACK):
                cut = last_comma + 1
                moved_tokens, moved_weights = chunk["tokens"][cut:], chunk["multipliers"][cut:]
                chunk["tokens"], chunk["multipliers"] = chunk["tokens"][:cut], chunk["multipliers"][:cut]
                next_chunk()
                chunk["tokens"], chunk["multipliers"] = moved_tokens, moved_weights
            if len(chunk["tokens"]) == CHUNK_LENGTH:
                next_chunk()
            found = None
            for ids, vectors in lookup.get(token, []):
                if tokens[position:position + len(ids)] == ids:
                    found = (ids, vectors)
                    break
            if found is None:
                chunk["tokens"].append(token)
                chunk["multipliers"].append(weight)
                position += 1
                continue
            ids, vectors = found
            if len(chunk["tokens"]) + vectors.shape[0] > CHUNK_LENGTH:
                next_chunk()
            chunk["fixes"].append((len(chunk["tokens"]), vectors))
            chunk["tokens"] += [0] * vectors.shape[0]
            chunk["multipliers"] += [weight] * vectors.shape[0]
            position += len(ids)
    if chunk["tokens"] or not chunks:
        next_chunk()
    return chunks


@torch.no_grad()
def encode_chunks(text_encoder, chunks, emphasis: str = "original", eos=None, pad_id=None, hidden_layer=None):
    """``process_tokens`` per chunk: [(z [1, 77, width], the ids fed to the encoder, the encoder's outputs)].

    ``pad_id`` other than ``eos`` (SD 2, SDXL's clip_g: 0): every id after the chunk's first EOS becomes it.
    ``hidden_layer``: None reads ``last_hidden_state``; an index reads ``hidden_states[hidden_layer]`` (SDXL's
    "penultimate": -2, without the final layer norm).
    """
    out = []
    # transformers ≥ 5 has no text_model wrapper level.
    token_embedding = text_encoder.get_input_embeddings()
    for chunk in chunks:
        tokens = torch.tensor([chunk["tokens"]])
        if pad_id is not None and pad_id != eos:
            tokens[0, chunk["tokens"].index(eos) + 1:] = pad_id

        def with_fixes(module, inputs, output, fixes=chunk["fixes"]):
            # EmbeddingsWithFixes: the vectors after BOS + offset.
            for offset, vectors in fixes:
                output[0, offset + 1:offset + 1 + vectors.shape[0]] = vectors
            return output

        hook = token_embedding.register_forward_hook(with_fixes)
        if hidden_layer is None:
            outputs = text_encoder(input_ids=tokens)
            z = outputs.last_hidden_state
        else:
            outputs = text_encoder(input_ids=tokens, output_hidden_states=True)
            z = outputs.hidden_states[hidden_layer]
        hook.remove()
        if emphasis != "none":
            multipliers = torch.tensor([chunk["multipliers"]], dtype=torch.float32)
            original_mean = z.mean()
            z = z * multipliers.reshape(multipliers.shape + (1,)).expand(z.shape)
            if emphasis == "original":
                new_mean = z.mean()
                z = z * (original_mean / new_mean)
        out.append((z, tokens, outputs))
    return out


@torch.no_grad()
def encode(text_encoder, tokenizer, line: str, emphasis: str = "original", embeddings=None):
    """A1111's conditioning of one prompt: [1, 77 × chunks, width]."""
    chunks = tokenize_line(tokenizer, line, emphasis, embeddings)
    zs = [z for z, _, _ in encode_chunks(text_encoder, chunks, emphasis)]
    return torch.hstack(zs), chunks


def pad_cond(cond, uncond, empty):
    """The shorter conditioning gets the empty prompt's chunk repeated."""
    if cond.shape[1] == uncond.shape[1]:
        return cond, uncond
    repeats = (cond.shape[1] - uncond.shape[1]) // empty.shape[1]
    if repeats < 0:
        cond = torch.cat([cond, empty.repeat((cond.shape[0], -repeats, 1))], axis=1)
    else:
        uncond = torch.cat([uncond, empty.repeat((uncond.shape[0], repeats, 1))], axis=1)
    return cond, uncond


PARSE_STRINGS = [
    "", "a red fox", "a (red) fox", "a ((red)) fox", "a [red] fox", "a [[red]] fox", "a (red:1.3) fox",
    "a (red:0.5) (fox:-1)", "a (red : 1.25 ) fox", "(a (nested:1.5) prompt)", "[a (mixed) prompt]",
    "unbalanced (open", "unbalanced [open", "closing) only", "closing] only", "a (red:1.3 fox", "a red:1.3) fox",
    "escaped \\(paren\\) and \\[square\\]", "backslash \\\\ itself", "lone \\ backslash", "a:b:c", "(a:b)",
    "a fox BREAK a dog", "BREAK at start", "at end BREAK", "a fox BREAKfast", "(a fox BREAK a dog:1.2)",
    "((a)) ((a))", "(a) (b) [c]", "colon at end:", "(x:+1.5)", "(x:.5)", "multi\nline (prompt)",
    "(((((deep)))))", "[[[[shallow]]]]", "a (b [c] d) e", "\\\\(not escaped)",
]

IMAGE_CASES = [
    dict(name="emphasis", prompt="a (red:1.3) fox, [[snow]], (masterpiece)", negative="blurry",
         emphasis="original", scheduler="euler", seed=11),
    dict(name="no_norm", prompt="a (red:1.3) fox, [[snow]], (masterpiece)", negative="(blurry:1.4)",
         emphasis="no-norm", scheduler="euler", seed=11),
    dict(name="literal", prompt="a (red:1.3) fox", negative="", emphasis="none", scheduler="euler", seed=12),
    dict(name="break", prompt="a red fox BREAK in the snow", negative="blurry", emphasis="original",
         scheduler="pndm", seed=13),
    dict(name="long_commas",
         prompt=", ".join(["a red fox in the snow", "forest at dusk", "soft light", "detailed fur",
                           "tall pine trees", "falling snowflakes", "cold blue shadows", "warm glow",
                           "distant mountains", "a frozen river", "footprints", "mist", "high detail",
                           "sharp focus", "photograph", "award winning", "national geographic",
                           "wildlife photography", "telephoto lens", "bokeh"]),
         negative="blurry", emphasis="original", scheduler="euler", seed=14),
    dict(name="long_negative", prompt="a fox",
         negative=" ".join(["blurry low quality jpeg artifacts"] * 24), emphasis="original",
         scheduler="euler", seed=15),
    dict(name="unbalanced", prompt="((a fox in the (snow", negative="[blurry", emphasis="original",
         scheduler="pndm", seed=16),
    dict(name="embeddings", prompt="a photo of tinyemb, (tinyemb:1.3) fox in snow", negative="tinyneg blurry",
         emphasis="original", scheduler="euler", seed=17),
]

# Textual-inversion files written to prompts/embeddings/: A1111's emb_params layout and a single-tensor file.
EMBEDDING_SEEDS = {"tinyemb": (3, 7001, "emb_params"), "tinyneg": (2, 7002, "vector")}


def make_prompt_fixtures(root: Path, write_fixture) -> None:
    from diffusers import EulerDiscreteScheduler, PNDMScheduler, StableDiffusionPipeline

    out = root / "prompts"
    out.mkdir(parents=True, exist_ok=True)
    (out / "parse.json").write_text(json.dumps(
        [{"text": s, "runs": parse_prompt_attention(s)} for s in PARSE_STRINGS], ensure_ascii=False, indent=1),
        encoding="utf-8")

    (out / "schedules.json").write_text(json.dumps(
        [{"text": s, "steps": steps, "schedule": prompt_schedule(s, steps)}
         for s in SCHEDULE_STRINGS for steps in (10, 7, 1)], ensure_ascii=False, indent=1), encoding="utf-8")

    pipe = StableDiffusionPipeline.from_pretrained(str(root / "pipeline"), safety_checker=None,
                                                   feature_extractor=None, requires_safety_checker=False,
                                                   local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    tokenizer, text_encoder = pipe.tokenizer, pipe.text_encoder
    base = pipe.scheduler.config
    width = text_encoder.config.hidden_size
    embeddings = {}
    (out / "embeddings").mkdir(exist_ok=True)
    for name, (count, seed, key) in EMBEDDING_SEEDS.items():
        vectors = torch.randn(count, width, generator=torch.Generator().manual_seed(seed)) * 0.5
        embeddings[name] = vectors
        save_file({key: vectors.contiguous()}, str(out / "embeddings" / f"{name}.safetensors"))
    empty, _ = encode(text_encoder, tokenizer, "")
    for case in IMAGE_CASES:
        cond, chunks = encode(text_encoder, tokenizer, case["prompt"], case["emphasis"], embeddings)
        uncond, negative_chunks = encode(text_encoder, tokenizer, case["negative"], case["emphasis"], embeddings)
        cond, uncond = pad_cond(cond, uncond, empty)
        scheduler = {"euler": EulerDiscreteScheduler, "pndm": PNDMScheduler}[case["scheduler"]]
        pipe.scheduler = scheduler.from_config(base)
        image = pipe(prompt_embeds=cond, negative_prompt_embeds=uncond, height=32, width=32,
                     num_inference_steps=4, guidance_scale=7.5, output_type="np",
                     generator=torch.Generator().manual_seed(case["seed"])).images
        write_fixture(out, case["name"], {
            "tokens": torch.tensor([c["tokens"] for c in chunks]),
            "multipliers": torch.tensor([c["multipliers"] for c in chunks], dtype=torch.float32),
            "negative_tokens": torch.tensor([c["tokens"] for c in negative_chunks]),
            "cond": cond, "uncond": uncond, "image": torch.from_numpy(image),
        }, {"prompt": case["prompt"], "negative_prompt": case["negative"], "emphasis": case["emphasis"],
            "scheduler": case["scheduler"], "seed": case["seed"], "steps": 4, "guidance": 7.5,
            "width": 32, "height": 32})
    make_editing_fixture(root, write_fixture)


EDITING_CASE = dict(name="editing", prompt="a [red:blue:0.5] fox [in snow|at dusk], (detailed:1.2)",
                    negative="[blurry::2] lowres", scheduler="euler", seed=18, steps=4)


@torch.no_grad()
def make_editing_fixture(root: Path, write_fixture) -> None:
    """Prompt editing as A1111 samples it: at model evaluation i (0-based) the
    texts of the first schedule entries ending at or after i, encoded as
    above and padded to each other; diffusers switches embeds between steps
    through callback_on_step_end."""
    from diffusers import EulerDiscreteScheduler, StableDiffusionPipeline

    case = EDITING_CASE
    out = root / "prompts"
    pipe = StableDiffusionPipeline.from_pretrained(str(root / "pipeline"), safety_checker=None,
                                                   feature_extractor=None, requires_safety_checker=False,
                                                   local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    pipe.scheduler = EulerDiscreteScheduler.from_config(pipe.scheduler.config)
    tokenizer, text_encoder = pipe.tokenizer, pipe.text_encoder
    empty, _ = encode(text_encoder, tokenizer, "")
    steps = case["steps"]
    positive, negative = prompt_schedule(case["prompt"], steps), prompt_schedule(case["negative"], steps)

    def text_at(schedule, i):
        return next(text for end, text in schedule if i <= end)

    def embeds(i):
        cond, _ = encode(text_encoder, tokenizer, text_at(positive, i))
        uncond, _ = encode(text_encoder, tokenizer, text_at(negative, i))
        return pad_cond(cond, uncond, empty)

    def switch(p, i, t, kw):
        cond, uncond = embeds(i + 1)
        return {"prompt_embeds": torch.cat([uncond, cond])}

    cond, uncond = embeds(0)
    image = pipe(prompt_embeds=cond, negative_prompt_embeds=uncond, height=32, width=32,
                 num_inference_steps=steps, guidance_scale=7.5, output_type="np",
                 generator=torch.Generator().manual_seed(case["seed"]), callback_on_step_end=switch,
                 callback_on_step_end_tensor_inputs=["prompt_embeds"]).images
    write_fixture(out, case["name"], {"image": torch.from_numpy(image)},
                  {"prompt": case["prompt"], "negative_prompt": case["negative"], "emphasis": "original",
                   "scheduler": case["scheduler"], "seed": case["seed"], "steps": steps, "guidance": 7.5,
                   "width": 32, "height": 32,
                   "schedule": json.dumps(positive), "negative_schedule": json.dumps(negative)})
