/* The ResNet builder: parameter counts of every architecture against the
 * published ones, feature sizes, parameter names, and any input size >= 16
 * (square or not, 1 or 3 channels). */
#include <string.h>

#include "nn/model.h"
#include "tests/test_util.h"

static cbd_backend *be;

/* Trainable backbone parameters (classifier excluded). The ImageNet family
 * matches torchvision (total minus its 1000-class fc: 512*1000+1000 or
 * 2048*1000+1000); the CIFAR family is He et al.'s 0.27M / 0.46M / 0.85M
 * less a 10-class fc (650): stem 432 + 32, and per block of each stage
 * 4,672 / 18,560 / 73,984 (the first block of stages 2 and 3: 13,952 / 55,552). */
static const struct {
    const char *arch;
    size_t backbone;
    int feature_dim;
} expected[] = {
    {"resnet20", 269072, 64},        {"resnet32", 463504, 64},
    {"resnet56", 852368, 64},        {"resnet18", 11176512, 512},
    {"resnet34", 21284672, 512},     {"resnet50", 23508032, 2048},
    {"resnet101", 42500160, 2048},   {"resnet152", 58143808, 2048},
};

static size_t backbone_count(const cbd_params *p) {
    size_t n = 0;
    for (int i = 0; i < p->count; i++)
        if (cbd_param_is_trainable(p->entries[i].kind) && strncmp(p->entries[i].name, "classifier", 10) != 0)
            n += p->entries[i].count;
    return n;
}

static void check_counts(void) {
    for (size_t k = 0; k < sizeof expected / sizeof expected[0]; k++) {
        cbd_params p;
        cbd_params_init(&p);
        cbd_resnet net;
        char err[256];
        CHECK(cbd_resnet_create(&net, &p, expected[k].arch, 3, err, sizeof err) == 0, "%s", err);
        size_t got = backbone_count(&p);
        CHECK(got == expected[k].backbone, "%s has %zu backbone parameters, expected %zu", expected[k].arch,
              got, expected[k].backbone);
        CHECK(net.feature_dim == expected[k].feature_dim, "%s feature dim %d", expected[k].arch, net.feature_dim);
        CHECK(cbd_resnet_arch_feature_dim(cbd_resnet_arch_find(expected[k].arch)) == net.feature_dim,
              "%s: cbd_resnet_arch_feature_dim disagrees with the built network", expected[k].arch);
        printf("  %-10s %10zu parameters, d = %d\n", expected[k].arch, got, net.feature_dim);
        free(net.blocks);
        free(p.entries);
    }
}

static void check_names_and_errors(void) {
    cbd_params p;
    cbd_params_init(&p);
    cbd_resnet net;
    char err[256];
    CHECK(cbd_resnet_create(&net, &p, "resnet50", 3, err, sizeof err) == 0, "%s", err);
    const char *names[] = {"stem/conv/weight", "stem/bn/running_var", "stage2/block1/conv2/weight",
                           "stage2/block1/shortcut/conv/weight", "stage4/block3/bn3/bias", NULL};
    for (const char **n = names; *n; n++) CHECK(cbd_params_find(&p, *n) >= 0, "resnet50 lacks %s", *n);
    int w = cbd_params_find(&p, "stage2/block1/conv2/weight");
    if (w >= 0) {
        const cbd_param_entry *e = &p.entries[w];
        CHECK(e->ndim == 4 && e->shape[0] == 128 && e->shape[1] == 128 && e->shape[2] == 3, "conv2 shape");
    }
    free(net.blocks);
    free(p.entries);

    cbd_params_init(&p);
    CHECK(cbd_resnet_create(&net, &p, "resnet19", 3, err, sizeof err) != 0, "unknown arch accepted");
    CHECK(strstr(err, "resnet19") && strstr(err, "resnet20"), "message: %s", err);
    CHECK(cbd_resnet_create(&net, &p, "resnet20", 2, err, sizeof err) != 0, "2 input channels accepted");
    free(p.entries);
}

static void check_forward_sizes(const char *arch, int in_c, int h, int w) {
    cbd_model m;
    cbd_model_config cfg;
    cbd_model_config_default(&cfg);
    snprintf(cfg.arch, sizeof cfg.arch, "%s", arch);
    cfg.in_channels = in_c;
    cfg.classes = 7;
    char err[256];
    CHECK(cbd_model_create(&m, be, &cfg, err, sizeof err) == 0, "%s", err);
    cbd_model_initialize(&m, 1);
    cbd_shape4 xs = {3, in_c, h, w};
    cbd_tensor x = cbd_tensor_make(be->ops.alloc(be, cbd_shape4_count(xs) * 4), xs);
    test_fill_normal(x.data, cbd_shape4_count(xs), 1.0f, 5);
    cbd_model_forward(&m, &x, 1);
    int finite = 1;
    for (int i = 0; i < 3 * 7; i++) finite &= isfinite(m.logits[i]);
    CHECK(finite, "%s on %dx%dx%d: non-finite logits", arch, in_c, h, w);
    CHECK(m.backbone.feature.n == 3 && m.backbone.feature.c == m.backbone.feature_dim, "%s feature shape", arch);
    /* a smaller batch re-plans and still runs */
    x.n = 2;
    cbd_model_forward(&m, &x, 0);
    CHECK(m.rows == 2 && isfinite(m.logits[13]), "%s batch change", arch);
    be->ops.release(be, x.data);
    cbd_model_free(&m);
}

int main(void) {
    be = test_cpu_backend();
    check_counts();
    check_names_and_errors();
    check_forward_sizes("resnet20", 1, 16, 16);
    check_forward_sizes("resnet20", 3, 17, 23);
    check_forward_sizes("resnet18", 1, 16, 16);
    check_forward_sizes("resnet18", 3, 19, 33);
    check_forward_sizes("resnet50", 3, 16, 16);
    cbd_backend_destroy(be);
    return test_finish("resnet_shapes");
}
