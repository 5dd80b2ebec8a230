#include "store/digest.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define CBD_FNV1A64_PRIME UINT64_C(0x100000001b3)

uint64_t cbd_fnv1a64_update(uint64_t h, const void *data, size_t len) {
    const unsigned char *b = data;
    for (size_t i = 0; i < len; i++) {
        h ^= b[i];
        h *= CBD_FNV1A64_PRIME;
    }
    return h;
}

uint64_t cbd_fnv1a64(const void *data, size_t len) {
    return cbd_fnv1a64_update(CBD_FNV1A64_INIT, data, len);
}

uint64_t cbd_fnv1a64_str(const char *s) { return cbd_fnv1a64(s, strlen(s)); }

void cbd_digest_hex(uint64_t digest, char out[17]) {
    snprintf(out, 17, "%016" PRIx64, digest);
}
