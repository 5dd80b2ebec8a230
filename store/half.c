#include "store/half.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define CBD_HALF_X86 1
#include <cpuid.h>
#include <immintrin.h>
#endif

static uint32_t float_bits(float f) {
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    return x;
}

static float bits_float(uint32_t x) {
    float f;
    memcpy(&f, &x, sizeof f);
    return f;
}

/* ---- portable ---------------------------------------------------------------- */

uint16_t cbd_half_from_float(float f) {
    const uint32_t x = float_bits(f);
    const uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    const uint32_t a = x & 0x7fffffffu;
    if (a >= 0x7f800000u) /* infinity, or NaN made quiet with its top mantissa bits */
        return a == 0x7f800000u ? (uint16_t)(sign | 0x7c00u)
                                : (uint16_t)(sign | 0x7e00u | ((a >> 13) & 0x3ffu));
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* rounds to 65536 or more */
    if (a < 0x38800000u) {
        /* Below 2^-14: a half subnormal, counted in units of 2^-24. */
        const uint32_t e = a >> 23;
        const uint32_t shift = 126u - e; /* >= 14 */
        if (e == 0 || shift > 24) return sign;
        const uint32_t m = (a & 0x7fffffu) | 0x800000u;
        uint32_t q = m >> shift;
        const uint32_t rest = m & ((1u << shift) - 1u), halfway = 1u << (shift - 1u);
        if (rest > halfway || (rest == halfway && (q & 1u))) q++; /* may carry into 2^-14 */
        return (uint16_t)(sign | q);
    }
    /* Normal: rebias the exponent, keep 10 mantissa bits, round the other 13;
     * a carry out of the mantissa moves into the exponent as it should. */
    uint32_t h = (a - 0x38000000u) >> 13;
    const uint32_t rest = a & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) h++;
    return (uint16_t)(sign | h);
}

float cbd_half_to_float(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0x1fu) /* infinity, or NaN (made quiet, as F16C does) */
        return bits_float(sign | 0x7f800000u | (m << 13) | (m ? 0x400000u : 0u));
    if (e == 0) {
        if (m == 0) return bits_float(sign);
        e = 113; /* subnormal: normalise */
        while (!(m & 0x400u)) {
            m <<= 1;
            e--;
        }
        return bits_float(sign | (e << 23) | ((m & 0x3ffu) << 13));
    }
    return bits_float(sign | ((e + 112u) << 23) | (m << 13));
}

void cbd_half_encode_portable(const float *in, uint16_t *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = cbd_half_from_float(in[i]);
}

void cbd_half_decode_portable(const uint16_t *in, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = cbd_half_to_float(in[i]);
}

/* ---- F16C -------------------------------------------------------------------- */

#ifdef CBD_HALF_X86

__attribute__((target("avx,f16c"))) static void encode_f16c(const float *in, uint16_t *out, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT);
        _mm_storeu_si128((__m128i *)(void *)(out + i), h);
    }
    if (i < n) {
        float tail_in[8] = {0};
        uint16_t tail_out[8];
        memcpy(tail_in, in + i, (n - i) * sizeof *in);
        __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(tail_in), _MM_FROUND_TO_NEAREST_INT);
        _mm_storeu_si128((__m128i *)(void *)tail_out, h);
        memcpy(out + i, tail_out, (n - i) * sizeof *out);
    }
}

__attribute__((target("avx,f16c"))) static void decode_f16c(const uint16_t *in, float *out, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm_loadu_si128((const __m128i *)(const void *)(in + i));
        _mm256_storeu_ps(out + i, _mm256_cvtph_ps(h));
    }
    if (i < n) {
        uint16_t tail_in[8] = {0};
        float tail_out[8];
        memcpy(tail_in, in + i, (n - i) * sizeof *in);
        __m128i h = _mm_loadu_si128((const __m128i *)(const void *)tail_in);
        _mm256_storeu_ps(tail_out, _mm256_cvtph_ps(h));
        memcpy(out + i, tail_out, (n - i) * sizeof *out);
    }
}

/* F16C needs AVX's register state, which "avx" also checks the OS saves. */
static int cpu_has_f16c(void) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx")) return 0;
#if defined(__clang__)
    unsigned a, b, c, d; /* clang's builtin does not know "f16c" */
    return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
#else
    return __builtin_cpu_supports("f16c");
#endif
}

int cbd_half_has_f16c(void) {
    static int known = -1;
    int k = __atomic_load_n(&known, __ATOMIC_RELAXED);
    if (k < 0) {
        k = cpu_has_f16c() ? 1 : 0;
        __atomic_store_n(&known, k, __ATOMIC_RELAXED);
    }
    return k;
}

void cbd_half_encode_f16c(const float *in, uint16_t *out, size_t n) {
    if (cbd_half_has_f16c()) encode_f16c(in, out, n);
    else cbd_half_encode_portable(in, out, n);
}

void cbd_half_decode_f16c(const uint16_t *in, float *out, size_t n) {
    if (cbd_half_has_f16c()) decode_f16c(in, out, n);
    else cbd_half_decode_portable(in, out, n);
}

#else

int cbd_half_has_f16c(void) { return 0; }

void cbd_half_encode_f16c(const float *in, uint16_t *out, size_t n) { cbd_half_encode_portable(in, out, n); }
void cbd_half_decode_f16c(const uint16_t *in, float *out, size_t n) { cbd_half_decode_portable(in, out, n); }

#endif

void cbd_half_encode(const float *in, uint16_t *out, size_t n) { cbd_half_encode_f16c(in, out, n); }
void cbd_half_decode(const uint16_t *in, float *out, size_t n) { cbd_half_decode_f16c(in, out, n); }
