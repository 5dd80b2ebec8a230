/* Staleness by construction: walks every key of the schema, changes it, and
 * checks that exactly the outputs that read it get another digest (the
 * digest a stage records and compares, and the text cbd-plan stamps), and no
 * other. The table below is the test's own statement of who reads each key:
 * it is written independently of the schema's READERS column, and a key
 * missing from it (a new key) fails the test until its row is added.
 *
 * The experiment: teachers std (standard), aug (augment), lin and lin2
 * (linear heads); the models [student] (method train), ft (finetune), crt,
 * lws, tau (tau_norm) and ens (ensemble); its evaluation and its report. Each
 * teacher has a teacher output and a store: 16 outputs in all.
 *
 * usage: test_output_digest WORK_DIR   (WORK_DIR/data: make-synthetic's set;
 *        WORK_DIR/copy: a copy of it that keeps the files' times) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment/config.h"
#include "experiment/output_digest.h"
#include "stages/stage_common.h"
#include "stages/stage_inputs.h"
#include "store/digest.h"
#include "test_util.h"

/* One key: how to change it, and who reads it. value: a value for
 * SECTION.KEY (a [student] key is set in every model, a [teacher] key in
 * teacher std), or, when it holds '=', the whole ';'-separated list of
 * overrides. readers: the reader names of the outputs whose content it
 * decides (teacher = every teacher, augment = teachers of kind augment,
 * dump, train, finetune, head = crt and lws, tau, ensemble, eval, report). */
typedef struct {
    const char *key, *value, *readers;
} row;

static const row table[] = {
    {"experiment.name", "walk_renamed", "report"},
    {"experiment.seed", "7", "teacher dump train finetune head"},
    {"experiment.output_dir", "elsewhere", ""},
    {"experiment.device", "auto", ""},
    {"experiment.precision", "experiment.precision=bf16;experiment.device=cuda", "teacher dump train finetune eval"},
    {"experiment.threads", "1", ""},
    {"data.train", "data/train2.txt", "teacher dump train finetune head eval"},
    {"data.val", "data/test.txt", ""},
    {"data.test", "data/val.txt", "eval"},
    {"data.image_root", "copy", ""},
    {"data.class_names", "data/classes.txt", "eval"},
    {"data.channels", "1", "teacher dump train finetune eval"},
    {"data.resize", "20", "teacher dump train finetune eval"},
    {"data.image_size", "20", "teacher dump train finetune eval"},
    {"data.crop", "random_resized", "teacher dump train finetune"},
    {"data.pad", "2", "teacher dump train finetune"},
    {"data.flip", "false", "teacher dump train finetune"},
    {"data.scale_min", "0.1", "teacher dump train finetune"},
    {"data.scale_max", "0.9", "teacher dump train finetune"},
    {"data.ratio_min", "0.8", "teacher dump train finetune"},
    {"data.ratio_max", "1.2", "teacher dump train finetune"},
    {"data.mean", "0.5, 0.1, 0.1", "teacher dump train finetune eval"},
    {"data.std", "0.25, 0.2, 0.2", "teacher dump train finetune eval"},
    {"data.classes", "10", "teacher train finetune eval"},
    {"data.on_bad_image", "skip", "teacher train finetune eval"},
    {"data.workers", "0", ""},
    {"model.arch", "resnet32", "teacher train"},
    {"model.head", "linear", "teacher train"},
    {"model.cosine_scale", "10", "teacher train"},
    {"train.epochs", "4", "teacher train finetune head"},
    {"train.batch_size", "4", "teacher train finetune head"},
    {"train.lr", "0.07", "teacher train finetune head"},
    {"train.lr_final", "0.001", "teacher train finetune head"},
    {"train.warmup_epochs", "1", "teacher train finetune head"},
    {"train.momentum", "0.8", "teacher train finetune head"},
    {"train.weight_decay", "0.001", "teacher train finetune head"},
    {"train.nesterov", "true", "teacher train finetune head"},
    {"train.decay_norm_and_bias", "true", "teacher train finetune head"},
    {"train.sampling", "class_balanced", "teacher"},
    {"train.checkpoint_every", "2", ""},
    {"augment.brightness", "0.3", "augment"},
    {"augment.contrast", "0.3", "augment"},
    {"augment.saturation", "0.3", "augment"},
    {"augment.hue", "0.2", "augment"},
    {"augment.jitter_p", "0.5", "augment"},
    {"augment.grayscale_p", "0.1", "augment"},
    {"augment.noise_sigma", "0.02", "augment"},
    {"teacher.kind", "augment", "teacher"},
    {"teacher.seed", "99", "teacher"},
    {"teacher.epochs", "4", "teacher"},
    {"teacher.arch", "resnet32", "teacher"},
    {"teacher.lr", "0.07", "teacher"},
    {"teacher.head", "linear", "teacher"},
    {"teacher.label", "Standard", "report"},
    {"features.views", "5", "dump train finetune head"},
    {"features.dtype", "float32", "dump"},
    {"features.logits", "false", "dump"},
    {"features.batch_size", "4", ""},
    {"features.memory_cap_mb", "1", ""},
    {"student.method",
     "student.method=finetune;student.ft.method=train;student.crt.method=finetune;student.lws.method=tau_norm;"
     "student.tau.method=lws;student.ens.method=train",
     "train finetune head tau ensemble"},
    {"student.from", "student.from=aug;student.ft.from=aug;student.crt.from=aug;student.lws.from=lin2;"
                     "student.tau.from=lin2",
     "finetune head tau"},
    {"student.label", "Renamed", "report"},
    {"student.seed", "5", "train finetune head"},
    {"student.lr", "0.02", "train finetune head"},
    {"student.views", "5", "train finetune head"},
    {"student.norm_power", "0.5", "tau"},
    {"student.alpha", "0.3", "train"},
    {"student.beta", "50", "train"},
    {"student.teachers", "std", "train ensemble"},
    {"student.teacher_source", "online", "train"},
    {"student.distill", "logit", "train"},
    {"student.loss", "logit_adjusted", "train finetune"},
    {"student.tau", "0.5", "train finetune"},
    {"student.temperature", "3", "train"},
    {"student.sampling", "instance", "train finetune head"},
    {"student.epochs", "4", "train finetune head"},
    {"student.arch", "resnet32", "train"},
    {"student.projection_relu", "false", "train"},
    {"eval.many_threshold", "50", "eval"},
    {"eval.few_threshold", "10", "eval"},
    {"eval.batch_size", "4", ""},
    {"eval.top_k", "3", "eval"},
};
#define ROWS ((int)(sizeof table / sizeof table[0]))

