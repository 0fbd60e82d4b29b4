// libpng behind setjmp, so its longjmp never crosses a Swift frame.
//
// Rule kept throughout: a local modified after setjmp is indeterminate after
// the longjmp back, so everything the error path frees is reached through
// pointers that were set before setjmp (the context structs and `out`).
#define _GNU_SOURCE
#include "CPNGShim.h"

#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void set_message(sdgen_png_error *error, const char *message) {
    if (error == NULL) return;
    snprintf(error->message, sizeof error->message, "%s", message ? message : "unknown libpng error");
}

// ---------------------------------------------------------------- errors

typedef struct {
    sdgen_png_error *error;
} error_context;

static void on_error(png_structp png, png_const_charp message) {
    error_context *context = (error_context *)png_get_error_ptr(png);
    set_message(context->error, message);
    png_longjmp(png, 1);
}

// Warnings (an odd ancillary chunk, a known-bad sRGB profile) do not stop a
// read or a write; libpng's default would print them on stderr, which the
// command line keeps for its own messages.
static void on_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

// ---------------------------------------------------------------- writing

// The encoder writes into a growing heap buffer: the same bytes go to a file
// (written by the caller, atomically) or stay in memory (a server's reply).
typedef struct {
    uint8_t *data;
    size_t size;
    size_t capacity;
} memory_sink;

static void on_write(png_structp png, png_bytep data, size_t length) {
    memory_sink *sink = (memory_sink *)png_get_io_ptr(png);
    if (length > SIZE_MAX - sink->size) png_error(png, "image too large");
    if (sink->size + length > sink->capacity) {
        size_t capacity = sink->capacity > 0 ? sink->capacity : 1 << 16;
        while (capacity < sink->size + length) {
            if (capacity > SIZE_MAX / 2) png_error(png, "image too large");
            capacity *= 2;
        }
        uint8_t *grown = (uint8_t *)realloc(sink->data, capacity);
        if (grown == NULL) png_error(png, "out of memory");
        sink->data = grown;
        sink->capacity = capacity;
    }
    memcpy(sink->data + sink->size, data, length);
    sink->size += length;
}

static void on_flush(png_structp png) { (void)png; }

int sdgen_png_encode_rgb8(const uint8_t *pixels, uint32_t width, uint32_t height,
                          const sdgen_png_text_in *texts, size_t text_count,
                          sdgen_png_buffer *out, sdgen_png_error *error) {
    if (error != NULL) memset(error, 0, sizeof *error);
    if (out == NULL) return SDGEN_PNG_ERR_LIBPNG;
    out->data = NULL;
    out->size = 0;
    if (pixels == NULL || width == 0 || height == 0) {
        set_message(error, "image has no pixels");
        return SDGEN_PNG_ERR_LIBPNG;
    }
    if (text_count > (size_t)INT32_MAX) {
        set_message(error, "too many text chunks");
        return SDGEN_PNG_ERR_LIBPNG;
    }

    // Allocated before setjmp so the error path can free them.
    memory_sink *sink = (memory_sink *)calloc(1, sizeof *sink);
    png_text *text_structs = text_count > 0 ? (png_text *)calloc(text_count, sizeof(png_text)) : NULL;
    if (sink == NULL || (text_count > 0 && text_structs == NULL)) {
        free(sink);
        free(text_structs);
        return SDGEN_PNG_ERR_NOMEM;
    }
    for (size_t i = 0; i < text_count; i++) {
        text_structs[i].compression = texts[i].utf8 ? PNG_ITXT_COMPRESSION_NONE : PNG_TEXT_COMPRESSION_NONE;
        text_structs[i].key = (png_charp)texts[i].key;
        text_structs[i].text = (png_charp)texts[i].value;
        text_structs[i].text_length = strlen(texts[i].value);
        text_structs[i].lang = NULL;
        text_structs[i].lang_key = NULL;
    }

    error_context errors = {error};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &errors, on_error, on_warning);
    if (png == NULL) {
        free(sink);
        free(text_structs);
        return SDGEN_PNG_ERR_NOMEM;
    }
    png_infop info = png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_write_struct(&png, NULL);
        free(sink);
        free(text_structs);
        return SDGEN_PNG_ERR_NOMEM;
    }

    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(sink->data);
        free(sink);
        free(text_structs);
        return SDGEN_PNG_ERR_LIBPNG;
    }

    png_set_write_fn(png, sink, on_write, on_flush);
    png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (text_count > 0) png_set_text(png, info, text_structs, (int)text_count);
    png_write_info(png, info);
    size_t stride = (size_t)width * 3;
    for (uint32_t y = 0; y < height; y++) {
        png_write_row(png, (png_const_bytep)(pixels + (size_t)y * stride));
    }
    png_write_end(png, info);

    png_destroy_write_struct(&png, &info);
    out->data = sink->data;
    out->size = sink->size;
    free(sink);
    free(text_structs);
    return SDGEN_PNG_OK;
}

