#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine for sdgen: system libraries, then a
# release build. Swift 6 must already be on PATH (https://swift.org/install).
# With --test, also what scripts/test.sh needs: Chromium and its WebDriver
# (the web page's browser test) and Python's venv.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libopenblas-dev libpng-dev libjpeg-dev libvulkan-dev mesa-vulkan-drivers glslc
          libsentencepiece-dev pkg-config)
if [ "${1:-}" = "--test" ]; then
    packages+=(chromium chromium-driver)
    python3 -c "import ensurepip, venv" >/dev/null 2>&1 || packages+=(python3-venv)
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi

swift build -c release --product sdgen
echo "sdgen built: $(swift build -c release --show-bin-path)/sdgen"
