// JPEG through libjpeg-turbo, which reports errors by longjmp.
#include "codecs.h"

#include <stdio.h>  // before jpeglib.h, which uses FILE

#include <jerror.h>
#include <jpeglib.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

struct jpeg_failure {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

static void jpeg_fail_exit(j_common_ptr cinfo) {
    struct jpeg_failure *f = (struct jpeg_failure *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, f->message);
    longjmp(f->jump, 1);
}

// A truncated file is an error (PIL refuses it too); other warnings are not.
static void jpeg_warning(j_common_ptr cinfo, int level) {
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) jpeg_fail_exit(cinfo);
}

// The EXIF orientation in an APP1 "Exif\0\0" marker, 1 without one.
static int marker_orientation(j_decompress_ptr cinfo) {
    for (jpeg_saved_marker_ptr m = cinfo->marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && m->data_length > 6 && memcmp(m->data, "Exif\0\0", 6) == 0)
            return cimg_exif_orientation(m->data + 6, m->data_length - 6);
    return 1;
}

// The largest DCT scale denominator (8, 4, 2) that keeps the shorter side at least
// `min_side`, as PIL's draft() picks it; 1 when none does.
static int draft_denominator(unsigned width, unsigned height, int min_side) {
    if (min_side <= 0) return 1;
    const unsigned shorter = width < height ? width : height;
    for (int d = 8; d > 1; d /= 2)
        if ((shorter + d - 1) / d >= (unsigned)min_side) return d;
    return 1;
}

int cimg_decode_jpeg(const unsigned char *data, size_t size, const cimg_options *o, cimg_image *out, char *err,
                     size_t err_len) {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_failure failure;
    unsigned char *volatile row = NULL;
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&failure.base);
    failure.base.error_exit = jpeg_fail_exit;
    failure.base.emit_message = jpeg_warning;
    failure.message[0] = 0;
    if (setjmp(failure.jump)) {
        free(row);
        jpeg_destroy_decompress(&cinfo);
        return cimg_fail(err, err_len, "JPEG: %s", failure.message[0] ? failure.message : "corrupt data");
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&cinfo, TRUE);
    if (cimg_check_size(cinfo.image_width, cinfo.image_height, o->max_pixels, err, err_len)) {
        jpeg_destroy_decompress(&cinfo);
        return 1;
    }
    out->orientation = marker_orientation(&cinfo);
    const int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    cinfo.scale_num = 1;
    cinfo.scale_denom = (unsigned)draft_denominator(cinfo.image_width, cinfo.image_height, o->min_shorter_side);
    out->scale_denominator = (int)cinfo.scale_denom;
    jpeg_start_decompress(&cinfo);
    const int w = (int)cinfo.output_width, h = (int)cinfo.output_height, comps = cinfo.output_components;
    row = malloc((size_t)w * comps);
    if (!row) {
        jpeg_destroy_decompress(&cinfo);
        return cimg_fail(err, err_len, "out of memory for a %dx%d image", w, h);
    }
    if (cimg_allocate(out, w, h, err, err_len)) {
        free(row);
        jpeg_destroy_decompress(&cinfo);
        return 1;
    }
    // Adobe writes CMYK inverted; libjpeg reports it through saw_Adobe_marker.
    const int inverted = cinfo.saw_Adobe_marker;
    while (cinfo.output_scanline < (JDIMENSION)h) {
        unsigned char *target = out->rgb + (size_t)cinfo.output_scanline * w * 3;
        JSAMPROW rows[1] = {cmyk ? row : target};
        jpeg_read_scanlines(&cinfo, rows, 1);
        if (!cmyk) continue;
        for (int x = 0; x < w; x++) {
            unsigned char c[4];
            for (int i = 0; i < 4; i++) c[i] = (unsigned char)(inverted ? 255 - row[x * 4 + i] : row[x * 4 + i]);
            cimg_cmyk_to_rgb(c, target + x * 3);
        }
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(row);
    return 0;
}
