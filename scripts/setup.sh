#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine for sdgen: system libraries, then a
# release build. Swift 6 must already be on PATH (https://swift.org/install).
# With --test, also what scripts/test.sh needs: Chromium and its WebDriver
# (the web page's browser test), Python's venv, and on Debian 12 a newer
# lavapipe (below).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libopenblas-dev libpng-dev libjpeg-dev libvulkan-dev mesa-vulkan-drivers glslc
          libsentencepiece-dev pkg-config)
testing=false
[ "${1:-}" = "--test" ] && testing=true
if $testing; then
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

# Without a GPU the suite's Vulkan half runs on lavapipe. Debian 12's (Mesa 22) loads and
# stores memory one lane at a time, and the whole suite took 861 s on it against 413 s on
# bookworm-backports' Mesa 25 (docs/vulkan.md): on Debian 12, --test takes the Vulkan drivers
# from there (only them: apt takes nothing else from backports unless asked).
if $testing && grep -qx 'VERSION_CODENAME=bookworm' /etc/os-release 2>/dev/null \
   && dpkg --compare-versions "$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)" lt 25; then
    echo "deb http://deb.debian.org/debian bookworm-backports main" \
        | $sudo tee /etc/apt/sources.list.d/bookworm-backports.list > /dev/null
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends -t bookworm-backports \
        mesa-vulkan-drivers
fi

source scripts/swiftpm-env.sh
swift build -c release --product sdgen
echo "sdgen built: $(swift build -c release --show-bin-path)/sdgen"
