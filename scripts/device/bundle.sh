#!/usr/bin/env bash
# Builds sdgen as a folder that runs on a bare x86-64 Linux machine with a GPU
# driver and nothing else (the GPU machine has no Swift toolchain, no -dev
# packages, no network): the release build that `scripts/setup.sh` makes,
# stripped, with every shared library it loads (the Swift runtime and
# Foundation, OpenBLAS and its Fortran runtime, libpng, libjpeg, SentencePiece,
# libcurl, the C++ runtime, the Vulkan loader it opens at run time) copied into
# lib/ and packed (see below), and an `sdgen` launcher at the top that runs it
# from any directory. The diffusers wheel (pure Python) comes along for the
# PyTorch side when pip can fetch it.
#
# The Swift runtime travels as the toolchain's shared libraries rather than
# linked in with --static-swift-stdlib: that flag changes how every module is
# compiled, so it cost a second full build (5 minutes of CI) for a bundle
# only 2 MiB smaller (36 MiB against 38).
#
#   scripts/device/bundle.sh [FOLDER]      default: .build/device-bundle
#
# Prints the folder's size, then its path as the last line. It must stay
# ≤ 48 MiB so that it travels with the working tree (64 MiB in all).
set -euo pipefail
cd "$(dirname "$0")/../.."

out="${1:-.build/device-bundle}"
limit=$((48 << 20))

source scripts/swiftpm-env.sh
swift build -c release --product sdgen >&2
bin="$(swift build -c release --show-bin-path)"

rm -rf "$out"
mkdir -p "$out/lib"
cp "$bin/sdgen" "$out/lib/sdgen.bin"
strip "$out/lib/sdgen.bin"
# SwiftPM resource bundles (the CLIP merges) are looked up beside the executable.
cp -R "$bin"/*.resources "$out/lib/"

# Every library the binary links, except glibc's own (the target's must be used). The
# launcher's LD_LIBRARY_PATH is searched before the binary's RUNPATH (the toolchain's
# folder), so these copies are the ones loaded even where a toolchain is installed.
ldd "$out/lib/sdgen.bin" | awk '/=>/ && $3 ~ /^\// {print $3}' | while read -r lib; do
    case "$(basename "$lib")" in
        libc.so.*|libm.so.*|libdl.so.*|libpthread.so.*|librt.so.*|libresolv.so.*|ld-linux*) ;;
        *) cp -L "$lib" "$out/lib/" ;;
    esac
done
# The Vulkan loader is opened at run time (Sources/CVulkan/shim.h), so ldd does not list it.
vulkan="$(ldconfig -p | awk '$1 == "libvulkan.so.1" && !found {print $NF; found = 1}')"
[ -n "$vulkan" ] || { echo "error: libvulkan.so.1 not found (apt install libvulkan1)" >&2; exit 1; }
cp -L "$vulkan" "$out/lib/libvulkan.so.1"

# The binary and the libraries are ~150 MiB (ICU's data 40, OpenBLAS 36, Foundation 25):
# they travel as one xz archive (34 MiB), which the launcher
# unpacks once into $TMPDIR (keyed by its checksum) and runs from there. xz's default
# level: -9 packed 1 MiB smaller in 129 s against 46 (2 cores), a minute of every CI run.
tar -C "$out" -cf - lib | xz -6 -T0 > "$out/payload.tar.xz"
rm -rf "$out/lib"
cat > "$out/sdgen" <<'LAUNCHER'
#!/bin/sh
# sdgen from a bundle made by scripts/device/bundle.sh: unpacks payload.tar.xz once
# (into $SDGEN_BUNDLE_CACHE or $TMPDIR), then runs it with its own libraries.
set -e
here="$(dirname "$(readlink -f "$0")")"
key="$(cksum < "$here/payload.tar.xz" | cut -d' ' -f1)"
root="${SDGEN_BUNDLE_CACHE:-${TMPDIR:-/tmp}}/sdgen-bundle-$key"
if [ ! -x "$root/lib/sdgen.bin" ]; then
    staging="$(mktemp -d "$root.XXXXXX")"
    if command -v xz >/dev/null 2>&1; then
        xz -dc "$here/payload.tar.xz" | tar -C "$staging" -xf -
    else
        python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$here/payload.tar.xz" "$staging"
    fi
    mv -T "$staging" "$root" 2>/dev/null || rm -rf "$staging"
fi
LD_LIBRARY_PATH="$root/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "$root/lib/sdgen.bin" "$@"
LAUNCHER
chmod +x "$out/sdgen"

# diffusers for the PyTorch side (the GPU machine has torch and transformers, not diffusers).
if python3 -m pip --version >/dev/null 2>&1; then
    python3 -m pip download -q --no-deps --only-binary=:all: diffusers==0.42.1 -d "$out/wheels" >&2 \
        || echo "warning: could not fetch the diffusers wheel; the bundle has none" >&2
fi

size=$(du -sb "$out" | awk '{print $1}')
echo "bundle: $((size >> 20)) MiB in $out" >&2
if [ "$size" -gt "$limit" ]; then
    echo "error: the bundle is $((size >> 20)) MiB, over the 48 MiB it may take" >&2
    exit 1
fi
echo "$out"
