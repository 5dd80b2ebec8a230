/* A network that has only run inference plans its activations into a few
 * rotating buffers (nn/resnet.c); one that has trained keeps every layer's.
 * Both must give the same logits bit for bit, with far less memory for the
 * first, and a training pass after an inference plan must replan and train
 * as if the inference had not happened. */
#include <string.h>

#include "tests/train_fixture.h"

static void check_arch(cbd_backend *be, const char *arch, int in_c, int hw, int batch) {
    train_fixture a, b;
    fixture_create(&a, be, arch, in_c, hw, batch, 10, 3);
    fixture_create(&b, be, arch, in_c, hw, batch, 10, 3);
    fixture_batch_learnable(&a, 0, 10);
    fixture_batch_learnable(&b, 0, 10);
    const size_t rows = (size_t)batch * 10;

    /* a: inference first (the rotating plan) */
    cbd_model_forward(&a.m, &a.x, 0);
    CHECK(a.m.backbone.planned_inference, "%s: the first inference pass did not make an inference plan", arch);
    const size_t inference_floats = cbd_resnet_activation_floats(&a.m.backbone);
    float *logits_a = malloc(rows * sizeof(float));
    memcpy(logits_a, a.m.logits, rows * sizeof(float));

    /* b: a training plan, its weights and statistics put back after, then inference on it */
    float *saved = malloc(b.m.params.total * sizeof(float));
    memcpy(saved, b.m.params.values, b.m.params.total * sizeof(float));
    cbd_model_forward(&b.m, &b.x, 1);
    memcpy(b.m.params.values, saved, b.m.params.total * sizeof(float));
    const size_t training_floats = cbd_resnet_activation_floats(&b.m.backbone);
    cbd_model_forward(&b.m, &b.x, 0);
    CHECK(!b.m.backbone.planned_inference, "%s: inference replanned a training plan", arch);
    CHECK(memcmp(logits_a, b.m.logits, rows * sizeof(float)) == 0,
          "%s: logits differ between the inference plan and the training plan", arch);
    CHECK(inference_floats * 2 < training_floats, "%s: inference plan %zu floats, training plan %zu", arch,
          inference_floats, training_floats);

    /* a then trains: it must replan and match b's training step exactly */
    const double loss_a = fixture_step(&a);
    const double loss_b = fixture_step(&b);
    CHECK(!a.m.backbone.planned_inference, "%s: training did not replan", arch);
    CHECK(loss_a == loss_b, "%s: training after inference: loss %.9g vs %.9g", arch, loss_a, loss_b);
    CHECK(memcmp(a.m.params.values, b.m.params.values, a.m.params.total * sizeof(float)) == 0,
          "%s: weights differ after a training step that followed inference", arch);
    printf("  %s: activation floats %zu (inference plan) vs %zu (training plan)\n", arch, inference_floats,
           training_floats);
    free(saved);
    free(logits_a);
    fixture_free(&a);
    fixture_free(&b);
}

int main(void) {
    cbd_backend *be = test_cpu_backend();
    check_arch(be, "resnet20", 1, 16, 8);
    check_arch(be, "resnet50", 3, 64, 2); /* max pool, bottlenecks, projections */
    cbd_backend_destroy(be);
    return test_finish("inference_plan");
}