void sdgen_png_buffer_free(sdgen_png_buffer *buffer) {
    if (buffer == NULL) return;
    free(buffer->data);
    buffer->data = NULL;
    buffer->size = 0;
}

// ---------------------------------------------------------------- reading

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t position;
    int truncated;
    uint8_t *scratch_row;  // when the caller does not keep the pixels
} read_context;

static void on_read(png_structp png, png_bytep destination, size_t length) {
    read_context *context = (read_context *)png_get_io_ptr(png);
    if (length > context->size - context->position) {
        context->truncated = 1;
        png_error(png, "unexpected end of file");
    }
    memcpy(destination, context->data + context->position, length);
    context->position += length;
}

void sdgen_png_decoded_free(sdgen_png_decoded *decoded) {
    if (decoded == NULL) return;
    free(decoded->pixels);
    for (size_t i = 0; i < decoded->text_count; i++) {
        free(decoded->texts[i].key);
        free(decoded->texts[i].value);
    }
    free(decoded->texts);
    memset(decoded, 0, sizeof *decoded);
}

// Copies the text chunks out of libpng's structs; runs after the last libpng
// call that can fail, so it reports failure by return value.
static int copy_texts(png_structp png, png_infop info, sdgen_png_decoded *out) {
    png_textp texts = NULL;
    int count = 0;
    png_get_text(png, info, &texts, &count);
    if (count <= 0 || texts == NULL) return SDGEN_PNG_OK;
    out->texts = (sdgen_png_text_out *)calloc((size_t)count, sizeof(sdgen_png_text_out));
    if (out->texts == NULL) return SDGEN_PNG_ERR_NOMEM;
    for (int i = 0; i < count; i++) {
        sdgen_png_text_out *text = &out->texts[i];
        out->text_count = (size_t)i + 1;
        int utf8 = texts[i].compression == PNG_ITXT_COMPRESSION_NONE ||
                   texts[i].compression == PNG_ITXT_COMPRESSION_zTXt;
        size_t length = utf8 ? texts[i].itxt_length : texts[i].text_length;
        const char *value = texts[i].text != NULL ? texts[i].text : "";
        if (texts[i].text == NULL) length = 0;
        text->key = strdup(texts[i].key != NULL ? texts[i].key : "");
        text->value = (char *)malloc(length + 1);
        if (text->key == NULL || text->value == NULL) return SDGEN_PNG_ERR_NOMEM;
        memcpy(text->value, value, length);
        text->value[length] = '\0';
        text->value_length = length;
        text->utf8 = utf8;
    }
    return SDGEN_PNG_OK;
}

// Walks the chunks up to IEND: each must fit in the data. libpng allocates
// an ancillary chunk's declared length before reading it, so a 2 GB length
// in a 1 KB file would otherwise cost 2 GB before the read finds the end.
static int check_chunk_lengths(const uint8_t *data, size_t size) {
    size_t at = 8;
    while (size - at >= 8) {
        uint32_t length = ((uint32_t)data[at] << 24) | ((uint32_t)data[at + 1] << 16) |
                          ((uint32_t)data[at + 2] << 8) | data[at + 3];
        if (length > 0x7FFFFFFFu) return SDGEN_PNG_ERR_LIBPNG;
        if ((size_t)length + 12 > size - at) return SDGEN_PNG_ERR_TRUNCATED;
        if (memcmp(data + at + 4, "IEND", 4) == 0) break;
        at += (size_t)length + 12;
    }
    return SDGEN_PNG_OK;
}

