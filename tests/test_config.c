/* The experiment INI: values and defaults, resolution, overrides, every class
 * of error (each naming file, line and key), CRLF files, the write/load round
 * trip, and the schema's documentation.
 *
 * usage: test_config FIXTURE_DIR README */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* realpath, mkdtemp */
#endif
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "experiment/config.h"
#include "experiment/run_layout.h"
#include "store/digest.h"
#include "tests/test_util.h"

/* Absolute folders, kept short so that paths built on them fit PATH_MAX. */
static char fixtures[1024];
static char tmp[1024];
static cbd_config cfg, cfg2; /* large: kept off the stack */
static char err[4096];

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
}

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (fread(s, 1, (size_t)n, f) != (size_t)n) exit(1);
    s[n] = '\0';
    fclose(f);
    return s;
}

static void fixture(char *out, const char *name) { snprintf(out, PATH_MAX, "%s/%s", fixtures, name); }

static int feq(float a, float b) { return a == b; }

/* ---- a full file: every key away from its default ---------------------------- */

static void test_full(void) {
    char path[PATH_MAX], want[PATH_MAX + 64], cwd[PATH_MAX];
    fixture(path, "full.ini");
    int rc = cbd_config_load(&cfg, path, NULL, 0, err, sizeof err);
    CHECK(rc == 0, "full.ini: %s", err);
    if (rc) return;
    CHECK(getcwd(cwd, sizeof cwd) != NULL, "getcwd");
    CHECK(!strcmp(cfg.experiment.name, "full-test.1"), "%s", cfg.experiment.name);
    CHECK(cfg.experiment.seed == 12345678901234ull, "%llu", (unsigned long long)cfg.experiment.seed);
    snprintf(want, sizeof want, "%s/out/full", cwd);
    CHECK(!strcmp(cfg.experiment.output_dir, want), "output_dir %s, want %s", cfg.experiment.output_dir, want);
    CHECK(cfg.experiment.device == CBD_DEVICE_AUTO, "device");
    CHECK(!strcmp(cbd_config_device_name(&cfg), "auto"), "device name");
    CHECK(cfg.experiment.threads == 3, "threads");

    snprintf(want, sizeof want, "%s/data/train.txt", fixtures);
    CHECK(!strcmp(cfg.data.train, want), "train %s, want %s", cfg.data.train, want);
    /* "../config/..." is taken off the INI's folder: tests/config/../config = tests/config */
    snprintf(want, sizeof want, "%s/data/val.txt", fixtures);
    CHECK(!strcmp(cfg.data.val, want), "val %s, want %s", cfg.data.val, want);
    CHECK(!strcmp(cfg.data.test, "/abs/test.h5"), "test %s", cfg.data.test);
    snprintf(want, sizeof want, "%s/images", fixtures);
    CHECK(!strcmp(cfg.data.image_root, want), "image_root %s", cfg.data.image_root);
    snprintf(want, sizeof want, "%s/names.txt", fixtures);
    CHECK(!strcmp(cfg.data.class_names, want), "class_names %s", cfg.data.class_names);
    CHECK(cfg.data.channels == 1 && cfg.data.resize == 40 && cfg.data.image_size == 28, "data ints");
    CHECK(cfg.data.crop == CBD_CROP_RANDOM_RESIZED && cfg.data.pad == 2 && cfg.data.flip == 0, "crop, pad, flip");
    CHECK(feq(cfg.data.scale_min, 0.08f) && feq(cfg.data.scale_max, 0.9f), "scale");
    CHECK(feq(cfg.data.ratio_min, 0.5f) && feq(cfg.data.ratio_max, 2.0f), "ratio");
    CHECK(cfg.data.mean_count == 1 && feq(cfg.data.mean[0], 0.2860f), "mean");
    CHECK(cfg.data.std_count == 1 && feq(cfg.data.std[0], 0.3530f), "std");
    CHECK(cfg.data.classes == 10 && cfg.data.on_bad_image == CBD_BAD_IMAGE_SKIP && cfg.data.workers == 0, "data");

    CHECK(!strcmp(cfg.model.arch, "resnet32") && cfg.model.head == CBD_HEAD_LINEAR, "model");
    CHECK(feq(cfg.model.cosine_scale, 16.0f), "cosine_scale");

    CHECK(cfg.train.epochs == 12 && cfg.train.batch_size == 64, "train ints");
    CHECK(feq(cfg.train.lr, 0.05f) && feq(cfg.train.lr_final, 0.001f), "train lr");
    CHECK(cfg.train.warmup_epochs == 2 && feq(cfg.train.momentum, 0.8f) && feq(cfg.train.weight_decay, 1e-4f),
          "train sgd");
    CHECK(cfg.train.nesterov == 1 && cfg.train.decay_norm_and_bias == 1, "train bools");
    CHECK(cfg.train.sampling == CBD_SAMPLING_SQRT && cfg.train.checkpoint_every == 3, "train sampling");

    CHECK(feq(cfg.augment.brightness, 0.3f) && feq(cfg.augment.contrast, 0.2f) && feq(cfg.augment.saturation, 0.1f),
          "augment");
    CHECK(feq(cfg.augment.hue, 0.05f) && feq(cfg.augment.jitter_p, 0.5f) && feq(cfg.augment.grayscale_p, 0.1f) &&
              feq(cfg.augment.noise_sigma, 0.02f),
          "augment");

    CHECK(cfg.teacher_count == 3, "teacher_count %d", cfg.teacher_count);
    const cbd_teacher_config *t1 = cbd_config_teacher(&cfg, "std-1"), *t2 = cbd_config_teacher(&cfg, "aug_2"),
                             *t3 = cbd_config_teacher(&cfg, "T3");
    CHECK(t1 == &cfg.teachers[0] && t2 == &cfg.teachers[1] && t3 == &cfg.teachers[2], "teacher order");
    CHECK(cbd_config_teacher(&cfg, "t9") == NULL, "no t9");
    if (t1 && t2 && t3) {
        CHECK(t1->kind == CBD_TEACHER_STANDARD && t1->seed == 99 && t1->epochs == 8, "t1");
        CHECK(!strcmp(t1->arch, "resnet20") && feq(t1->lr, 0.02f), "t1 arch, lr");
        CHECK(t2->kind == CBD_TEACHER_AUGMENT && t2->seed == 12345678901234ull + 1 + 1, "t2 seed %llu",
              (unsigned long long)t2->seed);
        CHECK(t2->epochs == 12 && !strcmp(t2->arch, "resnet32") && feq(t2->lr, 0.05f), "t2 resolved");
        CHECK(t3->epochs == 4 && t3->seed == 12345678901234ull + 1 + 2, "t3");
    }

    CHECK(cfg.features.views == 4 && cfg.features.dtype == CBD_FEATURE_FLOAT32 && cfg.features.logits == CBD_LOGITS_FALSE, "features");
    CHECK(cfg.features.batch_size == 256 && cfg.features.memory_cap_mb == 0, "features");

    CHECK(feq(cfg.student.alpha, 0.6f) && feq(cfg.student.beta, 10.0f), "student weights");
    CHECK(cfg.student.teachers_count == 2 && !strcmp(cfg.student.teachers[0], "aug_2") &&
              !strcmp(cfg.student.teachers[1], "std-1"),
          "student teachers");
    CHECK(cfg.student.teacher_source == CBD_TEACHER_SOURCE_ONLINE && cfg.student.distill == CBD_DISTILL_HYBRID,
          "student source, distill");
    CHECK(cfg.student.loss == CBD_LOSS_LOGIT_ADJUSTED && feq(cfg.student.tau, 0.5f) &&
              feq(cfg.student.temperature, 4.0f),
          "student loss");
    CHECK(cfg.student.sampling == CBD_SAMPLING_INSTANCE && cfg.student.epochs == 6 &&
              !strcmp(cfg.student.arch, "resnet56") && cfg.student.projection_relu == 0,
          "student");
    CHECK(cfg.eval.many_threshold == 50 && cfg.eval.few_threshold == 5 && cfg.eval.batch_size == 32 &&
              cfg.eval.top_k == 3,
          "eval");
    CHECK(!strcmp(cfg.source_path, path), "source_path");
    CHECK(!strcmp(cfg.source_dir, fixtures), "source_dir %s", cfg.source_dir);
}

