// Extensions a variant needs, switched by the macros the shader compiler
// defines per variant (scripts/vulkan/compile_shaders.py). Included first.
#extension GL_GOOGLE_include_directive : require
#ifdef USE_SUBGROUPS
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif
#if defined(WEIGHT_F16) || defined(ELEMENT16)
#extension GL_EXT_shader_16bit_storage : require
#endif