static const char *const teachers[] = {"std", "aug", "lin", "lin2"};
static const char *const models[] = {"student", "ft", "crt", "lws", "tau", "ens"};
enum { TEACHERS = 4, MODELS = 6, OUTPUTS = 2 * TEACHERS + MODELS + 2 };

static char ini_path[4200];

static void write_fixture(const char *work) {
    snprintf(ini_path, sizeof ini_path, "%s/walk.ini", work);
    FILE *f = fopen(ini_path, "w");
    if (!f) {
        perror(ini_path);
        exit(1);
    }
    fprintf(f, "[experiment]\nseed = 1\noutput_dir = %s/run\n"
               "[data]\ntrain = data/train.txt\nval = data/val.txt\ntest = data/test.txt\nchannels = 3\n"
               "image_size = 16\nworkers = 1\n"
               "[model]\narch = resnet20\n[train]\nepochs = 3\nbatch_size = 8\n"
               "[teacher.std]\n[teacher.aug]\nkind = augment\n[teacher.lin]\nhead = linear\n"
               "[teacher.lin2]\nhead = linear\n"
               "[student]\nteachers = std, aug\nfrom = std\n"
               "[student.ft]\nmethod = finetune\nfrom = std\nlr = 0.01\n[student.crt]\nmethod = crt\n"
               "[student.lws]\nmethod = lws\nfrom = lin\n[student.tau]\nmethod = tau_norm\nfrom = lin\n"
               "[student.ens]\nmethod = ensemble\nteachers = std, aug\n",
            work);
    fclose(f);
}

static int is_student_key(const char *key) { return strncmp(key, "student.", 8) == 0; }

/* The overrides of a row, in `store` (their texts) and `list`. */
static int overrides_of(const row *r, char store[][256], const char **list) {
    int n = 0;
    if (strchr(r->value, '=')) {
        char copy[1024];
        snprintf(copy, sizeof copy, "%s", r->value);
        for (char *save = NULL, *tok = strtok_r(copy, ";", &save); tok; tok = strtok_r(NULL, ";", &save))
            snprintf(store[n++], 256, "%s", tok);
    } else if (strncmp(r->key, "teacher.", 8) == 0) {
        snprintf(store[n++], 256, "teacher.std.%s=%s", r->key + 8, r->value);
    } else {
        snprintf(store[n++], 256, "%s=%s", r->key, r->value);
        if (is_student_key(r->key))
            for (int m = 1; m < MODELS; m++) snprintf(store[n++], 256, "student.%s.%s=%s", models[m], r->key + 8, r->value);
    }
    for (int i = 0; i < n; i++) list[i] = store[i];
    return n;
}

