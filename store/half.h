/* IEEE 754 half precision (binary16) <-> float32, for stores that keep
 * float16 on disk and float32 in memory.
 *
 * float -> half rounds to nearest, ties to even; values too small for the
 * smallest subnormal round to a signed zero, values at or above 65520 become
 * infinity, NaN stays NaN (quiet, sign and the top mantissa bits kept).
 * half -> float is exact. The portable code and the F16C instructions give
 * the same bits for every input; the array functions use F16C when the CPU
 * has it. */
#ifndef CBD_HALF_H
#define CBD_HALF_H

#include <stddef.h>
#include <stdint.h>

/* One value, portable code. */
uint16_t cbd_half_from_float(float f);
float cbd_half_to_float(uint16_t h);

/* Arrays, F16C when available, the portable code otherwise. */
void cbd_half_encode(const float *in, uint16_t *out, size_t n);
void cbd_half_decode(const uint16_t *in, float *out, size_t n);

/* 1 when the CPU (and the OS) support F16C, which the functions above use. */
int cbd_half_has_f16c(void);

/* Both implementations, so that tests can compare them. The _f16c versions
 * fall back to the portable code when cbd_half_has_f16c() is 0. */
void cbd_half_encode_portable(const float *in, uint16_t *out, size_t n);
void cbd_half_decode_portable(const uint16_t *in, float *out, size_t n);
void cbd_half_encode_f16c(const float *in, uint16_t *out, size_t n);
void cbd_half_decode_f16c(const uint16_t *in, float *out, size_t n);

#endif
