/* Seeded, epoch-based samplers over the labels of a training set, and the
 * per-image draw counters that choose the stored view a draw is shown as.
 *
 * The order of epoch e is a pure function of (seed, e): a resumed run asks for
 * epoch e and gets exactly the order an uninterrupted run had. Every random
 * number is a Philox block keyed (seed, CBD_RNG_STREAM_SAMPLER, epoch,
 * position), so no state is carried from one epoch to the next.
 *
 *   instance        every image exactly once per epoch, in a seeded random
 *                   order (Fisher-Yates; the swap at position j uses the
 *                   block at position j).
 *   class-balanced  each draw picks a class uniformly among the classes that
 *                   have images, then an image uniformly within the class.
 *   sqrt            class c is drawn with probability proportional to
 *                   sqrt(n_c), then an image uniformly within the class.
 *
 * Classes without images are never drawn: class-balanced and sqrt sampling
 * spread the probability over the classes that have images (a label set
 * with empty classes is normal for long-tailed subsets). The draws of the
 * class-balanced and sqrt samplers are independent across positions, so
 * their epoch length is free; it is N (the number of images) by default. */
#ifndef CBD_SAMPLER_H
#define CBD_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#ifndef CBD_SAMPLING_KIND_DEFINED
#define CBD_SAMPLING_KIND_DEFINED
typedef enum {
    CBD_SAMPLING_INSTANCE = 0,
    CBD_SAMPLING_CLASS_BALANCED = 1,
    CBD_SAMPLING_SQRT = 2
} cbd_sampling_kind;
#endif

typedef struct {
    cbd_sampling_kind kind;
    int64_t n;              /* images */
    int classes;
    uint64_t seed;
    int64_t epoch_length;   /* draws per epoch */
    int64_t *class_start;   /* [classes + 1]: class c owns members[class_start[c] .. class_start[c + 1]) */
    int64_t *members;       /* [n] image indices grouped by class, ascending within a class */
    int nonempty;           /* classes with at least one image */
    int32_t *drawn_class;   /* [nonempty] those classes, ascending */
    uint64_t *threshold;    /* [nonempty] sqrt: cumulative probabilities scaled to 2^63 */
} cbd_sampler;

/* "instance", "class_balanced", "sqrt". */
const char *cbd_sampling_kind_name(cbd_sampling_kind kind);

/* Builds a sampler over labels[0..n). Labels must lie in [0, classes).
 * Returns 0; or -1 with a message in err (no images, a label out of range,
 * more than 2^32 - 1 draws per epoch). The labels are not kept. */
int cbd_sampler_init(cbd_sampler *s, cbd_sampling_kind kind, const int32_t *labels, int64_t n,
                     int classes, uint64_t seed, char *err, size_t err_len);
void cbd_sampler_free(cbd_sampler *s);

/* Changes the number of draws per epoch of a class-balanced or sqrt sampler
 * (1 <= length < 2^32). Returns 0; -1 for an instance sampler, whose epoch
 * is always N, or a length out of range. */
int cbd_sampler_set_epoch_length(cbd_sampler *s, int64_t length);
int64_t cbd_sampler_epoch_length(const cbd_sampler *s);

/* Writes the image indices of epoch `epoch` (>= 0) to out[0 .. epoch_length). */
void cbd_sampler_epoch(const cbd_sampler *s, int64_t epoch, int64_t *out);

/* Probability that one draw picks an image of class c (0 for an empty class;
 * for instance sampling n_c / N). */
double cbd_sampler_class_probability(const cbd_sampler *s, int c);
/* Images of class c. */
int64_t cbd_sampler_class_count(const cbd_sampler *s, int c);

/* The view of each draw: the k-th draw of image i in the run (k counted from
 * 0 over all epochs, in the order given) is shown as view k mod `views`.
 * counters[N] holds the draws so far per image and persists across epochs
 * (it belongs in the checkpoint); for each j < count it sets
 * out_views[j] = counters[indices[j]] % views and then increments that
 * counter. views >= 1. */
void cbd_draw_counter_assign(uint32_t *counters, const int64_t *indices, int64_t count, uint32_t views,
                             uint32_t *out_views);

#endif
