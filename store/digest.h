/* 64-bit FNV-1a: a stable, dependency-free digest for configuration text and
 * other small identifiers (not a cryptographic hash). */
#ifndef CBD_DIGEST_H
#define CBD_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define CBD_FNV1A64_INIT UINT64_C(0xcbf29ce484222325)

/* Continues digest h over len bytes; start from CBD_FNV1A64_INIT. */
uint64_t cbd_fnv1a64_update(uint64_t h, const void *data, size_t len);
/* Digest of len bytes. */
uint64_t cbd_fnv1a64(const void *data, size_t len);
/* Digest of a NUL-terminated string (the terminator is not included). */
uint64_t cbd_fnv1a64_str(const char *s);

/* Formats a digest as 16 lowercase hex digits into out (at least 17 bytes). */
void cbd_digest_hex(uint64_t digest, char out[17]);

#endif
