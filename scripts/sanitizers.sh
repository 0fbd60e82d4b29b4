#!/usr/bin/env bash
# Runs the whole test suite under a sanitizer, in a build folder of its own:
#   scripts/sanitizers.sh address     AddressSanitizer (Swift and the C targets)
#   scripts/sanitizers.sh thread      ThreadSanitizer
#   scripts/sanitizers.sh undefined   UBSan on the C targets (CPUKernels, CPNGShim, CSentencePiece)
# Extra arguments go to `swift test` (e.g. --filter PipelineTests). The
# MiniLM fixture must be present (scripts/fetch_minilm.sh). Mesa's lavapipe
# is not instrumented: leak checking is off (its one-time allocations live
# until exit), and TSan is told to ignore races inside it (scripts/tsan.supp).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/swiftpm-env.sh

kind="${1:?usage: scripts/sanitizers.sh address|thread|undefined [swift test arguments]}"
shift
case "$kind" in
    address)
        flags=(--sanitize=address -Xcc -fsanitize=address -Xcxx -fsanitize=address)
        export ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:${ASAN_OPTIONS:-}" ;;
    thread)
        flags=(--sanitize=thread)
        export TSAN_OPTIONS="suppressions=$PWD/scripts/tsan.supp:halt_on_error=1:${TSAN_OPTIONS:-}" ;;
    undefined)
        # The C targets (CPUKernels, CPNGShim, CSentencePiece and the dependencies' C) instrumented,
        # linked with the toolchain's UBSan runtime (swiftc has no -sanitize=undefined on Linux).
        runtime="$(dirname "$(command -v swift)")/../lib/clang"
        for linux in "$runtime"/*/lib/linux; do runtime="$linux"; break; done
        flags=(-Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=undefined
               -Xcxx -fsanitize=undefined -Xcxx -fno-sanitize-recover=undefined
               -Xlinker "$runtime/libclang_rt.ubsan_standalone-x86_64.so" -Xlinker -rpath -Xlinker "$runtime")
        export UBSAN_OPTIONS="print_stacktrace=1:${UBSAN_OPTIONS:-}" ;;
    *) echo "unknown sanitizer '$kind' (address, thread, undefined)" >&2; exit 2 ;;
esac
swift build -c release --build-tests --build-path ".build/$kind" "${flags[@]}"
swift test -c release --skip-build --build-path ".build/$kind" --disable-swift-testing "${flags[@]}" "$@"
