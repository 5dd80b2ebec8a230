/* Same seed, same data: 20 training steps of resnet20 give the same losses
 * with 1, 2 and 3 threads (the engine promises agreement to 1e-4 relative;
 * the cpu backend delivers identical bits, since no reduction is split by
 * thread: see conv_cpu.c), and identical bits when a thread count runs twice.
 * Also with 2 threads asked for but one given: the run made from inside a
 * parallel region, where the engine's regions get a thread each (nested
 * regions are off) while it plans for 2, as the weight gradient's runners do
 * (conv_cpu.c). */
#include <omp.h>
#include <string.h>

#include "nn/threads.h"
#include "tests/train_fixture.h"

#define STEPS 20

static void run(int threads, double *losses) {
    cbd_threads_set(threads);
    cbd_backend *be = test_cpu_backend();
    fixture_resnet20_losses(be, STEPS, losses);
    cbd_backend_destroy(be);
}

static void run_given_one_thread(double *losses) {
    cbd_threads_set(2);
    omp_set_max_active_levels(1);
#pragma omp parallel num_threads(2)
#pragma omp single
    {
        CHECK(omp_get_max_threads() == 2, "inside the region the engine plans for %d threads, not 2",
              omp_get_max_threads());
        cbd_backend *be = test_cpu_backend();
        fixture_resnet20_losses(be, STEPS, losses);
        cbd_backend_destroy(be);
    }
}

static double compare(const double *a, const double *b, int threads) {
    double worst = 0.0;
    for (int s = 0; s < STEPS; s++) {
        double rel = fabs(a[s] - b[s]) / fabs(a[s]);
        if (rel > worst) worst = rel;
        CHECK(rel < 1e-4, "step %d: loss %.9g with 1 thread, %.9g with %d (rel %.3g)", s, a[s], b[s],
              threads, rel);
    }
    CHECK(memcmp(a, b, STEPS * sizeof *a) == 0, "1 and %d threads give different bits (max rel %.3g)",
          threads, worst);
    return worst;
}

int main(void) {
    double one[STEPS], two[STEPS], three[STEPS], again[STEPS], given_one[STEPS];
    run(1, one);
    run(2, two);
    run(3, three);
    run(2, again);
    run_given_one_thread(given_one);
    CHECK(memcmp(one, given_one, sizeof one) == 0, "2 threads asked for and 1 given: other bits than 1 thread");
    double worst = fmax(compare(one, two, 2), compare(one, three, 3));
    CHECK(memcmp(two, again, sizeof two) == 0, "two runs with 2 threads differ");
    CHECK(one[STEPS - 1] < one[0], "loss did not fall: %.5f -> %.5f", one[0], one[STEPS - 1]);
    printf("  20 steps: loss %.6f -> %.6f; 1 vs 2 vs 3 threads max rel diff %.3g\n", one[0], one[STEPS - 1], worst);
    return test_finish("threads_determinism");
}
