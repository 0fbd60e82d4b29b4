#include "CJPEGShim.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

typedef struct {
    struct jpeg_error_mgr manager;
    jmp_buf jump;
    char *message;
    int truncated;
} error_state;

static void on_error(j_common_ptr info) {
    error_state *state = (error_state *)info->err;
    (*info->err->format_message)(info, state->message);
    longjmp(state->jump, 1);
}

// A warning about premature end of data means the file was cut short: treat
// it as an error (a half-grey image is not what the user gave).
static void on_message(j_common_ptr info, int level) {
    error_state *state = (error_state *)info->err;
    if (level < 0 && info->err->msg_code == JWRN_JPEG_EOF) {
        state->truncated = 1;
        strcpy(state->message, "the file ends before the image does");
        longjmp(state->jump, 1);
    }
}

sdgen_jpeg_status sdgen_jpeg_read(const uint8_t *data, size_t size, sdgen_jpeg_image *image, char *message) {
    memset(image, 0, sizeof *image);
    message[0] = 0;
    if (size < 3 || data[0] != 0xFF || data[1] != 0xD8 || data[2] != 0xFF) return SDGEN_JPEG_ERR_NOT_JPEG;

    struct jpeg_decompress_struct info;
    error_state state;
    memset(&state, 0, sizeof state);
    state.message = message;
    info.err = jpeg_std_error(&state.manager);
    state.manager.error_exit = on_error;
    state.manager.emit_message = on_message;
    // Volatile: read after a longjmp.
    uint8_t *volatile pixels = NULL;

    if (setjmp(state.jump)) {
        jpeg_destroy_decompress(&info);
        free(pixels);
        return state.truncated ? SDGEN_JPEG_ERR_TRUNCATED : SDGEN_JPEG_ERR_CORRUPT;
    }
    jpeg_create_decompress(&info);
    jpeg_mem_src(&info, data, (unsigned long)size);
    jpeg_read_header(&info, TRUE);
    if (info.jpeg_color_space == JCS_CMYK || info.jpeg_color_space == JCS_YCCK) {
        jpeg_destroy_decompress(&info);
        strcpy(message, "CMYK JPEGs are not read; save it as RGB");
        return SDGEN_JPEG_ERR_UNSUPPORTED;
    }
    if ((uint64_t)info.image_width * info.image_height > SDGEN_JPEG_MAX_PIXELS) {
        jpeg_destroy_decompress(&info);
        strcpy(message, "image too large (over 8192x8192 pixels)");
        return SDGEN_JPEG_ERR_UNSUPPORTED;
    }
    info.out_color_space = JCS_RGB;
    jpeg_start_decompress(&info);
    size_t row = (size_t)info.output_width * 3;
    pixels = malloc(row * info.output_height);
    if (!pixels) {
        jpeg_destroy_decompress(&info);
        return SDGEN_JPEG_ERR_NOMEM;
    }
    while (info.output_scanline < info.output_height) {
        JSAMPROW line = pixels + row * info.output_scanline;
        jpeg_read_scanlines(&info, &line, 1);
    }
    jpeg_finish_decompress(&info);
    image->width = info.output_width;
    image->height = info.output_height;
    image->pixels = pixels;
    jpeg_destroy_decompress(&info);
    return SDGEN_JPEG_OK;
}

void sdgen_jpeg_free(sdgen_jpeg_image *image) {
    free(image->pixels);
    image->pixels = NULL;
}
