#!/usr/bin/env bash
# Builds sdgen as a folder that runs on a bare x86-64 Linux machine with a GPU
# driver and nothing else (the GPU machine has no Swift toolchain, no -dev
# packages, no network): the Swift runtime linked statically, stripped, every
# shared library it loads (OpenBLAS and its Fortran runtime, libpng, libjpeg,
# SentencePiece, the C++ runtime, the Vulkan loader it opens at run time)
# copied into lib/ and packed (see below), and an `sdgen` launcher at the top
# that runs it from any directory. The diffusers wheel (pure Python) comes along for the
# PyTorch side when pip can fetch it.
#
#   scripts/device/bundle.sh [FOLDER]      default: .build/device-bundle
#
# Prints the folder's size, then its path as the last line. It must stay
# ≤ 48 MiB so that it travels with the working tree (64 MiB in all).
set -euo pipefail
cd "$(dirname "$0")/../.."

out="${1:-.build/device-bundle}"
build=.build/bundle
limit=$((48 << 20))

# Static Foundation's networking links libcurl; Debian ships libcurl.so.4 without the -dev
# symlink, so give the linker one (no -dev package needed).
links="$build/links"
mkdir -p "$links"
# awk reads to the end: an early exit would SIGPIPE ldconfig, which pipefail makes a failure (CI saw exit 141).
curl="$(ldconfig -p | awk '$1 == "libcurl.so.4" && !found {print $NF; found = 1}')"
[ -n "$curl" ] || { echo "error: libcurl.so.4 not found (apt install libcurl4)" >&2; exit 1; }
ln -sf "$curl" "$links/libcurl.so"
flags=(-c release --product sdgen --static-swift-stdlib --build-path "$build" -Xlinker -L"$PWD/$links")
swift build "${flags[@]}" >&2
bin="$(swift build "${flags[@]}" --show-bin-path)"

rm -rf "$out"
mkdir -p "$out/lib"
cp "$bin/sdgen" "$out/lib/sdgen.bin"
strip "$out/lib/sdgen.bin"
# SwiftPM resource bundles (the CLIP merges) are looked up beside the executable.
cp -R "$bin"/*.resources "$out/lib/"

# Every library the binary links, except glibc's own (the target's must be used).
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

# The libraries and the static binary are ~130 MiB (OpenBLAS alone 36, the Swift runtime's
# Foundation and ICU most of the binary's 67): they travel as one xz archive, which the launcher
# unpacks once into $TMPDIR (keyed by its checksum) and runs from there.
tar -C "$out" -cf - lib | xz -9 -T0 > "$out/payload.tar.xz"
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
