/* Counter-based random numbers (Philox4x32-10, Salmon et al. 2011).
 *
 * A draw is a pure function of (seed, stream, counter): the same numbers come
 * out in any thread, any order, any stage, so initialisation, sampling and
 * augmentation never depend on how work is scheduled. */
#ifndef CBD_RNG_H
#define CBD_RNG_H

#include <stdint.h>

typedef struct { uint32_t v[4]; } cbd_philox_block;

/* The raw generator: 10 rounds of Philox4x32 on `counter` under `key`. */
cbd_philox_block cbd_philox4x32_10(const uint32_t counter[4], const uint32_t key[2]);

/* Independent streams drawn from one experiment seed. */
typedef enum {
    CBD_RNG_STREAM_INIT = 1,     /* parameter initialisation */
    CBD_RNG_STREAM_SAMPLER = 2,  /* order of training examples */
    CBD_RNG_STREAM_AUGMENT = 3,  /* augmentation of a view */
    CBD_RNG_STREAM_TEST = 15     /* test fixtures */
} cbd_rng_stream;

/* Four 32-bit words for position (a, b) of `stream` under `seed`. */
cbd_philox_block cbd_rng_block(uint64_t seed, cbd_rng_stream stream, uint64_t a, uint32_t b);

/* Uniform in [0, 1) with 24 bits, from one 32-bit word. */
static inline float cbd_u32_to_unit(uint32_t x) { return (float)(x >> 8) * (1.0f / 16777216.0f); }

/* One uniform in [0,1) and one standard normal at position (a, b). */
float cbd_rng_uniform(uint64_t seed, cbd_rng_stream stream, uint64_t a, uint32_t b);
float cbd_rng_normal(uint64_t seed, cbd_rng_stream stream, uint64_t a, uint32_t b);

#endif
