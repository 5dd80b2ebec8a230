/* SGD semantics (momentum, decay, Nesterov, which parameters decay) against
 * values worked by hand, and the learning-rate schedule. */
#include <string.h>

#include "nn/layers/batchnorm.h"
#include "nn/layers/linear.h"
#include "nn/optim/lr_schedule.h"
#include "nn/optim/sgd.h"
#include "tests/test_util.h"

static void check_sgd_by_hand(cbd_backend *be) {
    cbd_params p;
    cbd_params_init(&p);
    cbd_linear fc;
    cbd_batchnorm bn;
    cbd_linear_create(&fc, &p, "fc", 1, 1, 1, CBD_INIT_UNIFORM_FAN_IN);
    cbd_batchnorm_create(&bn, &p, "bn", 1);
    cbd_params_allocate(&p, be);
    int ids[4] = {fc.weight, fc.bias, bn.gamma, bn.running_mean};
    for (int k = 0; k < 4; k++) {
        cbd_param_value(&p, ids[k])[0] = 1.0f;
        cbd_param_grad(&p, ids[k])[0] = 0.5f;
    }
    cbd_sgd_config cfg = {.momentum = 0.9f, .weight_decay = 0.01f, .nesterov = 0};
    cbd_sgd_step(be, &p, &cfg, 0.1f);
    cbd_sgd_step(be, &p, &cfg, 0.1f);
    /* weight: g' = 0.51, m = 0.51, w = 0.949; g' = 0.50949, m = 0.96849, w = 0.852151 */
    float w = cbd_param_value(&p, fc.weight)[0];
    CHECK(fabsf(w - 0.852151f) < 1e-6f, "decayed weight after 2 steps %.7f", w);
    CHECK(fabsf(cbd_param_momentum(&p, fc.weight)[0] - 0.96849f) < 1e-6f, "momentum %.7f",
          cbd_param_momentum(&p, fc.weight)[0]);
    /* bias and bn scale: no decay: m = 0.5, w = 0.95; m = 0.95, w = 0.855 */
    float b = cbd_param_value(&p, fc.bias)[0], gmm = cbd_param_value(&p, bn.gamma)[0];
    CHECK(fabsf(b - 0.855f) < 1e-6f, "bias got decay: %.7f", b);
    CHECK(fabsf(gmm - 0.855f) < 1e-6f, "bn scale got decay: %.7f", gmm);
    CHECK(cbd_param_value(&p, bn.running_mean)[0] == 1.0f, "running mean was trained");

    cfg.decay_norm_and_bias = 1;
    cbd_param_value(&p, bn.gamma)[0] = 1.0f;
    cbd_param_momentum(&p, bn.gamma)[0] = 0.0f;
    cbd_sgd_step(be, &p, &cfg, 0.1f);
    CHECK(fabsf(cbd_param_value(&p, bn.gamma)[0] - 0.949f) < 1e-6f, "decay_norm_and_bias ignored: %.7f",
          cbd_param_value(&p, bn.gamma)[0]);

    /* Nesterov: g' = 0.5, m = 0.5, w = 1 - 0.1 * (0.5 + 0.9 * 0.5) = 0.905 */
    cbd_sgd_config nes = {.momentum = 0.9f, .weight_decay = 0.0f, .nesterov = 1};
    cbd_param_value(&p, fc.bias)[0] = 1.0f;
    cbd_param_momentum(&p, fc.bias)[0] = 0.0f;
    cbd_sgd_step(be, &p, &nes, 0.1f);
    CHECK(fabsf(cbd_param_value(&p, fc.bias)[0] - 0.905f) < 1e-6f, "nesterov %.7f", cbd_param_value(&p, fc.bias)[0]);
    cbd_params_free(&p);
}

static void check_schedule(void) {
    cbd_lr_schedule s = {.base_lr = 0.2f, .final_lr = 0.0f, .total_steps = 100, .warmup_steps = 0};
    CHECK(fabsf(cbd_lr_at(&s, 0) - 0.2f) < 1e-7f, "start %g", cbd_lr_at(&s, 0));
    CHECK(fabsf(cbd_lr_at(&s, 50) - 0.1f) < 1e-6f, "middle %g", cbd_lr_at(&s, 50));
    CHECK(fabsf(cbd_lr_at(&s, 25) - 0.1f * (1.0f + cosf(0.25f * 3.14159265f))) < 1e-6f, "quarter %g",
          cbd_lr_at(&s, 25));
    CHECK(cbd_lr_at(&s, 100) == 0.0f && cbd_lr_at(&s, 1000) == 0.0f, "end %g", cbd_lr_at(&s, 100));
    int monotone = 1;
    for (long i = 1; i <= 100; i++) monotone &= cbd_lr_at(&s, i) <= cbd_lr_at(&s, i - 1);
    CHECK(monotone, "cosine schedule rises somewhere");

    cbd_lr_schedule w = {.base_lr = 0.1f, .final_lr = 0.001f, .total_steps = 110, .warmup_steps = 10,
                         .warmup_start_factor = 0.0f};
    CHECK(cbd_lr_at(&w, 0) == 0.0f, "warm-up start %g", cbd_lr_at(&w, 0));
    CHECK(fabsf(cbd_lr_at(&w, 5) - 0.05f) < 1e-7f, "warm-up middle %g", cbd_lr_at(&w, 5));
    CHECK(fabsf(cbd_lr_at(&w, 10) - 0.1f) < 1e-7f, "warm-up end %g", cbd_lr_at(&w, 10));
    CHECK(fabsf(cbd_lr_at(&w, 60) - 0.0505f) < 1e-6f, "after warm-up middle %g", cbd_lr_at(&w, 60));
    CHECK(fabsf(cbd_lr_at(&w, 110) - 0.001f) < 1e-7f, "final %g", cbd_lr_at(&w, 110));
}

int main(void) {
    cbd_backend *be = test_cpu_backend();
    check_sgd_by_hand(be);
    check_schedule();
    cbd_backend_destroy(be);
    return test_finish("optim");
}
