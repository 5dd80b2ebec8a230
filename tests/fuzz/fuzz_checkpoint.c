/* Checkpoints (store/checkpoint.h) from untrusted bytes: the metadata, the
 * listing cbd-ckpt prints, and a full load into a parameter table (see
 * small_table.h for why not a real model's). */
#include <stdlib.h>

#include "store/checkpoint.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/small_table.h"

static const char *ckpt_path;
static cbd_backend *backend;
static cbd_params table;
static cbd_model_config model;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    ckpt_path = fuzz_scratch(0, "checkpoint", ".ckpt.h5");
    char err[256];
    backend = cbd_backend_create("cpu", err, sizeof err);
    FUZZ_REQUIRE(backend != NULL, "cpu backend: %s", err);
    fuzz_small_table(&table, backend);
    fuzz_small_model_config(&model);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 1024 * 1024) return 0;
    fuzz_write_file(ckpt_path, data, size);
    char err[1024], text[256];
    cbd_checkpoint_meta meta;
    if (cbd_checkpoint_read_meta(ckpt_path, &meta, err, sizeof err) == 0) {
        cbd_checkpoint_describe(text, sizeof text, &meta);
        cbd_model_config described;
        cbd_checkpoint_meta_to_config(&meta, &described);
    } else {
        FUZZ_REQUIRE(err[0] != '\0', "metadata refused without a message");
    }
    cbd_checkpoint_dataset *list = NULL;
    int count = 0;
    if (cbd_checkpoint_list(ckpt_path, &list, &count, err, sizeof err) == 0) {
        for (int i = 0; i < count; i++)
            FUZZ_REQUIRE(list[i].ndim >= 0 && list[i].ndim <= CBD_PARAM_MAX_DIMS, "dataset %s: %d dims",
                         list[i].name, list[i].ndim);
        free(list);
    } else {
        FUZZ_REQUIRE(err[0] != '\0' && list == NULL, "listing refused without a message");
    }
    if (cbd_checkpoint_load(ckpt_path, &model, &table, NULL, err, sizeof err) != 0)
        FUZZ_REQUIRE(err[0] != '\0', "load refused without a message");
    return 0;
}
