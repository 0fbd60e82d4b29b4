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

// A CMYK row to RGB as Pillow converts it (what diffusers sees after
// `convert("RGB")`): the stored values taken in Adobe's inverted convention,
// as Pillow reads every 4-channel JPEG, then R = (255 − K) − C·(255 − K)/255,
// the product rounded as Pillow's MULDIV255 rounds it.
static void cmyk_to_rgb(const uint8_t *cmyk, uint8_t *rgb, uint32_t width) {
    for (uint32_t x = 0; x < width; x++) {
        const int remaining = cmyk[4 * x + 3];   // 255 − K, K = 255 − stored
        for (int c = 0; c < 3; c++) {
            const int ink = 255 - cmyk[4 * x + c];
            const int t = ink * remaining + 128;
            const int value = remaining - (((t >> 8) + t) >> 8);
            rgb[3 * x + c] = (uint8_t)(value < 0 ? 0 : value > 255 ? 255 : value);
        }
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
    const int cmyk = info.jpeg_color_space == JCS_CMYK || info.jpeg_color_space == JCS_YCCK;
    if ((uint64_t)info.image_width * info.image_height > SDGEN_JPEG_MAX_PIXELS) {
        jpeg_destroy_decompress(&info);
        strcpy(message, "image too large (over 8192x8192 pixels)");
        return SDGEN_JPEG_ERR_UNSUPPORTED;
    }
    // libjpeg has no CMYK → RGB conversion: CMYK (and YCCK, which it turns
    // into CMYK) comes out as 4 channels per pixel, converted per row below.
    info.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(&info);
    size_t row = (size_t)info.output_width * 3;
    pixels = malloc(row * info.output_height + (cmyk ? (size_t)info.output_width * 4 : 0));
    if (!pixels) {
        jpeg_destroy_decompress(&info);
        return SDGEN_JPEG_ERR_NOMEM;
    }
    uint8_t *four = pixels + row * info.output_height;   // one CMYK row, past the RGB image
    while (info.output_scanline < info.output_height) {
        uint8_t *line = pixels + row * info.output_scanline;
        JSAMPROW target = cmyk ? four : line;
        jpeg_read_scanlines(&info, &target, 1);
        if (cmyk) cmyk_to_rgb(four, line, info.output_width);
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
