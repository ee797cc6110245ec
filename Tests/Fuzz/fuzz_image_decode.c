// libFuzzer target: JPEG and PNG decoding through the project's codec module.
#include "cimagecodecs.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cimg_image image;
    char err[256];
    if (cimg_decode(data, size, 4 * 1000 * 1000, &image, err, sizeof err) == 0) cimg_free(&image);
    return 0;
}
