// A small C layer over libpng for ImageIO.
//
// libpng reports errors by longjmp-ing out of its error callback. A longjmp
// across Swift frames is undefined behaviour (it skips releases and
// deinitialisers), so every libpng call lives in CPNGShim.c, behind a setjmp
// in a C frame, and these functions turn an error into a status code and a
// message. png.h stays out of this header so Swift sees only plain C types.
#ifndef SDGEN_CPNGSHIM_H
#define SDGEN_CPNGSHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SDGEN_PNG_OK = 0,
    /// A system call failed; `sys_errno` says why.
    SDGEN_PNG_ERR_IO = 1,
    /// libpng rejected the data or the arguments; `message` says why.
    SDGEN_PNG_ERR_LIBPNG = 2,
    SDGEN_PNG_ERR_NOMEM = 3,
    /// The data does not start with the PNG signature.
    SDGEN_PNG_ERR_NOT_PNG = 4,
    /// The data ends before the image does.
    SDGEN_PNG_ERR_TRUNCATED = 5,
} sdgen_png_status;

typedef struct {
    char message[256];
    int sys_errno;
} sdgen_png_error;

/// One text chunk to write. `value` must not contain NUL.
typedef struct {
    const char *key;   ///< 1–79 Latin-1 bytes
    const char *value; ///< Latin-1 bytes (tEXt) or UTF-8 (iTXt)
    int utf8;          ///< nonzero: write an iTXt chunk, else tEXt
} sdgen_png_text_in;

/// An encoded PNG in a heap buffer; free it with `sdgen_png_buffer_free`.
typedef struct {
    uint8_t *data;
    size_t size;
} sdgen_png_buffer;

/// Encodes an 8-bit RGB PNG (rows of `width * 3` bytes, top row first) into
/// memory, with the text chunks placed before the image data. On success
/// `out` holds the bytes; on failure it is empty and needs no freeing.
int sdgen_png_encode_rgb8(const uint8_t *pixels, uint32_t width, uint32_t height,
                          const sdgen_png_text_in *texts, size_t text_count,
                          sdgen_png_buffer *out, sdgen_png_error *error);

void sdgen_png_buffer_free(sdgen_png_buffer *buffer);

/// One text chunk read back; `key` and `value` are NUL-terminated and owned
/// by the `sdgen_png_decoded` they came in.
typedef struct {
    char *key;
    char *value;
    size_t value_length;
    int utf8; ///< nonzero: from an iTXt chunk (UTF-8), else tEXt/zTXt (Latin-1)
} sdgen_png_text_out;

typedef struct {
    uint32_t width;
    uint32_t height;
    uint8_t *pixels; ///< RGB8, `width * 3` bytes a row; NULL unless asked for
    sdgen_png_text_out *texts;
    size_t text_count;
} sdgen_png_decoded;

/// The most pixels `sdgen_png_read` decodes (8192 × 8192); larger images are refused.
#define SDGEN_PNG_MAX_PIXELS ((uint64_t)1 << 26)

/// Decodes a whole PNG held in memory: any colour type and bit depth comes
/// back as 8-bit RGB (alpha dropped, 16-bit scaled). With `want_pixels` zero
/// the image data is still decoded (that is how truncation is found, and text
/// chunks may follow the image) but not kept. On success free `out` with
/// `sdgen_png_decoded_free`; on failure nothing needs freeing.
int sdgen_png_read(const uint8_t *data, size_t size, int want_pixels,
                   sdgen_png_decoded *out, sdgen_png_error *error);

void sdgen_png_decoded_free(sdgen_png_decoded *decoded);

/// rename(2) that fails with EEXIST instead of replacing an existing target
/// (renameat2 with RENAME_NOREPLACE, declared only under _GNU_SOURCE, which
/// Swift's Glibc module does not see). Returns 0 or -1 with errno set.
int sdgen_rename_noreplace(const char *from, const char *to);

#ifdef __cplusplus
}
#endif

#endif
