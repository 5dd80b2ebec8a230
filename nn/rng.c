#include "nn/rng.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static inline void philox_round(uint32_t ctr[4], const uint32_t key[2]) {
    uint64_t p0 = (uint64_t)PHILOX_M0 * ctr[0];
    uint64_t p1 = (uint64_t)PHILOX_M1 * ctr[2];
    uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
    uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
    uint32_t c1 = ctr[1], c3 = ctr[3];
    ctr[0] = hi1 ^ c1 ^ key[0];
    ctr[1] = lo1;
    ctr[2] = hi0 ^ c3 ^ key[1];
    ctr[3] = lo0;
}

cbd_philox_block cbd_philox4x32_10(const uint32_t counter[4], const uint32_t key_in[2]) {
    uint32_t ctr[4] = {counter[0], counter[1], counter[2], counter[3]};
    uint32_t key[2] = {key_in[0], key_in[1]};
    for (int round = 0; round < 10; round++) {
        if (round > 0) {
            key[0] += PHILOX_W0;
            key[1] += PHILOX_W1;
        }
        philox_round(ctr, key);
    }
    cbd_philox_block out = {{ctr[0], ctr[1], ctr[2], ctr[3]}};
    return out;
}

cbd_philox_block cbd_rng_block(uint64_t seed, cbd_rng_stream stream, uint64_t a, uint32_t b) {
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    const uint32_t counter[4] = {(uint32_t)a, (uint32_t)(a >> 32), b, (uint32_t)stream};
    return cbd_philox4x32_10(counter, key);
}

float cbd_rng_uniform(uint64_t seed, cbd_rng_stream stream, uint64_t a, uint32_t b) {
    return cbd_u32_to_unit(cbd_rng_block(seed, stream, a, b).v[0]);
}

float cbd_rng_normal(uint64_t seed, cbd_rng_stream stream, uint64_t a, uint32_t b) {
    cbd_philox_block r = cbd_rng_block(seed, stream, a, b);
    /* Box-Muller; u1 in (0, 1] so the log is finite. */
    double u1 = ((double)(r.v[0] >> 8) + 1.0) / 16777216.0;
    double u2 = (double)(r.v[1] >> 8) / 16777216.0;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}
