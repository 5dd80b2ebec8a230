/* A ResNet memorises a fixed batch of 64 random images with random labels:
 * 100% training accuracy, and the loss falls at every one of the first steps
 * (a dead gradient anywhere would stall it). */
#include "tests/train_fixture.h"

static void overfit(cbd_backend *be, const char *arch, int in_c, int hw, int max_steps) {
    const int classes = 10;
    train_fixture f;
    fixture_create(&f, be, arch, in_c, hw, 64, classes, 3);
    fixture_batch(&f, -1, classes);
    double first[6];
    int steps = 0;
    double acc = 0.0, loss = 0.0;
    for (; steps < max_steps; steps++) {
        loss = fixture_step(&f);
        if (steps < 6) first[steps] = loss;
        if (steps >= 6 && steps % 5 == 0) {
            acc = fixture_accuracy(&f, 1);
            if (acc == 1.0) break;
        }
    }
    for (int i = 1; i < 6; i++)
        CHECK(first[i] < first[i - 1], "%s: loss rose at step %d: %.5f -> %.5f", arch, i, first[i - 1], first[i]);
    CHECK(acc == 1.0, "%s: training accuracy %.3f after %d steps (loss %.4f)", arch, acc, steps, loss);
    printf("  %s %dx%dx%d: loss %.4f -> %.4f, 100%% train accuracy after %d steps (eval-mode accuracy %.3f)\n",
           arch, in_c, hw, hw, first[0], loss, steps, fixture_accuracy(&f, 0));
    fixture_free(&f);
}

int main(void) {
    cbd_backend *be = test_cpu_backend();
    overfit(be, "resnet20", 1, 16, 300);
    overfit(be, "resnet18", 3, 32, 200);
    cbd_backend_destroy(be);
    return test_finish("overfit");
}
