/* Philox4x32-10 against Random123's published known-answer vectors, and the
 * uniform / normal draws against their moments. */
#include <string.h>

#include "tests/test_util.h"

static void check_kat(const uint32_t ctr[4], const uint32_t key[2], const uint32_t expect[4]) {
    cbd_philox_block b = cbd_philox4x32_10(ctr, key);
    CHECK(memcmp(b.v, expect, sizeof b.v) == 0, "got %08x %08x %08x %08x, want %08x %08x %08x %08x",
          b.v[0], b.v[1], b.v[2], b.v[3], expect[0], expect[1], expect[2], expect[3]);
}

int main(void) {
    {
        const uint32_t ctr[4] = {0, 0, 0, 0}, key[2] = {0, 0};
        const uint32_t want[4] = {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8};
        check_kat(ctr, key, want);
    }
    {
        const uint32_t ctr[4] = {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff};
        const uint32_t key[2] = {0xffffffff, 0xffffffff};
        const uint32_t want[4] = {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd};
        check_kat(ctr, key, want);
    }
    {
        const uint32_t ctr[4] = {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344};
        const uint32_t key[2] = {0xa4093822, 0x299f31d0};
        const uint32_t want[4] = {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1};
        check_kat(ctr, key, want);
    }

    /* moments of 200k draws: uniform mean 1/2, var 1/12; normal mean 0, var 1 */
    const int n = 200000;
    double us = 0, uss = 0, ns = 0, nss = 0;
    float umin = 1, umax = 0;
    for (int i = 0; i < n; i++) {
        float u = cbd_rng_uniform(42, CBD_RNG_STREAM_TEST, (uint64_t)i, 3);
        float g = cbd_rng_normal(42, CBD_RNG_STREAM_TEST, (uint64_t)i, 4);
        us += u;
        uss += (double)u * u;
        ns += g;
        nss += (double)g * g;
        if (u < umin) umin = u;
        if (u > umax) umax = u;
    }
    double umean = us / n, uvar = uss / n - umean * umean;
    double nmean = ns / n, nvar = nss / n - nmean * nmean;
    CHECK(fabs(umean - 0.5) < 0.005, "uniform mean %g", umean);
    CHECK(fabs(uvar - 1.0 / 12) < 0.002, "uniform variance %g", uvar);
    CHECK(umin >= 0.0f && umax < 1.0f, "uniform range [%g, %g]", umin, umax);
    CHECK(fabs(nmean) < 0.01, "normal mean %g", nmean);
    CHECK(fabs(nvar - 1.0) < 0.02, "normal variance %g", nvar);

    /* streams and seeds are independent; the same position repeats exactly */
    CHECK(cbd_rng_uniform(1, CBD_RNG_STREAM_INIT, 5, 0) != cbd_rng_uniform(1, CBD_RNG_STREAM_SAMPLER, 5, 0),
          "streams collide");
    CHECK(cbd_rng_uniform(1, CBD_RNG_STREAM_INIT, 5, 0) != cbd_rng_uniform(2, CBD_RNG_STREAM_INIT, 5, 0),
          "seeds collide");
    CHECK(cbd_rng_uniform(9, CBD_RNG_STREAM_AUGMENT, 77, 2) == cbd_rng_uniform(9, CBD_RNG_STREAM_AUGMENT, 77, 2),
          "not repeatable");
    return test_finish("rng");
}
