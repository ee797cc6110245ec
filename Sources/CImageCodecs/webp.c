// WebP through libwebp's animation decoder, as PIL reads every WebP file: the first
// frame, composited on the canvas, as RGBA; PIL's convert('RGB') then drops the alpha.
#include "codecs.h"

#include <stdlib.h>
#include <string.h>
#include <webp/decode.h>
#include <webp/demux.h>

int cimg_decode_webp(const unsigned char *data, size_t size, const cimg_options *o, cimg_image *out, char *err,
                     size_t err_len) {
    WebPBitstreamFeatures features;
    const VP8StatusCode status = WebPGetFeatures(data, size, &features);
    if (status == VP8_STATUS_NOT_ENOUGH_DATA) return cimg_fail(err, err_len, "WebP: unexpected end of data (truncated?)");
    if (status != VP8_STATUS_OK) return cimg_fail(err, err_len, "WebP: corrupt data (status %d)", (int)status);
    if (cimg_check_size(features.width, features.height, o->max_pixels, err, err_len)) return 1;
    const WebPData webp = {data, size};
    WebPAnimDecoder *decoder = WebPAnimDecoderNew(&webp, NULL);
    if (!decoder) return cimg_fail(err, err_len, "WebP: corrupt data");
    WebPAnimInfo info;
    uint8_t *frame = NULL;
    int timestamp = 0;
    if (!WebPAnimDecoderGetInfo(decoder, &info)) {
        WebPAnimDecoderDelete(decoder);
        return cimg_fail(err, err_len, "WebP: corrupt data");
    }
    if (cimg_check_size(info.canvas_width, info.canvas_height, o->max_pixels, err, err_len)) {
        WebPAnimDecoderDelete(decoder);
        return 1;
    }
    if (!WebPAnimDecoderGetNext(decoder, &frame, &timestamp)) {
        WebPAnimDecoderDelete(decoder);
        return cimg_fail(err, err_len, "WebP: cannot decode the first frame (truncated or corrupt)");
    }
    if (cimg_allocate(out, (int)info.canvas_width, (int)info.canvas_height, err, err_len)) {
        WebPAnimDecoderDelete(decoder);
        return 1;
    }
    const size_t pixels = (size_t)info.canvas_width * info.canvas_height;
    for (size_t i = 0; i < pixels; i++) memcpy(out->rgb + i * 3, frame + i * 4, 3);
    const WebPDemuxer *demux = WebPAnimDecoderGetDemuxer(decoder);
    WebPChunkIterator chunk;
    if (WebPDemuxGetChunk(demux, "EXIF", 1, &chunk)) {
        const unsigned char *exif = chunk.chunk.bytes;
        size_t exif_size = chunk.chunk.size;
        // Some writers keep JPEG's "Exif\0\0" prefix in the chunk.
        if (exif_size > 6 && memcmp(exif, "Exif\0\0", 6) == 0) exif += 6, exif_size -= 6;
        out->orientation = cimg_exif_orientation(exif, exif_size);
        WebPDemuxReleaseChunkIterator(&chunk);
    }
    WebPAnimDecoderDelete(decoder);
    return 0;
}
