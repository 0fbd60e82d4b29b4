#!/usr/bin/env bash
# Fuzzes sdgen's parsers of outside bytes with libFuzzer and AddressSanitizer.
#   scripts/fuzz.sh                 every target for 60 s each
#   scripts/fuzz.sh TARGET [SECONDS] one target (targets: `sdgen-fuzz` with no arguments lists them)
#   SECONDS_PER_TARGET=20 scripts/fuzz.sh   every target for 20 s each
#   RUNS=20000 scripts/fuzz.sh      every target for exactly 20000 inputs from a fresh
#                                   corpus: the same inputs on every machine (what CI runs)
#   scripts/fuzz.sh --build         only the instrumented build (both cores; the runs are one)
# Each target starts from its committed seeds (Fuzz/Corpus/TARGET) plus what
# earlier runs found (.build/fuzz/corpus/TARGET); a crash, a sanitizer report,
# a hang (> 10 s) or an out-of-memory (> 2 GB) input lands in
# .build/fuzz/findings/ and fails the script. Reproduce one in an ordinary
# build with `.build/release/sdgen-fuzz TARGET FILE`. Runs are seeded (-seed=1).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/swiftpm-env.sh

targets=(safetensors config clip-files tokenizer-json wordpiece sentencepiece png infotext prompt image)
seconds="${SECONDS_PER_TARGET:-60}"
runs="${RUNS:-}"
build_only=false
if [ "${1:-}" = "--build" ]; then build_only=true; shift; fi
if [ $# -ge 1 ]; then targets=("$1"); fi
if [ $# -ge 2 ]; then seconds="$2"; fi

build=.build/fuzz
swift build -c release --product sdgen-fuzz --build-path "$build" \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING \
    -Xcc -fsanitize=fuzzer-no-link,address -Xcxx -fsanitize=fuzzer-no-link,address \
    -Xswiftc -use-ld=lld >&2
binary="$(swift build -c release --build-path "$build" --show-bin-path)/sdgen-fuzz"
$build_only && exit 0

status=0
for target in "${targets[@]}"; do
    corpus="$build/corpus/$target"
    findings="$build/findings"
    mkdir -p "$corpus" "$findings"
    if [ -n "$runs" ]; then
        # A fixed number of inputs from the committed seeds alone: deterministic.
        corpus="$build/corpus-ci/$target"
        rm -rf "$corpus" && mkdir -p "$corpus"
        limit=(-runs="$runs")
        echo "fuzz: $target for $runs inputs" >&2
    else
        limit=(-max_total_time="$seconds")
        echo "fuzz: $target for ${seconds} s" >&2
    fi
    if ! SDGEN_FUZZ_TARGET="$target" ASAN_OPTIONS=detect_leaks=0 "$binary" \
            "${limit[@]}" -seed=1 -timeout=10 -rss_limit_mb=2048 -max_len=1048576 \
            -print_final_stats=1 -artifact_prefix="$findings/$target-" \
            "$corpus" "Fuzz/Corpus/$target" 2> "$build/$target.log"; then
        echo "fuzz: $target FOUND A PROBLEM (see $build/$target.log and $findings/)" >&2
        tail -40 "$build/$target.log" >&2
        status=1
    else
        done_runs=$(grep -m1 -o 'stat::number_of_executed_units: [0-9]*' "$build/$target.log" | grep -o '[0-9]*$' || echo '?')
        echo "fuzz: $target ok, $done_runs inputs" >&2
    fi
done
exit $status