/* The digests of the 16 outputs under the overrides; the readers and names
 * of each output; 0 and a message when the configuration is refused. */
typedef struct {
    uint64_t digest[OUTPUTS];
    unsigned readers[OUTPUTS];
    const char *teacher[OUTPUTS]; /* the teacher of a teacher or store output */
    char name[OUTPUTS][32];
} outputs;

static int digest_outputs(const char *const *set, int n_set, outputs *o, char *err, size_t err_len) {
    static cbd_config cfg, model;
    if (cbd_config_load(&cfg, ini_path, set, n_set, err, err_len) != 0) return -1;
    cbd_dataset *train = cbd_stage_open_dataset(&cfg, "train", cfg.data.train, cfg.data.classes);
    cbd_dataset *test = cbd_stage_open_dataset(&cfg, "test", cfg.data.test, cbd_dataset_classes(train));
    cbd_data_digests data;
    cbd_stage_data_digests(&cfg, train, test, &data);
    int k = 0;
    for (int t = 0; t < TEACHERS; t++) {
        const cbd_teacher_config *tc = cbd_config_teacher(&cfg, teachers[t]);
        o->digest[k] = cbd_output_digest_of(&cfg, CBD_OUTPUT_TEACHER, teachers[t], &data, NULL);
        o->readers[k] = cbd_output_readers(&cfg, CBD_OUTPUT_TEACHER, tc);
        o->teacher[k] = teachers[t];
        snprintf(o->name[k++], 32, "teacher %s", teachers[t]);
        o->digest[k] = cbd_output_digest_of(&cfg, CBD_OUTPUT_STORE, teachers[t], &data, NULL);
        o->readers[k] = cbd_output_readers(&cfg, CBD_OUTPUT_STORE, tc);
        o->teacher[k] = teachers[t];
        snprintf(o->name[k++], 32, "store %s", teachers[t]);
    }
    uint64_t report = CBD_FNV1A64_INIT;
    for (int m = 0; m < MODELS; m++) {
        if (cbd_config_load_model(&model, ini_path, set, n_set, models[m], err, err_len) != 0) return -1;
        o->digest[k] = cbd_output_digest_of(&model, CBD_OUTPUT_MODEL, NULL, &data, NULL);
        o->readers[k] = cbd_output_readers(&model, CBD_OUTPUT_MODEL, NULL);
        o->teacher[k] = NULL;
        snprintf(o->name[k++], 32, "model %s", models[m]);
        const uint64_t r = cbd_output_digest_of(&model, CBD_OUTPUT_REPORT, NULL, &data, NULL);
        report = cbd_fnv1a64_update(report, &r, sizeof r);
    }
    o->digest[k] = cbd_output_digest_of(&cfg, CBD_OUTPUT_EVAL, NULL, &data, NULL);
    o->readers[k] = CBD_READ_EVAL;
    o->teacher[k] = NULL;
    snprintf(o->name[k++], 32, "eval");
    o->digest[k] = report;
    o->readers[k] = CBD_READ_REPORT;
    o->teacher[k] = NULL;
    snprintf(o->name[k++], 32, "report");
    cbd_dataset_close(train);
    cbd_dataset_close(test);
    return 0;
}

/* The reader bits of a readers string of the table. */
static unsigned parse_readers(const char *text) {
    static const struct {
        const char *name;
        unsigned bit;
    } names[] = {{"teacher", CBD_READ_TEACHER}, {"augment", CBD_READ_AUG_TEACHER}, {"dump", CBD_READ_DUMP},
                 {"train", CBD_READ_TRAIN},     {"finetune", CBD_READ_FINETUNE},  {"head", CBD_READ_HEAD},
                 {"tau", CBD_READ_TAU},         {"ensemble", CBD_READ_ENSEMBLE},  {"eval", CBD_READ_EVAL},
                 {"report", CBD_READ_REPORT}};
    unsigned bits = 0;
    char copy[256];
    snprintf(copy, sizeof copy, "%s", text);
    for (char *save = NULL, *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        int found = 0;
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (!strcmp(tok, names[i].name)) bits |= names[i].bit, found = 1;
        if (!found) {
            fprintf(stderr, "table: unknown reader '%s'\n", tok);
            exit(1);
        }
    }
    return bits;
}

