// HEIC and AVIF through libheif (its HEVC and AV1 decoders: libde265, dav1d or aom),
// as heif-convert decodes them: the primary image, its rotation and mirroring
// (irot, imir) applied, as 8-bit interleaved RGB. PIL reads neither without a plugin.
#include "codecs.h"

#include <libheif/heif.h>
#include <stdlib.h>
#include <string.h>

static int heif_failed(struct heif_error e, char *err, size_t err_len) {
    return cimg_fail(err, err_len, "HEIF: %s", e.message && e.message[0] ? e.message : "corrupt data");
}

int cimg_decode_heif(const unsigned char *data, size_t size, const cimg_options *o, cimg_image *out, char *err,
                     size_t err_len) {
    struct heif_context *context = heif_context_alloc();
    if (!context) return cimg_fail(err, err_len, "HEIF: out of memory");
    struct heif_image_handle *handle = NULL;
    struct heif_image *image = NULL;
    struct heif_decoding_options *decoding = NULL;
    int status = 1;
    struct heif_error e = heif_context_read_from_memory_without_copy(context, data, size, NULL);
    if (e.code != heif_error_Ok) {
        heif_failed(e, err, err_len);
        goto done;
    }
    e = heif_context_get_primary_image_handle(context, &handle);
    if (e.code != heif_error_Ok) {
        heif_failed(e, err, err_len);
        goto done;
    }
    if (cimg_check_size(heif_image_handle_get_width(handle), heif_image_handle_get_height(handle), o->max_pixels, err, err_len))
        goto done;
    decoding = heif_decoding_options_alloc();
    e = heif_decode_image(handle, &image, heif_colorspace_RGB, heif_chroma_interleaved_RGB, decoding);
    if (e.code != heif_error_Ok) {
        heif_failed(e, err, err_len);
        goto done;
    }
    const int w = heif_image_get_width(image, heif_channel_interleaved), h = heif_image_get_height(image, heif_channel_interleaved);
    int stride = 0;
    const uint8_t *plane = heif_image_get_plane_readonly(image, heif_channel_interleaved, &stride);
    if (!plane || cimg_check_size(w, h, o->max_pixels, err, err_len) || stride < w * 3) {
        if (!plane || stride < w * 3) cimg_fail(err, err_len, "HEIF: the decoder gave no RGB image");
        goto done;
    }
    if (cimg_allocate(out, w, h, err, err_len)) goto done;
    for (int y = 0; y < h; y++) memcpy(out->rgb + (size_t)y * w * 3, plane + (size_t)y * stride, (size_t)w * 3);
    status = 0;
done:
    if (decoding) heif_decoding_options_free(decoding);
    if (image) heif_image_release(image);
    if (handle) heif_image_handle_release(handle);
    heif_context_free(context);
    return status;
}
