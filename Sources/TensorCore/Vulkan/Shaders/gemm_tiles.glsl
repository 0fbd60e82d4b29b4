// Fetching one K step of a product's tiles into registers, shared by the
// portable and the cooperative-matrix kernels (so that lavapipe, which has
// no matrix units, tests the loads both kernels make). Include after
// gemm_operands.glsl, with BM, BN, BK (BK a multiple of 4) and THREADS
// defined; BM·BK and BN·BK must be multiples of 4·THREADS. SLOT_CAPACITY,
// a literal, bounds A_SLOTS and B_SLOTS: the register arrays are sized by it
// because drivers size arrays by a specialization constant's default value
// (lavapipe does), not by the value the pipeline was made with.
//
// A step is BM×BK of A and BK×BN of B, fetched as 4-element slots. Where
// the host found the operand aligned (p.vectorized) a slot is one 16-byte
// load (8 bytes for f16 weights) of 4 elements adjacent in memory: along K
// for A and for B stored [n][k] (linear layers, convolutions), along N for
// B stored [k][n]. Otherwise a slot is 4 checked scalar loads, right for
// any strides. For convolutions each thread works out its rows' image
// coordinates once per workgroup, and its im2col tap as K advances: all of a
// slot's 4 channels share it (the input channels are a multiple of 4).

const uint VECTOR_A = 1u;          // A's slots along K, 16-byte aligned
const uint VECTOR_B_ALONG_K = 2u;  // B(k, n) = b[… + n·bColumnStride + k], aligned
const uint VECTOR_B_ALONG_N = 4u;  // B(k, n) = b[… + k·bRowStride + n], aligned

const uint A_SLOTS = BM * BK / (4u * THREADS);
const uint B_SLOTS = BN * BK / (4u * THREADS);

layout(binding = 0) readonly buffer A4 { vec4 a4[]; };
#ifdef WEIGHT_F16
layout(binding = 1) readonly buffer B4 { f16vec4 b4[]; };
#else
layout(binding = 1) readonly buffer B4 { vec4 b4[]; };
#endif

vec4 slotA[SLOT_CAPACITY];
vec4 slotB[SLOT_CAPACITY];
// Per A slot, fixed for the workgroup: the row's first element (or, for a
// convolution, its image's) and, for a convolution, the input position of
// the row's top-left tap.
uint rowBase[SLOT_CAPACITY];
#ifdef CONV
int rowY[SLOT_CAPACITY], rowX[SLOT_CAPACITY];
#endif

// Slot i's place in the A tile: (row, first k), k along the slot.
uvec2 placeA(uint i) {
    uint l = gl_LocalInvocationID.x + i * THREADS;
    return uvec2(l / (BK / 4u), (l % (BK / 4u)) * 4u);
}

// Slot i's place in the B tile: (n, k); along K the slot covers k…k+3,
// along N it covers n…n+3.
uvec2 placeB(uint i, bool alongN) {
    uint l = gl_LocalInvocationID.x + i * THREADS;
    return alongN ? uvec2((l % (BN / 4u)) * 4u, l / (BN / 4u)) : uvec2(l / (BK / 4u), (l % (BK / 4u)) * 4u);
}

bool bAlongN() { return (p.vectorized & VECTOR_B_ALONG_N) != 0u; }

void prepareRows(uint batch, uint m0) {
    for (uint i = 0u; i < A_SLOTS; ++i) {
        uint m = min(m0 + placeA(i).x, p.M - 1u);
#ifdef CONV
        uint image = m / p.outPixels, pixel = m % p.outPixels;
        uint oy = pixel / p.outWidth, ox = pixel % p.outWidth;
        rowBase[i] = p.aOffset + image * p.height * p.width * p.inChannels;
        rowY[i] = int(oy * p.stride) - int(p.padTop);
        rowX[i] = int(ox * p.stride) - int(p.padLeft);
#else
        rowBase[i] = p.aOffset + batch * p.aBatchStride + m * p.aRowStride;
#endif
    }
}

#ifdef CONV
// The im2col tap of this thread's k (every slot of a thread has the same k:
// THREADS is a multiple of BK/4): input channel, kernel column and row. K
// steps come in order, so the next step's tap is found by adding, not dividing.
uint tapK = 0xFFFFFFFFu, tapChannel;
int tapX, tapY;

void seekTap(uint k) {
    if (k == tapK) return;
    if (tapK != 0xFFFFFFFFu && k > tapK && k - tapK <= p.inChannels) {
        tapChannel += k - tapK;
        if (tapChannel >= p.inChannels) {
            tapChannel -= p.inChannels;
            if (++tapX == int(p.kernel)) { tapX = 0; ++tapY; }
        }
    } else {
        uint tap = k / p.inChannels;
        tapChannel = k - tap * p.inChannels;
        tapY = int(tap / p.kernel);
        tapX = int(tap % p.kernel);
    }
    tapK = k;
}
#endif

void fetchA(uint batch, uint m0, uint k0) {
    bool vector = (p.vectorized & VECTOR_A) != 0u;
#ifdef CONV
    if (vector) seekTap(k0 + placeA(0u).y);
    uint ci = tapChannel;
    int ky = tapY, kx = tapX;
#endif
    for (uint i = 0u; i < A_SLOTS; ++i) {
        uvec2 at = placeA(i);
        uint m = m0 + at.x, kk = k0 + at.y;
        if (!vector) {
            slotA[i] = vec4(loadA(batch, m, kk), loadA(batch, m, kk + 1u), loadA(batch, m, kk + 2u),
                            loadA(batch, m, kk + 3u));
            continue;
        }
        // Aligned: K is a multiple of 4, so a slot is wholly inside or outside.
        vec4 v = vec4(0.0);
        if (m < p.M && kk < p.K) {
#ifdef CONV
            int iy = rowY[i] + ky, ix = rowX[i] + kx;
            if (iy >= 0 && ix >= 0 && iy < int(p.height) && ix < int(p.width))
                v = a4[(rowBase[i] + (uint(iy) * p.width + uint(ix)) * p.inChannels + ci) >> 2];
#else
            v = a4[(rowBase[i] + kk) >> 2];
#endif
        }
        slotA[i] = v;
    }
}

void fetchB(uint batch, uint n0, uint k0) {
    uint base = p.bOffset + batch * p.bBatchStride;
    bool alongN = bAlongN();
    bool vector = (p.vectorized & (VECTOR_B_ALONG_K | VECTOR_B_ALONG_N)) != 0u;
    for (uint i = 0u; i < B_SLOTS; ++i) {
        uvec2 at = placeB(i, alongN);
        uint n = n0 + at.x, k = k0 + at.y;
        if (!vector) {
            slotB[i] = vec4(loadB(batch, k, n), loadB(batch, k + 1u, n), loadB(batch, k + 2u, n),
                            loadB(batch, k + 3u, n));
        } else if (alongN) {
            // A gated product's columns move in blocks of 16, so the slot's 4 stay adjacent.
            slotB[i] = n < p.N && k < p.K ? vec4(b4[(base + k * p.bRowStride + bColumn(n)) >> 2]) : vec4(0.0);
        } else {
            slotB[i] = n < p.N && k < p.K ? vec4(b4[(base + bColumn(n) * p.bColumnStride + k) >> 2]) : vec4(0.0);
        }
    }
}