static const row *row_of(const char *key) {
    for (int i = 0; i < ROWS; i++)
        if (!strcmp(table[i].key, key)) return &table[i];
    return NULL;
}

/* Every key of the schema has a row, and every row names a key. */
static void check_table_covers_schema(void) {
    const int n = cbd_config_key_count();
    int seen[ROWS] = {0};
    for (int i = 0; i < n; i++) {
        const char *section, *key;
        cbd_config_key_at(i, &section, &key);
        char name[128];
        snprintf(name, sizeof name, "%s.%s", strncmp(section, "teacher", 7) ? section : "teacher", key);
        const row *r = row_of(name);
        CHECK(r != NULL, "schema key %s has no row in this test's table: say who reads it", name);
        if (r) seen[r - table]++;
    }
    for (int i = 0; i < ROWS; i++) CHECK(seen[i] == 1, "table row %s is not one key of the schema", table[i].key);
}

int main(int argc, char **argv) {
    write_fixture(test_work_dir(argc, argv));
    char err[4096];
    static outputs base, changed;
    if (digest_outputs(NULL, 0, &base, err, sizeof err) != 0) {
        fprintf(stderr, "the fixture is refused: %s\n", err);
        return 1;
    }
    check_table_covers_schema();
    for (int i = 0; i < ROWS; i++) {
        const row *r = &table[i];
        char store[16][256];
        const char *set[16];
        const int n = overrides_of(r, store, set);
        if (digest_outputs(set, n, &changed, err, sizeof err) != 0) {
            CHECK(0, "%s: the changed configuration is refused: %s", r->key, err);
            continue;
        }
        const unsigned want = parse_readers(r->readers);
        const int teacher_key = strncmp(r->key, "teacher.", 8) == 0;
        char wrong[2048] = "";
        for (int k = 0; k < OUTPUTS; k++) {
            int expect = (base.readers[k] & want) != 0;
            /* a [teacher.NAME] key is read by that teacher's outputs only */
            if (teacher_key && base.teacher[k] && strcmp(base.teacher[k], "std")) expect = 0;
            const int stale = changed.digest[k] != base.digest[k];
            if (stale != expect) {
                size_t at = strlen(wrong);
                snprintf(wrong + at, sizeof wrong - at, "%s%s %s", at ? ", " : "", base.name[k],
                         stale ? "stale" : "not stale");
            }
        }
        CHECK(!wrong[0], "%s changed (%s): %s; it reads as: %s", r->key, r->value, wrong,
              r->readers[0] ? r->readers : "nobody");
    }
    /* the same configuration gives the same digests: nothing unstable in the text */
    if (digest_outputs(NULL, 0, &changed, err, sizeof err) == 0)
        CHECK(!memcmp(changed.digest, base.digest, sizeof base.digest), "two loads of one INI differ");
    /* [features] logits = auto digests as what it comes to: true for the
     * fixture's few classes, so a store dumped with true stays up to date */
    const char *logits_true[] = {"features.logits=true"};
    if (digest_outputs(logits_true, 1, &changed, err, sizeof err) == 0)
        CHECK(!memcmp(changed.digest, base.digest, sizeof base.digest), "logits = true digests unlike auto");
    static cbd_config cfg;
    if (cbd_config_load(&cfg, ini_path, NULL, 0, err, sizeof err) == 0) {
        CHECK(cfg.features.logits == CBD_LOGITS_AUTO, "logits defaults to auto");
        CHECK(cbd_config_stores_logits(&cfg, CBD_LOGITS_AUTO_MAX_CLASSES) &&
                  !cbd_config_stores_logits(&cfg, CBD_LOGITS_AUTO_MAX_CLASSES + 1),
              "auto: logits up to %d classes, none above", CBD_LOGITS_AUTO_MAX_CLASSES);
        cfg.features.logits = CBD_LOGITS_TRUE;
        CHECK(cbd_config_stores_logits(&cfg, 8142), "true stores them at 8142 classes");
        cfg.features.logits = CBD_LOGITS_FALSE;
        CHECK(!cbd_config_stores_logits(&cfg, 10), "false stores none");
    }
    return test_finish("output_digest");
}
