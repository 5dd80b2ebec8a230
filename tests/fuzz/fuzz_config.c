/* Experiment INIs and --set overrides through the whole load the stages do:
 * parsing, overrides, the named student models (as cbd-plan loads them),
 * validation and resolution. The input is the INI; text after a NUL byte is
 * a list of NUL-separated overrides ("train.epochs=3").
 *
 * A configuration that loads must also survive its own resolved dump:
 * cbd_config_write's text loads back to the same digest (config.h). */
#include <stdlib.h>
#include <string.h>

#include "experiment/config.h"
#include "experiment/run_layout.h"
#include "tests/fuzz/fuzz_util.h"

#define MAX_OVERRIDES 8

static const char *ini_path, *dump_path;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    ini_path = fuzz_scratch(0, "config", ".ini");
    dump_path = fuzz_scratch(1, "config", ".resolved.ini");
    return 0;
}

static void check_round_trip(const cbd_config *cfg, cbd_config *again) {
    FILE *f = fopen(dump_path, "w");
    FUZZ_REQUIRE(f != NULL, "cannot write %s", dump_path);
    cbd_config_write(cfg, f);
    FUZZ_REQUIRE(fclose(f) == 0, "cannot write %s", dump_path);
    char err[2048];
    FUZZ_REQUIRE(cbd_config_load(again, dump_path, NULL, 0, err, sizeof err) == 0,
                 "the resolved configuration does not load back: %s", err);
    FUZZ_REQUIRE(cbd_config_digest(again) == cbd_config_digest(cfg),
                 "the resolved configuration loads back as another one");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* Real experiment INIs are a few KiB; larger inputs only slow the search. */
    if (size > 64 * 1024) return 0;
    const uint8_t *nul = memchr(data, '\0', size);
    const size_t ini_size = nul ? (size_t)(nul - data) : size;
    fuzz_write_file(ini_path, data, ini_size);

    /* overrides: NUL-terminated copies of the pieces after the first NUL */
    char *tail = NULL;
    const char *overrides[MAX_OVERRIDES];
    int n_overrides = 0;
    if (nul) {
        const size_t tail_size = size - ini_size - 1;
        tail = malloc(tail_size + 1);
        memcpy(tail, nul + 1, tail_size);
        tail[tail_size] = '\0';
        for (char *s = tail; n_overrides < MAX_OVERRIDES && s <= tail + tail_size; s += strlen(s) + 1)
            overrides[n_overrides++] = s;
    }

    cbd_config *cfg = malloc(sizeof *cfg), *model = malloc(sizeof *model);
    char err[2048];
    if (cbd_config_load(cfg, ini_path, overrides, n_overrides, err, sizeof err) == 0) {
        FUZZ_REQUIRE(err[0] == '\0', "loaded, with a message: %s", err);
        check_round_trip(cfg, model);
        char stem[CBD_RUN_PATH_MAX]; /* the stages' size for it */
        cbd_layout_model(stem, sizeof stem, cfg->experiment.output_dir, cfg->student_name);
        for (int i = 0; i < cfg->student_count; i++)
            if (cbd_config_load_model(model, ini_path, overrides, n_overrides, cfg->students[i], err, sizeof err) == 0)
                cbd_layout_model(stem, sizeof stem, model->experiment.output_dir, model->student_name);
    } else {
        FUZZ_REQUIRE(err[0] != '\0', "refused without a message");
    }
    free(cfg);
    free(model);
    free(tail);
    return 0;
}