int sdgen_png_read(const uint8_t *data, size_t size, int want_pixels,
                   sdgen_png_decoded *out, sdgen_png_error *error) {
    if (error != NULL) memset(error, 0, sizeof *error);
    memset(out, 0, sizeof *out);

    // Checked before libpng sees the data: libpng's own message for a wrong
    // signature ("Not a PNG file") is fine, but a file cut inside the
    // signature should read as truncated, not as a different format.
    size_t signature_bytes = size < 8 ? size : 8;
    if (signature_bytes == 0) return SDGEN_PNG_ERR_NOT_PNG;
    if (png_sig_cmp((png_const_bytep)data, 0, signature_bytes) != 0) return SDGEN_PNG_ERR_NOT_PNG;
    if (signature_bytes < 8) return SDGEN_PNG_ERR_TRUNCATED;
    int structure = check_chunk_lengths(data, size);
    if (structure != SDGEN_PNG_OK) return structure;

    read_context *io = (read_context *)calloc(1, sizeof *io);
    if (io == NULL) return SDGEN_PNG_ERR_NOMEM;
    io->data = data;
    io->size = size;

    error_context errors = {error};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &errors, on_error, on_warning);
    if (png == NULL) {
        free(io);
        return SDGEN_PNG_ERR_NOMEM;
    }
    png_infop info = png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_read_struct(&png, NULL, NULL);
        free(io);
        return SDGEN_PNG_ERR_NOMEM;
    }

    if (setjmp(png_jmpbuf(png))) {
        int status = io->truncated ? SDGEN_PNG_ERR_TRUNCATED : SDGEN_PNG_ERR_LIBPNG;
        png_destroy_read_struct(&png, &info, NULL);
        free(io->scratch_row);
        free(io);
        sdgen_png_decoded_free(out);
        return status;
    }

    png_set_read_fn(png, io, on_read);
    // A hostile file may declare a chunk of gigabytes (libpng allocates an
    // ancillary chunk's declared length before reading it) or thousands of
    // chunks (text chunks sdgen reads are a few KB; sizes are capped below).
    png_set_chunk_malloc_max(png, 8u << 20);
    png_set_chunk_cache_max(png, 1000);
    png_read_info(png, info);

    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0;
    png_get_IHDR(png, info, &width, &height, &bit_depth, &color_type, NULL, NULL, NULL);

    // Everything becomes 8-bit RGB: the only pixel format ImageIO keeps.
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (bit_depth == 16) {
#ifdef PNG_READ_SCALE_16_TO_8_SUPPORTED
        png_set_scale_16(png);  // rounds, where strip_16 truncates
#else
        png_set_strip_16(png);
#endif
    }
    if (color_type & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(png);
    if (color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);

    size_t stride = (size_t)width * 3;
    if (png_get_rowbytes(png, info) != stride) png_error(png, "unsupported pixel format");
    if (height != 0 && stride > SIZE_MAX / height) png_error(png, "image too large");
    // A header may claim any size; no image sdgen reads needs more pixels
    // than this, and a hostile file must not make it allocate gigabytes.
    if ((uint64_t)width * height > SDGEN_PNG_MAX_PIXELS) png_error(png, "image too large (over 8192x8192 pixels)");

    if (want_pixels) {
        out->pixels = (uint8_t *)malloc(stride * height);
        if (out->pixels == NULL) png_error(png, "out of memory for the pixels");
    } else {
        io->scratch_row = (uint8_t *)malloc(stride);
        if (io->scratch_row == NULL) png_error(png, "out of memory for a row");
    }
    // Row by row, pass by pass: png_read_row combines interlaced passes into
    // the row it is given, so no array of row pointers is needed.
    for (int pass = 0; pass < passes; pass++) {
        for (png_uint_32 y = 0; y < height; y++) {
            uint8_t *row = want_pixels ? out->pixels + (size_t)y * stride : io->scratch_row;
            png_read_row(png, row, NULL);
        }
    }
    png_read_end(png, info);

    out->width = width;
    out->height = height;
    int status = copy_texts(png, info, out);
    png_destroy_read_struct(&png, &info, NULL);
    free(io->scratch_row);
    free(io);
    if (status != SDGEN_PNG_OK) sdgen_png_decoded_free(out);
    return status;
}

// ---------------------------------------------------------------- files

int sdgen_rename_noreplace(const char *from, const char *to) {
    return renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
}
