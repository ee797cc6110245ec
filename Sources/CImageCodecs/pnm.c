// PBM, PGM and PPM (P1–P6), decoded here as PIL's PpmImagePlugin does: samples of a
// maxval other than 255 rescaled by round(v / maxval · 255) (ties to even, as Python's
// round), and PGM above 255 read as PIL's 32-bit mode I, which convert('RGB') clips
// (or, when asked, every sample above 255 scaled as round(v · 255 / maxval)).
#include "codecs.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct reader {
    const unsigned char *d;
    size_t size, at;
};

static int is_space(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// The next header number: whitespace and # comments skipped. -1 at the end or on junk.
static long long header_number(struct reader *r) {
    for (;;) {
        if (r->at >= r->size) return -1;
        const int c = r->d[r->at];
        if (is_space(c)) {
            r->at++;
        } else if (c == '#') {
            while (r->at < r->size && r->d[r->at] != '\n' && r->d[r->at] != '\r') r->at++;
        } else {
            break;
        }
    }
    long long v = 0;
    int digits = 0;
    while (r->at < r->size && r->d[r->at] >= '0' && r->d[r->at] <= '9' && digits < 10) v = v * 10 + (r->d[r->at++] - '0'), digits++;
    if (!digits || (r->at < r->size && !is_space(r->d[r->at]) && r->d[r->at] != '#')) return -1;
    return v;
}

// A plain-format (P1–P3) sample, or -1. P1 packs its digits without separators.
static long long plain_sample(struct reader *r, int bit) {
    while (r->at < r->size && (is_space(r->d[r->at]) || r->d[r->at] == '#')) {
        if (r->d[r->at] == '#')
            while (r->at < r->size && r->d[r->at] != '\n' && r->d[r->at] != '\r') r->at++;
        else
            r->at++;
    }
    if (r->at >= r->size) return -1;
    if (bit) return r->d[r->at] == '0' || r->d[r->at] == '1' ? r->d[r->at++] - '0' : -1;
    long long v = 0;
    int digits = 0;
    while (r->at < r->size && r->d[r->at] >= '0' && r->d[r->at] <= '9' && digits < 6) v = v * 10 + (r->d[r->at++] - '0'), digits++;
    return digits ? v : -1;
}

int cimg_decode_pnm(const unsigned char *d, size_t size, const cimg_options *o, cimg_image *out, char *err,
                    size_t err_len) {
    struct reader r = {d, size, 2};
    const int kind = d[1] - '0', bitmap = kind == 1 || kind == 4, plain = kind <= 3;
    const int channels = kind == 3 || kind == 6 ? 3 : 1;
    const long long w = header_number(&r), h = header_number(&r);
    if (w < 0 || h < 0) return cimg_fail(err, err_len, "PNM: malformed header");
    long long maxval = 1;
    if (!bitmap) {
        maxval = header_number(&r);
        if (maxval <= 0 || maxval > 65535) return cimg_fail(err, err_len, "PNM: maxval must be from 1 to 65535");
    }
    if (cimg_check_size(w, h, o->max_pixels, err, err_len)) return 1;
    r.at++;  // the single whitespace before raw samples
    const int width = (int)w, height = (int)h;
    const size_t samples = (size_t)width * height * channels;
    if (!plain) {
        const size_t bytes = bitmap ? (size_t)(width + 7) / 8 * height : samples * (maxval > 255 ? 2 : 1);
        if (r.at > size || size - r.at < bytes) return cimg_fail(err, err_len, "PNM: truncated pixel data");
    }
    if (cimg_allocate(out, width, height, err, err_len)) return 1;
    // A grey file above 255 is PIL's mode I, whose samples reach 65535; others reach 255.
    const int wide_grey = channels == 1 && maxval > 255;
    const double top = wide_grey ? 65535 : 255;
    for (size_t i = 0; i < samples; i++) {
        long long v;
        if (bitmap) {
            const size_t x = i % (size_t)width, y = i / (size_t)width;
            v = plain ? plain_sample(&r, 1) : d[r.at + y * ((size_t)(width + 7) / 8) + x / 8] >> (7 - x % 8) & 1;
            if (v < 0) return cimg_fail(err, err_len, "PNM: truncated or malformed pixel data");
            v = v ? 0 : 255;  // 1 is black
        } else {
            v = plain ? plain_sample(&r, 0)
                      : maxval > 255 ? (long long)d[r.at + 2 * i] << 8 | d[r.at + 2 * i + 1] : d[r.at + i];
            if (v < 0 || v > maxval) return cimg_fail(err, err_len, "PNM: truncated or malformed pixel data");
            if (o->scale_16bit && maxval > 255) {
                v = (v * 255 + maxval / 2) / maxval;
            } else {
                if (maxval != (wide_grey ? 65535 : 255)) v = (long long)nearbyint((double)v / (double)maxval * top);
                if (v > top) v = (long long)top;
                if (wide_grey) v = v > 255 ? 255 : v;  // convert('RGB') from mode I clips
            }
        }
        const unsigned char value = (unsigned char)v;
        if (channels == 3)
            out->rgb[i] = value;
        else
            memset(out->rgb + i * 3, value, 3);
    }
    return 0;
}
