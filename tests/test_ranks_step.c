/* Run under mpirun -np R (R = 1, 2, 4): training steps of resnet20 on R
 * ranks, each with its share of every batch, give the bits of one process
 * training on the whole batch. Every rank runs both: the whole batch on a
 * backend of its own (no ranks) and its share on the job's ranks; after each
 * step the gradients, and after the last the weights, momentum and batch-norm
 * statistics, must be the same bits. Shows where they part (the first
 * tensor) when they do. Also: a batch whose chunks the ranks cannot share is
 * refused with a message.
 *
 * A third copy takes the path of GPU ranks with NCCL (nn/batch_sum.c:
 * partials gathered into backend memory, the top of the tree added there by
 * the backend's ops): on the cpu backend, given a stream and a device
 * allgather that is MPI's; its bits must be the same.
 *
 * With CBD_TEST_PRECISION=bf16 every backend computes its convolutions in
 * bf16 (exit 77, skipped, where the CPU has no bf16). */
#include <string.h>

#include "nn/batch_sum.h"
#include "nn/log.h"
#include "nn/threads.h"
#include "parallel/ranks.h"
#include "tests/train_fixture.h"

#define STEPS 3
#define BATCH 16
#define CLASSES 10

/* rows [first, first + n) of the whole batch's images and labels into f's */
static void take_rows(train_fixture *whole, train_fixture *mine, int first, int n) {
    const size_t per_image = (size_t)whole->x.c * whole->x.h * whole->x.w;
    memcpy(mine->x.data, whole->x.data + (size_t)first * per_image, (size_t)n * per_image * sizeof(float));
    memcpy(mine->labels, whole->labels + first, (size_t)n * sizeof(int));
}

/* The first tensor whose `which` (0 values, 1 grads, 2 momentum) differ. */
static const char *first_difference(const cbd_params *a, const cbd_params *b, int which, double *max_diff) {
    const char *first = NULL;
    *max_diff = 0.0;
    for (int i = 0; i < a->count; i++) {
        const float *x = which == 0 ? cbd_param_value(a, i) : which == 1 ? cbd_param_grad(a, i)
                                                                          : cbd_param_momentum(a, i);
        const float *y = which == 0 ? cbd_param_value(b, i) : which == 1 ? cbd_param_grad(b, i)
                                                                          : cbd_param_momentum(b, i);
        if (which > 0 && !cbd_param_is_trainable(a->entries[i].kind)) continue;
        if (memcmp(x, y, a->entries[i].count * sizeof(float)) == 0) continue;
        for (size_t k = 0; k < a->entries[i].count; k++)
            if (fabs((double)x[k] - y[k]) > *max_diff) *max_diff = fabs((double)x[k] - y[k]);
        if (!first) first = a->entries[i].name;
        if (getenv("CBD_TEST_VERBOSE")) fprintf(stderr, "  differs: %s\n", a->entries[i].name);
    }
    return first;
}

/* The device allgather of the job's ranks, played by host memory. */
static void allgather_as_device(const cbd_collective *c, const void *mine, size_t bytes, void *all, void *stream) {
    CHECK(stream != NULL, "a device allgather without the backend's stream");
    c->allgather(c, mine, bytes, all);
}

/* The backend of the test, in CBD_TEST_PRECISION (fp32 unless set). */
static cbd_backend *backend(void) {
    cbd_backend *be = test_cpu_backend();
    const char *precision = getenv("CBD_TEST_PRECISION");
    char err[256];
    if (precision && cbd_backend_set_precision(be, precision, err, sizeof err) != 0) {
        fprintf(stderr, "FAIL: precision %s: %s\n", precision, err);
        exit(1);
    }
    return be;
}

