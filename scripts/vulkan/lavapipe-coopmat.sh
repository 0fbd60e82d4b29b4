#!/usr/bin/env bash
# The matrix-unit kernels (gemm_coopmat.comp, attention_coopmat.comp) without a GPU:
# Mesa 26's lavapipe implements VK_KHR_cooperative_matrix (Debian 12's Mesa 22 does
# not). This unpacks Debian unstable's mesa-vulkan-drivers with everything it needs
# (glibc 2.4x and LLVM 2x among them) into a folder, never into /, and runs a
# program under that folder's dynamic loader with SDGEN_VULKAN_COOPMAT=any (that
# lavapipe lists only 8×8×8 but runs the kernels' 16×16×16).
#
#   scripts/vulkan/lavapipe-coopmat.sh setup                      # once: ~70 MB into $LAVAPIPE_COOPMAT
#   scripts/vulkan/lavapipe-coopmat.sh run PROGRAM [ARGS…]        # an ELF program, not a script
#   scripts/vulkan/lavapipe-coopmat.sh test                       # VulkanCooperativeMatrixTests, MatrixUnitModelTests (release build)
#   scripts/vulkan/lavapipe-coopmat.sh selfcheck                  # the GPU check's tiny pipelines vs diffusers
#
# It takes whatever Debian unstable has today, so it is a developer's tool, not a CI step.
set -euo pipefail
cd "$(dirname "$0")/../.."
prefix="${LAVAPIPE_COOPMAT:-/tmp/lavapipe-coopmat}"
root="$prefix/root"
lib="$root/usr/lib/x86_64-linux-gnu"

setup() {
    mkdir -p "$prefix/lists/partial" "$prefix/debs" "$root"
    echo "deb http://deb.debian.org/debian sid main" > "$prefix/sources.list"
    local o=(-oDir::Etc::SourceList="$prefix/sources.list" -oDir::Etc::SourceParts=/dev/null
             -oDir::State::Lists="$prefix/lists" -oDir::State::status=/dev/null -oAPT::Architecture=amd64)
    apt-get "${o[@]}" update > /dev/null
    # The packages and everything they depend on, less what only installing would need.
    local packages
    packages=$(apt-cache "${o[@]}" depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
                   --no-replaces --no-enhances --no-pre-depends mesa-vulkan-drivers libvulkan1 \
               | grep '^[a-z0-9]' | sort -u \
               | grep -vE '^(debconf|perl|dpkg|install-info|coreutils|base-files|sensible-utils|gcc-.*-base|tzdata|mawk|bash|sed|grep)')
    (cd "$prefix/debs" && apt-get "${o[@]}" download $packages 2>&1 | grep -v unsandboxed >&2 || true)
    for deb in "$prefix"/debs/*.deb; do dpkg -x "$deb" "$root"; done
    # The ICD file names the driver by a path in /usr: point it into the folder.
    sed "s#\"library_path\": \"[^\"]*\"#\"library_path\": \"$lib/libvulkan_lvp.so\"#" \
        "$root/usr/share/vulkan/icd.d/lvp_icd.json" > "$prefix/lvp_icd.json"
    grep -aq VK_KHR_cooperative_matrix "$lib/libvulkan_lvp.so" \
        || { echo "error: this lavapipe has no VK_KHR_cooperative_matrix" >&2; exit 1; }
    echo "lavapipe with cooperative matrices in $prefix ($(ls "$prefix"/debs/mesa-vulkan-drivers_*.deb | xargs -n1 basename))"
}

run() {
    [ -f "$prefix/lvp_icd.json" ] || { echo "error: run '$0 setup' first" >&2; exit 1; }
    VK_DRIVER_FILES="$prefix/lvp_icd.json" SDGEN_VULKAN_COOPMAT=any exec "$lib/ld-linux-x86-64.so.2" \
        --library-path "$lib:$(dirname "$(readlink -f "$(command -v swift)")")/../lib/swift/linux:/usr/lib/x86_64-linux-gnu:/lib/x86_64-linux-gnu" \
        "$@"
}

case "${1:-}" in
setup) setup ;;
run) shift; run "$@" ;;
test)
    # The kernels, then the networks at --precision f16's bound; each run must pass.
    for tests in TensorCoreTests.VulkanCooperativeMatrixTests ModelsTests.MatrixUnitModelTests; do
        (run .build/release/sdgenPackageTests.xctest "$tests")
    done
    ;;
selfcheck)
    wrapper="$prefix/sdgen"
    printf '#!/bin/sh\nexec "%s" run "%s" "$@"\n' "$PWD/$0" "$PWD/.build/release/sdgen" > "$wrapper"
    chmod +x "$wrapper"
    exec "${PYTHON:-python3}" scripts/device/selfcheck.py --sdgen "$wrapper" --device gpu --out "$prefix/selfcheck"
    ;;
*) sed -n 2,14p "$0" >&2; exit 2 ;;
esac
