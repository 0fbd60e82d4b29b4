#!/usr/bin/env bash
# The whole test suite: the Swift tests (release: the numeric tests are too
# slow in debug), then `sdgen serve` driven end to end by the real clients —
# AUTOMATIC1111's `webuiapi` package, plain HTTP, SIGTERM, and a headless
# Chromium on the web page (scripts/serve/check_clients.py). Python packages
# go to a virtual environment under .build/; Chromium comes from
# `scripts/setup.sh --test`.
#
# The tests build without testable imports (none uses @testable): then they
# compile every module exactly as `scripts/setup.sh`'s `swift build -c release`
# did, so only the test targets are built here (1.5 minutes rather than 6) and
# the sdgen build below has nothing left to do (given the same order of package
# traits, scripts/swiftpm-env.sh). For one suite:
#   source scripts/swiftpm-env.sh
#   swift test -c release --disable-testable-imports --disable-swift-testing --filter SUITE
# `scripts/test.sh --build-only` builds the test binary and runs none of it (CI starts
# the matrix-unit run on that binary while the suite runs; `swift build --build-tests`
# has no --disable-testable-imports, so the suite would build everything again).
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/swiftpm-env.sh
swift_test=(swift test -c release --disable-testable-imports --disable-swift-testing)
case "${1:-}" in
"") ;;
--build-only) exec "${swift_test[@]}" --skip . ;;
*) echo "usage: scripts/test.sh [--build-only]" >&2; exit 2 ;;
esac
scripts/fetch_minilm.sh
"${swift_test[@]}"

swift build -c release --product sdgen
venv=.build/serve-venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/serve/requirements.txt
fi
browser=()
[ -n "${CI:-}" ] && browser=(--require-browser)
"$venv/bin/python" scripts/serve/check_clients.py --sdgen .build/release/sdgen \
    --screenshot "$(mktemp -d)/serve-page.png" "${browser[@]}"