/* ---- defaults and their resolution -------------------------------------------- */

static void test_defaults(void) {
    char path[PATH_MAX], want[PATH_MAX + 64], cwd[PATH_MAX];
    fixture(path, "minimal.ini");
    int rc = cbd_config_load(&cfg, path, NULL, 0, err, sizeof err);
    CHECK(rc == 0, "minimal.ini: %s", err);
    if (rc) return;
    CHECK(getcwd(cwd, sizeof cwd) != NULL, "getcwd");
    CHECK(!strcmp(cfg.experiment.name, "minimal"), "name %s", cfg.experiment.name);
    snprintf(want, sizeof want, "%s/runs/minimal", cwd);
    CHECK(!strcmp(cfg.experiment.output_dir, want), "output_dir %s", cfg.experiment.output_dir);
    CHECK(cfg.experiment.seed == 7 && cfg.experiment.device == CBD_DEVICE_CPU && cfg.experiment.threads == 0,
          "experiment");
    CHECK(!cfg.data.val[0] && !cfg.data.test[0] && !cfg.data.image_root[0] && !cfg.data.class_names[0],
          "empty paths stay empty");
    CHECK(cfg.data.channels == 3 && cfg.data.resize == 0 && cfg.data.image_size == 32, "data ints");
    CHECK(cfg.data.crop == CBD_CROP_PAD_RANDOM && cfg.data.pad == 4 && cfg.data.flip == 1, "crop");
    CHECK(feq(cfg.data.scale_min, 0.05f) && feq(cfg.data.scale_max, 1.0f), "scale");
    CHECK(feq(cfg.data.ratio_min, 0.75f) && feq(cfg.data.ratio_max, 1.3333333f), "ratio");
    CHECK(cfg.data.mean_count == 3 && feq(cfg.data.mean[0], 0.5f) && feq(cfg.data.mean[2], 0.5f),
          "mean expanded to channels");
    CHECK(cfg.data.std_count == 3 && feq(cfg.data.std[1], 0.25f), "std expanded");
    CHECK(cfg.data.classes == 0 && cfg.data.on_bad_image == CBD_BAD_IMAGE_FAIL && cfg.data.workers == 2, "data");
    CHECK(!strcmp(cfg.model.arch, "resnet20") && cfg.model.head == CBD_HEAD_COSINE &&
              feq(cfg.model.cosine_scale, 20.0f),
          "model");
    CHECK(cfg.train.epochs == 90 && cfg.train.batch_size == 128 && feq(cfg.train.lr, 0.1f) &&
              feq(cfg.train.lr_final, 0.0f),
          "train");
    CHECK(cfg.train.warmup_epochs == 0 && feq(cfg.train.momentum, 0.9f) && feq(cfg.train.weight_decay, 5e-4f), "sgd");
    CHECK(!cfg.train.nesterov && !cfg.train.decay_norm_and_bias && cfg.train.sampling == CBD_SAMPLING_INSTANCE &&
              cfg.train.checkpoint_every == 1,
          "train");
    CHECK(feq(cfg.augment.brightness, 0.4f) && feq(cfg.augment.hue, 0.1f) && feq(cfg.augment.jitter_p, 0.8f) &&
              feq(cfg.augment.grayscale_p, 0.2f) && feq(cfg.augment.noise_sigma, 0.01f),
          "augment");
    CHECK(cfg.teacher_count == 3, "teachers %d", cfg.teacher_count);
    const cbd_teacher_config *a = &cfg.teachers[0], *b = &cfg.teachers[1], *c = &cfg.teachers[2];
    CHECK(!strcmp(a->name, "a") && !strcmp(b->name, "b") && !strcmp(c->name, "c"), "teacher names");
    CHECK(a->seed == 8 && b->seed == 100 && c->seed == 10, "teacher seeds %llu %llu %llu",
          (unsigned long long)a->seed, (unsigned long long)b->seed, (unsigned long long)c->seed);
    CHECK(a->kind == CBD_TEACHER_STANDARD && a->epochs == 90 && c->epochs == 90, "teacher kind, epochs");
    CHECK(!strcmp(a->arch, "resnet20") && !strcmp(c->arch, "resnet32"), "teacher arch");
    CHECK(feq(a->lr, 0.1f) && feq(c->lr, 0.3f), "teacher lr");
    CHECK(cfg.features.views == 10 && cfg.features.dtype == CBD_FEATURE_FLOAT16 && cfg.features.logits == CBD_LOGITS_AUTO &&
              cfg.features.batch_size == 128 && cfg.features.memory_cap_mb == 4096,
          "features");
    CHECK(feq(cfg.student.alpha, 0.4f) && feq(cfg.student.beta, 100.0f), "student weights");
    CHECK(cfg.student.teachers_count == 3 && !strcmp(cfg.student.teachers[0], "a") &&
              !strcmp(cfg.student.teachers[2], "c"),
          "student.teachers = all teachers");
    CHECK(cfg.student.teacher_source == CBD_TEACHER_SOURCE_STORE && cfg.student.distill == CBD_DISTILL_FEATURE &&
              cfg.student.loss == CBD_LOSS_CE,
          "student kinds");
    CHECK(feq(cfg.student.tau, 1.0f) && feq(cfg.student.temperature, 2.0f) &&
              cfg.student.sampling == CBD_SAMPLING_CLASS_BALANCED,
          "student");
    CHECK(cfg.student.epochs == 90 && !strcmp(cfg.student.arch, "resnet20") && cfg.student.projection_relu == 1,
          "student resolved");
    CHECK(cfg.eval.many_threshold == 100 && cfg.eval.few_threshold == 20 && cfg.eval.batch_size == 128 &&
              cfg.eval.top_k == 5,
          "eval");
}

