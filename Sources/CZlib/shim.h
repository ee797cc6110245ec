// zlib (Debian's zlib1g-dev): gzip-compressed data sets are read through gzread,
// which also reads uncompressed files unchanged.
#include <zlib.h>
