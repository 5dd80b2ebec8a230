/* A checkpoint written by an earlier build (tests/data, made with
 * `cbd-ckpt init --arch resnet20 --classes 10 --in-channels 1 --seed 7`)
 * still loads, and holds what this build's seed-7 initialisation produces:
 * the on-disk format and the seeded initialisation stay compatible. */
#include <string.h>

#include "store/checkpoint.h"
#include "tests/test_util.h"

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_checkpoint_fixture FILE\n");
        return 2;
    }
    cbd_backend *be = test_cpu_backend();
    cbd_model_config cfg;
    cbd_model_config_default(&cfg);
    cfg.in_channels = 1;
    cfg.classes = 10;
    cbd_model fresh, loaded;
    char err[512];
    CHECK(cbd_model_create(&fresh, be, &cfg, err, sizeof err) == 0, "%s", err);
    CHECK(cbd_model_create(&loaded, be, &cfg, err, sizeof err) == 0, "%s", err);
    cbd_model_initialize(&fresh, 7);
    cbd_model_initialize(&loaded, 99);
    cbd_checkpoint_meta meta;
    int rc = cbd_checkpoint_load(argv[1], &cfg, &loaded.params, &meta, err, sizeof err);
    CHECK(rc == 0, "fixture refused: %s", err);
    if (rc == 0) {
        CHECK(meta.seed == 7 && meta.step == 0 && strcmp(meta.arch, "resnet20") == 0, "metadata: seed %llu arch %s",
              (unsigned long long)meta.seed, meta.arch);
        /* the same function of the seed; libm may differ in the last bit across platforms */
        double worst = 0.0;
        for (size_t i = 0; i < fresh.params.total; i++) {
            double a = fresh.params.values[i], b = loaded.params.values[i];
            double rel = fabs(a - b) / fmax(fabs(a), 1e-30);
            if (a != b && rel > worst) worst = rel;
        }
        CHECK(worst < 1e-6, "seed-7 initialisation differs from the fixture by %g relative", worst);
        size_t nonzero = 0;
        for (size_t i = 0; i < loaded.params.total; i++) nonzero += loaded.params.values[i] != 0.0f;
        CHECK(nonzero > 200000, "fixture holds only %zu non-zero values", nonzero);
    }
    cbd_model_free(&fresh);
    cbd_model_free(&loaded);
    cbd_backend_destroy(be);
    return test_finish("checkpoint_fixture");
}
