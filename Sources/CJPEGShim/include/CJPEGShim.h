// A small C layer over libjpeg(-turbo) for ImageIO's JPEG input.
//
// libjpeg reports errors through error_exit, which must not return: here it
// longjmps back to a setjmp in sdgen_jpeg_read, a C frame, so no jump ever
// crosses Swift frames. jpeglib.h stays out of this header.
#ifndef SDGEN_CJPEGSHIM_H
#define SDGEN_CJPEGSHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SDGEN_JPEG_OK = 0,
    /// libjpeg rejected the data; `message` says why.
    SDGEN_JPEG_ERR_CORRUPT = 1,
    SDGEN_JPEG_ERR_NOMEM = 2,
    /// The data does not start with a JPEG SOI marker.
    SDGEN_JPEG_ERR_NOT_JPEG = 3,
    /// The data ends before the image does.
    SDGEN_JPEG_ERR_TRUNCATED = 4,
    /// Larger than SDGEN_JPEG_MAX_PIXELS.
    SDGEN_JPEG_ERR_UNSUPPORTED = 5,
} sdgen_jpeg_status;

/// The most pixels `sdgen_jpeg_read` decodes (8192 × 8192), as for PNG.
#define SDGEN_JPEG_MAX_PIXELS (8192ull * 8192ull)

typedef struct {
    uint32_t width;
    uint32_t height;
    /// width × height × 3 bytes, RGB, rows top to bottom; free with sdgen_jpeg_free.
    uint8_t *pixels;
} sdgen_jpeg_image;

/// Decodes a baseline or progressive JPEG (grey, YCbCr, CMYK or YCCK) to 8-bit
/// RGB with libjpeg's defaults (islow DCT, fancy upsampling), as Pillow decodes
/// it and converts it to RGB.
/// On failure `message` (256 bytes) holds libjpeg's words.
sdgen_jpeg_status sdgen_jpeg_read(const uint8_t *data, size_t size, sdgen_jpeg_image *image, char *message);

void sdgen_jpeg_free(sdgen_jpeg_image *image);

#ifdef __cplusplus
}
#endif

#endif