static int run(int argc, char **argv) {
    (void)argc;
    (void)argv;
    cbd_threads_set(0);
    const int ranks = cbd_ranks_size(), rank = cbd_ranks_rank(), share = BATCH / ranks;
    cbd_backend *whole_be = backend(), *ranked_be = backend();
    char err[512];
    CHECK(cbd_batch_split_set(whole_be, NULL, BATCH, err, sizeof err) == 0, "%s", err);
    CHECK(cbd_batch_split_set(ranked_be, cbd_ranks_collective(), BATCH, err, sizeof err) == 0, "%s", err);
    if (ranks > 1) {
        CHECK(cbd_batch_split_set(ranked_be, cbd_ranks_collective(), 2 * ranks + ranks / 2, err, sizeof err) != 0 &&
                  strstr(err, "cannot share") != NULL,
              "a batch of %d on %d ranks was not refused (%s)", 2 * ranks + ranks / 2, ranks, err);
        cbd_batch_split_set(ranked_be, cbd_ranks_collective(), BATCH, err, sizeof err);
    }
    cbd_backend *device_be = backend();
    static int stream_stand_in;
    device_be->stream = &stream_stand_in;
    cbd_collective device_ranks;
    if (ranks > 1) {
        device_ranks = *cbd_ranks_collective();
        device_ranks.allgather_device = allgather_as_device;
    }
    CHECK(cbd_batch_split_set(device_be, ranks > 1 ? &device_ranks : NULL, BATCH, err, sizeof err) == 0, "%s", err);
    train_fixture whole, mine, device;
    fixture_create(&whole, whole_be, "resnet20", 3, 16, BATCH, CLASSES, 7);
    fixture_create(&mine, ranked_be, "resnet20", 3, 16, share, CLASSES, 7);
    fixture_create(&device, device_be, "resnet20", 3, 16, share, CLASSES, 7);
    for (int s = 0; s < STEPS; s++) {
        fixture_batch_learnable(&whole, s, CLASSES);
        take_rows(&whole, &mine, rank * share, share);
        take_rows(&whole, &device, rank * share, share);
        const double loss_whole = fixture_step(&whole);
        const double loss_mine = fixture_step(&mine);
        fixture_step(&device);
        double diff;
        const char *at = first_difference(&whole.m.params, &mine.m.params, 1, &diff);
        CHECK(at == NULL, "rank %d of %d, step %d: gradients differ from one process's, first at %s (max |d| %.3g)",
              rank, ranks, s, at, diff);
        at = first_difference(&whole.m.params, &device.m.params, 1, &diff);
        CHECK(at == NULL, "rank %d of %d, step %d: the device-sum path's gradients differ, first at %s (max |d| %.3g)",
              rank, ranks, s, at, diff);
        const double total = cbd_collective_sum_double(cbd_ranks_collective(), loss_mine * share) / BATCH;
        CHECK(fabs(total - loss_whole) <= 1e-6 * fabs(loss_whole), "step %d: loss %.9g on ranks, %.9g whole", s,
              total, loss_whole);
    }
    double diff;
    const char *at = first_difference(&whole.m.params, &mine.m.params, 0, &diff);
    CHECK(at == NULL, "rank %d of %d: weights or statistics differ after %d steps, first at %s (max |d| %.3g)",
          rank, ranks, STEPS, at, diff);
    at = first_difference(&whole.m.params, &mine.m.params, 2, &diff);
    CHECK(at == NULL, "rank %d of %d: momentum differs after %d steps, first at %s (max |d| %.3g)", rank, ranks,
          STEPS, at, diff);
    at = first_difference(&whole.m.params, &device.m.params, 0, &diff);
    CHECK(at == NULL, "rank %d of %d: the device-sum path's weights differ after %d steps, first at %s", rank, ranks,
          STEPS, at);
    fixture_free(&whole);
    fixture_free(&mine);
    fixture_free(&device);
    cbd_backend_destroy(device_be);
    cbd_backend_destroy(whole_be);
    cbd_backend_destroy(ranked_be);
    if (rank == 0) printf("  %d steps of resnet20, batch %d on %d rank(s): the bits of one process\n", STEPS, BATCH, ranks);
    char name[64];
    snprintf(name, sizeof name, "ranks_step (rank %d of %d)", rank, ranks);
    return test_finish(name);
}

int main(int argc, char **argv) {
    const char *precision = getenv("CBD_TEST_PRECISION");
    char why[256];
    if (precision && strcmp(precision, "bf16") == 0 && !cbd_cpu_bf16_supported(why, sizeof why)) {
        printf("no bf16 on this CPU (%s): skipped\n", why);
        return 77;
    }
    return cbd_ranks_main(argc, argv, run);
}