/* ---- relative paths ------------------------------------------------------------ */

static void test_paths(void) {
    char path[PATH_MAX], want[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/sub/paths.ini", tmp);
    char sub[PATH_MAX];
    snprintf(sub, sizeof sub, "%s/sub", tmp);
    if (mkdir(sub, 0755) != 0) CHECK(0, "mkdir %s", sub);
    write_text(path, "[data]\ntrain = ../m/train.txt\nval = ./v.txt\ntest = .\nimage_root = /img//x\n"
                     "class_names = a/../b.txt\n[experiment]\noutput_dir = /abs/out\n[student]\ndistill = none\n");
    int rc = cbd_config_load(&cfg, path, NULL, 0, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    if (rc) return;
    snprintf(want, sizeof want, "%s/m/train.txt", tmp);
    CHECK(!strcmp(cfg.data.train, want), "train %s, want %s", cfg.data.train, want);
    snprintf(want, sizeof want, "%s/sub/v.txt", tmp);
    CHECK(!strcmp(cfg.data.val, want), "val %s", cfg.data.val);
    snprintf(want, sizeof want, "%s/sub", tmp);
    CHECK(!strcmp(cfg.data.test, want), "test %s", cfg.data.test);
    CHECK(!strcmp(cfg.data.image_root, "/img//x"), "absolute paths stay: %s", cfg.data.image_root);
    snprintf(want, sizeof want, "%s/sub/a/../b.txt", tmp);
    CHECK(!strcmp(cfg.data.class_names, want), "inner .. stays (symlinks): %s", cfg.data.class_names);
    CHECK(!strcmp(cfg.experiment.output_dir, "/abs/out"), "output_dir %s", cfg.experiment.output_dir);
    CHECK(!strcmp(cfg.experiment.name, "paths"), "name");
    CHECK(cfg.teacher_count == 0 && cfg.student.teachers_count == 0, "no teachers with distill = none");
}

/* ---- overrides -------------------------------------------------------------------- */

static void test_overrides(void) {
    char path[PATH_MAX], want[PATH_MAX + 64];
    fixture(path, "minimal.ini");
    const char *ok[] = {"train.epochs=3", " teacher.b.seed = 5 ", "data.mean=0.1,0.2, 0.3", "data.train=other.txt",
                        "train.epochs=4", "student.teachers=c,a", "experiment.device=cuda"};
    int rc = cbd_config_load(&cfg, path, ok, 7, err, sizeof err);
    CHECK(rc == 0, "overrides: %s", err);
    if (!rc) {
        CHECK(cfg.train.epochs == 4, "the later override wins: %d", cfg.train.epochs);
        CHECK(cfg.teachers[0].epochs == 4 && cfg.student.epochs == 4, "resolution sees overrides");
        CHECK(cfg.teachers[1].seed == 5, "teacher seed %llu", (unsigned long long)cfg.teachers[1].seed);
        CHECK(cfg.data.mean_count == 3 && feq(cfg.data.mean[1], 0.2f) && feq(cfg.data.mean[2], 0.3f), "mean");
        snprintf(want, sizeof want, "%s/other.txt", fixtures);
        CHECK(!strcmp(cfg.data.train, want), "--set paths start from the INI's folder: %s", cfg.data.train);
        CHECK(cfg.student.teachers_count == 2 && !strcmp(cfg.student.teachers[0], "c"), "student teachers");
        CHECK(cfg.experiment.device == CBD_DEVICE_CUDA, "device");
    }
    struct {
        const char *set, *needle;
    } bad[] = {
        {"train.epoch=3", "epoch"},       {"train.epochs=abc", "train.epochs"}, {"train.epochs=0", "at least 1"},
        {"trian.epochs=3", "trian"},      {"teacher.zz.seed=1", "teacher.zz"},  {"epochs=3", "SECTION.KEY"},
        {"train.epochs", "SECTION.KEY"},  {"data.train=a ;b", "data.train"},    {"student.teachers=a,zz", "zz"},
        {"train.warmup_epochs=90", "warmup_epochs"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *one[1] = {bad[i].set};
        rc = cbd_config_load(&cfg, path, one, 1, err, sizeof err);
        char prefix[256];
        snprintf(prefix, sizeof prefix, "--set %s", bad[i].set);
        CHECK(rc != 0, "--set %s loaded", bad[i].set);
        CHECK(strstr(err, prefix) == err && strstr(err, bad[i].needle), "--set %s: message \"%s\"", bad[i].set, err);
    }
}

/* ---- several models: [student.NAME] overrides [student] ------------------------------- */

static void expect_model_error(const char *text, const char *model, int line, const char *also) {
    char path[PATH_MAX], where[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/models.ini", tmp);
    write_text(path, text);
    const int rc = cbd_config_load_model(&cfg, path, NULL, 0, model, err, sizeof err);
    CHECK(rc != 0, "model %s loaded, expected an error at line %d (%s)", model ? model : "student", line, also);
    if (rc != 0 && line) {
        snprintf(where, sizeof where, "%s:%d: ", path, line);
        CHECK(strstr(err, where) == err, "message should start with \"%s\": %s", where, err);
    }
    CHECK(rc == 0 || strstr(err, also), "message should say \"%s\": %s", also, err);
}

static void test_models(void) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/models.ini", tmp);
    write_text(path, "[data]\ntrain = t.txt\n"          /* 1-2 */
                     "[teacher.t1]\n[teacher.lin]\nhead = linear\n" /* 3-5 */
                     "[student.crt]\nmethod = crt\nfrom = t1\nlabel = cRT\n" /* 6-9 */
                     "[student]\nalpha = 0.3\nteachers = t1\n" /* 10-12 */
                     "[student.b]\nbeta = 5\nseed = 9\n"); /* 13-15 */
    CHECK(cbd_config_load(&cfg, path, NULL, 0, err, sizeof err) == 0, "models.ini: %s", err);
    CHECK(cfg.student_count == 2 && !strcmp(cfg.students[0], "crt") && !strcmp(cfg.students[1], "b"),
          "named models in file order");
    CHECK(!strcmp(cfg.student_name, "student") && !strcmp(cfg.student.label, "student") &&
              cfg.student.method == CBD_METHOD_TRAIN && feq(cfg.student.alpha, 0.3f) && cfg.student.seed == 0,
          "[student] itself, label and seed defaults");
    CHECK(cfg.teachers[1].head == CBD_HEAD_LINEAR && cfg.teachers[0].head == CBD_HEAD_COSINE &&
              !strcmp(cfg.teachers[0].label, "teacher t1"),
          "teacher head and label");
    const uint64_t plain = cbd_config_digest(&cfg);

    /* b inherits alpha and teachers from [student], sets beta and seed */
    CHECK(cbd_config_load_model(&cfg, path, NULL, 0, "b", err, sizeof err) == 0, "model b: %s", err);
    CHECK(!strcmp(cfg.student_name, "b") && !strcmp(cfg.student.label, "b") && feq(cfg.student.alpha, 0.3f) &&
              feq(cfg.student.beta, 5.0f) && cfg.student.seed == 9 && cfg.student.teachers_count == 1,
          "b = [student] + its keys");
    CHECK(cbd_config_digest(&cfg) != plain, "b's resolved configuration differs from [student]'s");
    char stem[CBD_RUN_PATH_MAX];
    cbd_layout_model(stem, sizeof stem, cfg.experiment.output_dir, cfg.student_name);
    CHECK(strstr(stem, "/students/b") && stem[strlen(stem) - 1] == 'b', "b's outputs: %s", stem);
    CHECK(cbd_config_load_model(&cfg, path, NULL, 0, "crt", err, sizeof err) == 0, "model crt: %s", err);
    CHECK(cfg.student.method == CBD_METHOD_CRT && !strcmp(cfg.student.from, "t1") &&
              !strcmp(cfg.student.label, "cRT") && feq(cfg.student.alpha, 0.3f),
          "crt");
    /* --set student.NAME.KEY wins over the section */
    const char *set[] = {"student.b.beta=7", "student.alpha=0.5"};
    CHECK(cbd_config_load_model(&cfg, path, set, 2, "b", err, sizeof err) == 0, "--set: %s", err);
    CHECK(feq(cfg.student.beta, 7.0f) && feq(cfg.student.alpha, 0.5f), "--set of a model's key and of [student]");
    CHECK(cbd_config_load_model(&cfg, path, NULL, 0, "nope", err, sizeof err) != 0 &&
              strstr(err, "no [student.nope]") && strstr(err, "student, crt, b"),
          "unknown model: %s", err);
    const char *bad_set[] = {"student.zz.beta=1"};
    CHECK(cbd_config_load_model(&cfg, path, bad_set, 1, NULL, err, sizeof err) != 0 && strstr(err, "[student.zz]"),
          "--set of an unknown model: %s", err);

    /* errors name the line of [student.NAME] */
    expect_model_error("[data]\ntrain = t.txt\n[teacher.t1]\n[student.x]\nalpah = 1\n", NULL, 5, "did you mean alpha");
    expect_model_error("[data]\ntrain = t.txt\n[teacher.t1]\n[student.x]\nalpha = 2\n", NULL, 5, "[0, 1]");
    expect_model_error("[data]\ntrain = t.txt\n[teacher.t1]\n[student.x]\nbeta = 1\nbeta = 2\n", NULL, 6,
                       "duplicate key");
    expect_model_error("[data]\ntrain = t.txt\n[teacher.t1]\n[student.x]\n[student.x]\n", NULL, 5, "repeated");
    expect_model_error("[data]\ntrain = t.txt\n[teacher.t1]\n[student.student]\n", NULL, 4, "bad model name");
    expect_model_error("[data]\ntrain = t.txt\n[teacher.t1]\n[student.x]\nmethod = crt\n", "x", 5, "needs `from`");
    expect_model_error("[data]\ntrain = t.txt\n[teacher.t1]\n[student.x]\nmethod = crt\nfrom = t7\n", "x", 6,
                       "no [teacher.t7]");
    expect_model_error("[data]\ntrain = t.txt\n[teacher.t1]\n[student.x]\nmethod = lws\nfrom = t1\n", "x", 5,
                       "head = linear");
    expect_model_error("[data]\ntrain = t.txt\n[teacher.t1]\n[student.x]\nviews = 11\n", "x", 5,
                       "hold 10 views");
    expect_model_error("[data]\ntrain = t.txt\n[teacher.t1]\n[student.x]\nlabel = a=b\n", NULL, 5, "letters");
}

/* ---- errors: each names the file, the line and the key -------------------------------- */

static void expect_error(const char *text, int line, const char *key, const char *also) {
    char path[PATH_MAX], where[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/case.ini", tmp);
    write_text(path, text);
    const int rc = cbd_config_load(&cfg, path, NULL, 0, err, sizeof err);
    snprintf(where, sizeof where, "%s:%d: ", path, line);
    CHECK(rc != 0, "loaded, expected an error at line %d about %s:\n%s", line, key, text);
    if (rc == 0) return;
    CHECK(strstr(err, where) == err, "message should start with \"%s\": %s", where, err);
    CHECK(strstr(err, key) != NULL, "message should name %s: %s", key, err);
    CHECK(!also || strstr(err, also), "message should say \"%s\": %s", also ? also : "", err);
}

#define BASE "[data]\ntrain = t.txt\n[teacher.t1]\n" /* lines 1-3 */

static void test_errors(void) {
    expect_error(BASE "[trian]\nepochs = 3\n", 4, "trian", "unknown section");
    expect_error(BASE "[train]\nepoch = 3\n", 5, "epoch", "did you mean epochs");
    expect_error(BASE "[train]\nepochs = 3\nbatch_size = 4\nepochs = 4\n", 7, "epochs", "line 5");
    expect_error(BASE "[train]\nbatch_size = 12x\n", 5, "batch_size", "integer");
    expect_error(BASE "[train]\nepochs = -3\n", 5, "[train] epochs = -3", "at least 1");
    expect_error(BASE "[train]\nepochs =\n", 5, "epochs", "integer");
    expect_error(BASE "[train]\nepochs = 5 # five\n", 5, "epochs", "integer");
    expect_error(BASE "[train]\nlr = 0.1x\n", 5, "lr", "number");
    expect_error(BASE "[train]\nlr = nan\n", 5, "lr", "number");
    expect_error(BASE "[train]\nlr = 0\n", 5, "lr", "greater than 0");
    expect_error(BASE "[train]\nmomentum = 1\n", 5, "momentum", "[0, 1)");
    expect_error(BASE "[experiment]\nseed = -1\n", 5, "seed", "unsigned");
    expect_error(BASE "[experiment]\nseed = 18446744073709551616\n", 5, "seed", "unsigned");
    expect_error(BASE "[train]\nsampling = balanced\n", 5, "sampling", "class_balanced");
    expect_error(BASE "[data]\n", 4, "[data]", "repeated");
    expect_error("[data]\ntrain = t.txt\nflip = maybe\n", 3, "flip", "true or false");
    expect_error("[data]\nval = v.txt\n[teacher.t1]\n", 1, "train", "required");
    expect_error("[data]\ntrain =\n[teacher.t1]\n", 2, "train", "required");
    expect_error(BASE "[student]\nteachers = t1, t9\n", 5, "teachers", "t9");
    expect_error(BASE "[student]\nteachers = t1, t1\n", 5, "teachers", "twice");
    expect_error(BASE "[eval]\nmany_threshold = 10\nfew_threshold = 20\n", 6, "few_threshold", "many_threshold");
    expect_error(BASE "[eval]\nmany_threshold = 10\n", 5, "many_threshold", "few_threshold");
    expect_error(BASE "[data]\n", 4, "data", NULL);
    expect_error("[data]\ntrain = t.txt\nmean = 0.5, 0.4\n[teacher.t1]\n", 3, "mean", "2 values for 3 channels");
    expect_error("[data]\ntrain = t.txt\nstd = 0.5, 0, 1\n[teacher.t1]\n", 3, "std", "greater than 0");
    expect_error("[data]\ntrain = t.txt\nmean = 1, 2, 3, 4\n[teacher.t1]\n", 3, "mean", "at most 3");
    expect_error("[data]\ntrain = t.txt\nchannels = 2\n[teacher.t1]\n", 3, "channels", "1 or 3");
    expect_error(BASE "[teacher.a b]\n", 4, "teacher.a b", "bad teacher name");
    expect_error(BASE "[teacher.]\n", 4, "teacher.", "bad teacher name");
    expect_error(BASE "[teacher]\n", 4, "teacher", NULL);
    expect_error(BASE "[teacher.t1]\n", 4, "teacher.t1", "repeated");
    expect_error(BASE "[teacher.t2]\nkind = strong\n", 5, "kind", "augment");
    expect_error(BASE "[teacher.t2]\nseeds = 3\n", 5, "seeds", "[teacher.t2]");
    expect_error(BASE "[teacher.t2]\narch = resnet21\n", 5, "arch", "resnet20");
    expect_error(BASE "[model]\narch = vgg\n", 5, "arch", "resnet50");
    expect_error("epochs = 3\n" BASE, 1, "epochs", "outside any section");
    expect_error(BASE "[train]\nepochs 3\n", 5, "epochs 3", "key = value");
    expect_error(BASE "[train\n", 4, "[train", "']'");
    expect_error(BASE "[train] x\n", 4, "x", "after the section header");
    expect_error(BASE "[train]\nwarmup_epochs = 5\nepochs = 5\n", 5, "warmup_epochs", "less than epochs");
    expect_error(BASE "epochs = 3\n[train]\nwarmup_epochs = 4\n", 4, "epochs", "warmup_epochs");
    expect_error("[data]\ntrain = t.txt\nscale_min = 0.5\nscale_max = 0.4\n[teacher.t1]\n", 4, "scale_max",
                 "scale_min");
    expect_error("[data]\ntrain = t.txt\nratio_max = 0.5\n[teacher.t1]\n", 3, "ratio_max", "ratio_min");
    expect_error("[experiment]\nname = a/b\n" BASE, 2, "name", "letters");
    expect_error("[data]\ntrain = t.txt\n[features]\nlogits = false\n[student]\ndistill = logit\n[teacher.t]\n", 4,
                 "logits", "teacher_source");

    /* a [student] distill without teachers names the key at its default */
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/case.ini", tmp);
    write_text(path, "[data]\ntrain = t.txt\n");
    CHECK(cbd_config_load(&cfg, path, NULL, 0, err, sizeof err) != 0 && strstr(err, "[student] distill = feature"),
          "no teachers: %s", err);

    /* too many teachers: the 17th section header */
    char text[4096] = "[data]\ntrain = t.txt\n";
    for (int t = 1; t <= CBD_MAX_TEACHERS + 1; t++) {
        size_t at = strlen(text);
        snprintf(text + at, sizeof text - at, "[teacher.t%d]\n", t);
    }
    expect_error(text, 2 + CBD_MAX_TEACHERS + 1, "teacher.t17", "at most 16");

    /* a file that is not there */
    CHECK(cbd_config_load(&cfg, "/nonexistent/x.ini", NULL, 0, err, sizeof err) != 0 &&
              strstr(err, "/nonexistent/x.ini"),
          "missing file: %s", err);
}

/* ---- file syntax: CRLF, BOM, comments, long lines ------------------------------------- */

static void test_syntax(void) {
    char path[PATH_MAX], crlf[PATH_MAX];
    fixture(path, "full.ini");
    char *text = read_text(path);
    char *converted = malloc(strlen(text) * 2 + 4);
    size_t n = 0;
    memcpy(converted, "\xEF\xBB\xBF", 3); /* and a byte order mark */
    n = 3;
    for (const char *p = text; *p; p++) {
        if (*p == '\n') converted[n++] = '\r';
        converted[n++] = *p;
    }
    converted[n] = '\0';
    snprintf(crlf, sizeof crlf, "%s/crlf.ini", tmp);
    write_text(crlf, converted);
    int rc = cbd_config_load(&cfg, crlf, NULL, 0, err, sizeof err);
    CHECK(rc == 0, "CRLF: %s", err);
    if (rc == 0) {
        CHECK(cfg.train.epochs == 12 && cfg.teacher_count == 3 && !strcmp(cfg.teachers[2].name, "T3"), "CRLF values");
        CHECK(!strcmp(cfg.experiment.name, "full-test.1") && cfg.data.crop == CBD_CROP_RANDOM_RESIZED, "CRLF values");
        CHECK(cfg.student.teachers_count == 2 && !strcmp(cfg.student.teachers[1], "std-1"), "CRLF list");
    }
    free(text);
    free(converted);

    /* an error in a CRLF file still names the right line */
    expect_error("[data]\r\ntrain = t.txt\r\n[teacher.t1]\r\n[train]\r\nepochs = x\r\n", 5, "epochs", "integer");

    /* inline comments: ' ;' ends a value, '#' does not (see ini/README.md) */
    char p2[PATH_MAX];
    snprintf(p2, sizeof p2, "%s/comments.ini", tmp);
    write_text(p2, "; comment\n# comment\n[data] ; comment\ntrain = t;x.txt ; comment\n\n  [teacher.t1]  \n"
                   "  epochs = 7\t; comment\n[train]\nepochs: 9\n");
    rc = cbd_config_load(&cfg, p2, NULL, 0, err, sizeof err);
    CHECK(rc == 0, "comments: %s", err);
    if (rc == 0) {
        const char *slash = strrchr(cfg.data.train, '/');
        CHECK(slash && !strcmp(slash, "/t;x.txt"), "';' inside a value stays: %s", cfg.data.train);
        CHECK(cfg.teachers[0].epochs == 7 && cfg.train.epochs == 9, "values with comments");
    }

    /* a line longer than inih's default 200 characters is read whole or refused, never cut */
    char longpath[400], longini[600];
    memset(longpath, 'p', 300);
    longpath[300] = '\0';
    snprintf(longini, sizeof longini, "[data]\ntrain = /%s\n[teacher.t1]\n", longpath);
    snprintf(p2, sizeof p2, "%s/long.ini", tmp);
    write_text(p2, longini);
    rc = cbd_config_load(&cfg, p2, NULL, 0, err, sizeof err);
    if (rc == 0)
        CHECK(strlen(cfg.data.train) == 301, "long line cut: %zu", strlen(cfg.data.train));
    else
        CHECK(strstr(err, ":2: line longer than"), "long line: %s", err);
}

/* ---- write -> load -> write is the identity --------------------------------------- */

static void round_trip(const char *path, const char *const *sets, int n_sets) {
    char dump1[PATH_MAX], dump2[PATH_MAX];
    int rc = cbd_config_load(&cfg, path, sets, n_sets, err, sizeof err);
    CHECK(rc == 0, "%s: %s", path, err);
    if (rc) return;
    snprintf(dump1, sizeof dump1, "%s/dump1.ini", tmp);
    snprintf(dump2, sizeof dump2, "%s/elsewhere/dump2.ini", tmp);
    FILE *f = fopen(dump1, "w");
    cbd_config_write(&cfg, f);
    fclose(f);
    rc = cbd_config_load(&cfg2, dump1, NULL, 0, err, sizeof err);
    CHECK(rc == 0, "reloading the dump of %s: %s", path, err);
    if (rc) return;
    f = fopen(dump2, "w");
    cbd_config_write(&cfg2, f);
    fclose(f);
    char *a = read_text(dump1), *b = read_text(dump2);
    CHECK(!strcmp(a, b), "dumps differ for %s:\n%s\n----\n%s", path, a, b);
    CHECK(cbd_config_digest(&cfg) == cbd_config_digest(&cfg2), "digests differ for %s", path);
    CHECK(cbd_config_digest(&cfg) == cbd_fnv1a64(a, strlen(a)), "digest is FNV-1a of the dump");
    /* the struct itself, past its source location */
    CHECK(!memcmp(&cfg, &cfg2, offsetof(cbd_config, source_path)), "structs differ for %s", path);
    free(a);
    free(b);
}

static void test_round_trip(void) {
    char sub[PATH_MAX], path[PATH_MAX];
    snprintf(sub, sizeof sub, "%s/elsewhere", tmp);
    if (mkdir(sub, 0755) != 0) CHECK(0, "mkdir %s", sub);
    fixture(path, "full.ini");
    round_trip(path, NULL, 0);
    fixture(path, "minimal.ini");
    round_trip(path, NULL, 0);
    const char *sets[] = {"augment.hue=0.123456789", "train.lr=3e-7", "data.mean=0.485,0.456,0.406",
                          "experiment.seed=18446744073709551615"};
    round_trip(path, sets, 4);
    /* a different value changes the digest */
    cbd_config_load(&cfg, path, NULL, 0, err, sizeof err);
    const uint64_t d = cbd_config_digest(&cfg);
    const char *one[] = {"student.alpha=0.5"};
    cbd_config_load(&cfg, path, one, 1, err, sizeof err);
    CHECK(cbd_config_digest(&cfg) != d, "digest ignores student.alpha");
}

/* ---- the schema is documented ------------------------------------------------------- */

static void test_documentation(const char *readme_path) {
    char *help = NULL;
    size_t help_len = 0;
    FILE *f = open_memstream(&help, &help_len);
    cbd_config_print_help(f);
    fclose(f);
    char *readme = read_text(readme_path);
    const int n = cbd_config_key_count();
    CHECK(n >= 70, "key count %d", n);
    for (int i = 0; i < n; i++) {
        const char *section, *key;
        cbd_config_key_at(i, &section, &key);
        char line[128], row[128], heading[128];
        snprintf(line, sizeof line, "\n  %s = ", key);
        snprintf(row, sizeof row, "| `%s` |", key);
        snprintf(heading, sizeof heading, "[%s]", section);
        CHECK(strstr(help, line) != NULL, "--help lacks %s.%s", section, key);
        CHECK(strstr(readme, row) != NULL, "ini/README.md lacks a row for %s.%s", section, key);
        /* the row's last cell: the outputs the key decides, as the schema says */
        char readers[256], decides[300];
        cbd_config_readers_text(cbd_config_key_readers(i), readers, sizeof readers);
        snprintf(decides, sizeof decides, "| %s |\n", readers);
        char section_heading[128];
        snprintf(section_heading, sizeof section_heading, "### [%s", section);
        const char *in_section = strstr(readme, section_heading);
        const char *at = in_section ? strstr(in_section, row) : NULL;
        const char *end = at ? strchr(at, '\n') : NULL;
        CHECK(at && end && (size_t)(end - at) + 1 >= strlen(decides) &&
                  !strncmp(end + 1 - strlen(decides), decides, strlen(decides)),
              "ini/README.md's row of %s.%s does not end with what it decides (%s)", section, key, readers);
        CHECK(strstr(readme, heading) != NULL, "ini/README.md lacks %s", heading);
    }
    CHECK(strstr(help, "pad_random|random_resized|none") != NULL, "enum values in --help");
    CHECK(cbd_config_key_is_list("data", "mean") == 1 && cbd_config_key_is_list("student", "teachers") == 1,
          "list keys");
    CHECK(cbd_config_key_is_list("student", "alpha") == 0 && cbd_config_key_is_list("teacher.t1", "seed") == 0,
          "scalar keys");
    CHECK(cbd_config_key_is_list("student", "nope") == -1 && cbd_config_key_is_list("nope", "alpha") == -1,
          "unknown keys");
    free(help);
    free(readme);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s FIXTURE_DIR README\n", argv[0]);
        return 2;
    }
    char *real = realpath(argv[1], NULL);
    if (!real || strlen(real) >= sizeof fixtures) {
        fprintf(stderr, "%s: not found, or its path is too long\n", argv[1]);
        return 2;
    }
    strcpy(fixtures, real);
    free(real);
    const char *base = getenv("TMPDIR");
    snprintf(tmp, sizeof tmp, "%s/cbd_test_config_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 2;
    }
    real = realpath(tmp, NULL);
    if (!real || strlen(real) >= sizeof tmp) {
        fprintf(stderr, "%s: cannot resolve\n", tmp);
        return 2;
    }
    strcpy(tmp, real);
    free(real);

    test_full();
    test_defaults();
    test_paths();
    test_overrides();
    test_errors();
    test_models();
    test_syntax();
    test_round_trip();
    test_documentation(argv[2]);

    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    return test_finish("config");
}
