// Weight element type: f16 where the device has 16-bit storage (the
// WEIGHT_F16 variants), else f32. Arithmetic is always f32.
#ifdef WEIGHT_F16
#define WTYPE float16_t
#else
#define WTYPE float
#endif
