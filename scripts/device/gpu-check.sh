#!/usr/bin/env bash
# The GPU check, run on the GPU machine (no Swift there): a bundle from
# scripts/device/bundle.sh, the repository's fixtures and scripts, the
# machine's own PyTorch. Writes summary.md, summary.json and log.txt to $OUT
# (or the folder it prints); finishes in about five minutes on an H200.
#
#   scripts/device/gpu-check.sh [BUNDLE]            BUNDLE: default .build/device-bundle
#
# Sizes can be shrunk for a trial on lavapipe: SIZE=64 STEPS=1 IMAGE_STEPS=1 BERT_RUNS=2 BERT_SEQ=128.
#   1. sdgen devices (falls back to NVIDIA's ICD file when the loader finds no GPU)
#   2. selfcheck.py: every tiny pipeline case on the GPU against diffusers' images
#   3. sdgen bench / bert-bench --device gpu at the seed's sizes (with --profile: where the time went),
#      again with the first GPU run's kernels and with split-K, one full image with random weights
#   4. the same SD and BERT workloads in PyTorch on CUDA, fp32 and fp16 (SDPA), when CUDA is there
set -uo pipefail
cd "$(dirname "$0")/../.."
bundle="${1:-.build/device-bundle}"
sdgen="$bundle/sdgen"
out="${OUT:-$(mktemp -d /tmp/gpu-check.XXXXXX)}"
work="$(mktemp -d /tmp/gpu-check-work.XXXXXX)"
size="${SIZE:-512}" steps="${STEPS:-10}" image_steps="${IMAGE_STEPS:-50}"
bert_runs="${BERT_RUNS:-20}" bert_seq="${BERT_SEQ:-128,512}"
splitk="${SPLITK:-264}"   # workgroups to aim for: two per multiprocessor of an H100/H200
python="${PYTHON:-python3}"
log="$out/log.txt"
exec > >(tee -a "$log") 2>&1

# Every step runs under a time cap and under what is left of BUDGET seconds (the lease's
# call limit, less a margin for the summary), so one hang costs that step, not the report.
deadline=$((SECONDS + ${BUDGET:-450}))
step() { echo; echo "== $* ($(date -u +%H:%M:%S), $((deadline - SECONDS)) s left)"; }
capped() {
    local cap=$1; shift
    local left=$((deadline - SECONDS - 20))
    [ "$left" -lt "$cap" ] && cap=$left
    if [ "$cap" -le 0 ]; then echo "skipped: out of time"; return 124; fi
    timeout -k 5 "$cap" "$@"
    local rc=$?
    [ "$rc" -eq 124 ] && echo "stopped after ${cap} s"
    return "$rc"
}

step "devices"
if ! capped 60 "$sdgen" devices > "$work/devices.txt" 2>&1 || ! grep -qi "nvidia\|amd\|intel\|llvmpipe" "$work/devices.txt"; then
    export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    capped 60 "$sdgen" devices > "$work/devices.txt" 2>&1
fi
cat "$work/devices.txt"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | tee "$work/nvidia.txt"

# diffusers for the PyTorch side, from the bundle's wheel (the machine has torch and transformers).
if [ -d "$bundle/wheels" ] && ! "$python" -c "import diffusers" 2>/dev/null; then
    "$python" -m pip install -q --no-index --no-deps --no-compile --target "$work/site" "$bundle"/wheels/*.whl \
        && export PYTHONPATH="$work/site${PYTHONPATH:+:$PYTHONPATH}"
fi

step "self-check: tiny pipelines on the GPU against diffusers"
capped 120 "$python" scripts/device/selfcheck.py --sdgen "$sdgen" --device gpu --out "$work"

step "sdgen bench --device gpu (SD 1.5, ${size}², ${steps} steps)"
capped 120 "$sdgen" bench --device gpu --size "$size" --steps "$steps" --profile --json > "$work/sdgen-sd.json"
step "sdgen bert-bench --device gpu"
capped 90 "$sdgen" bert-bench --device gpu --runs "$bert_runs" --seq "$bert_seq" --profile --json > "$work/sdgen-bert.json"
# The kernels of the first GPU run (SDGEN_VULKAN_GEMM=legacy: the 64×64 matrix-unit product, the
# scalar flash attention), for the before/after on the same card.
step "sdgen bench / bert-bench --device gpu, first kernels (SDGEN_VULKAN_GEMM=legacy)"
SDGEN_VULKAN_GEMM=legacy capped 90 "$sdgen" bench --device gpu --size "$size" --steps "$steps" --json \
    > "$work/sdgen-sd-legacy.json"
SDGEN_VULKAN_GEMM=legacy capped 60 "$sdgen" bert-bench --device gpu --runs "$bert_runs" --seq "$bert_seq" --json \
    > "$work/sdgen-bert-legacy.json"
# Split-K (VulkanOptions.splitKTarget, off by default until measured here): the same runs with
# products of fewer than ~2 waves of output tiles split over K.
step "sdgen bench / bert-bench --device gpu, split-K (SDGEN_VULKAN_SPLITK=${splitk})"
SDGEN_VULKAN_SPLITK="$splitk" capped 90 "$sdgen" bench --device gpu --size "$size" --steps "$steps" --profile --json \
    > "$work/sdgen-sd-splitk.json"
SDGEN_VULKAN_SPLITK="$splitk" capped 60 "$sdgen" bert-bench --device gpu --runs "$bert_runs" --seq "$bert_seq" --json \
    > "$work/sdgen-bert-splitk.json"
step "one ${image_steps}-step ${size}² image, random weights"
capped 150 "$sdgen" "astronaut riding a horse on mars" --weights random --device gpu --steps "$image_steps" \
    --width "$size" --height "$size" --seed 7 -o "$work/image.png" --json > "$work/sdgen-image.json"

if "$python" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
    for precision in f32 fp16; do
        step "PyTorch CUDA SD 1.5 ($precision)"
        (cd scripts/baseline && capped 100 "$python" sd_bench.py --device cuda --precision "$precision" --size "$size" \
            --steps "$steps" --json) > "$work/torch-sd-$precision.json"
        step "PyTorch CUDA BERT ($precision)"
        (cd scripts/baseline && capped 80 "$python" bert_bench.py --device cuda --precision "$precision" --runs "$bert_runs" \
            --seq "$bert_seq" --json) > "$work/torch-bert-$precision.json"
    done
else
    echo "no CUDA in $python: PyTorch columns left out"
fi

step "summary"
timeout 30 "$python" scripts/device/summarize.py "$work" "$out"
echo "gpu-check: $out"
