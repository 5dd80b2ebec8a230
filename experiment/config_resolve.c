/* Resolving an experiment's configuration once read: relative paths, the
 * computed defaults ("0 = [train] lr", teacher seeds, the student's teacher
 * list, mean and std per channel) and the rules between keys, each failure
 * naming the key to change. */
#include "experiment/config_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nn/log.h"

/* base + "/" + rel, with rel's leading "./" and "../" taken off base. */
static int join_path(char *out, size_t cap, const char *base, const char *rel) {
    char dir[CBD_PATH_MAX];
    if (strlen(base) >= sizeof dir) return -1;
    strcpy(dir, base);
    for (;;) {
        if (!strcmp(rel, ".")) {
            rel = "";
        } else if (!strncmp(rel, "./", 2)) {
            rel += 2;
        } else if (!strcmp(rel, "..") || !strncmp(rel, "../", 3)) {
            char *slash = strrchr(dir, '/');
            if (slash == dir)
                dir[1] = '\0';
            else if (slash)
                *slash = '\0';
            rel += rel[2] ? 3 : 2;
        } else {
            break;
        }
        while (*rel == '/') rel++;
    }
    const size_t dl = strlen(dir);
    const int n = *rel ? snprintf(out, cap, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", rel)
                       : snprintf(out, cap, "%s", dir);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static void resolve_path(loader *L, int id, const char *base) {
    char *field = (char *)L->cfg + config_keys[id].offset;
    if (!field[0] || field[0] == '/') return;
    char joined[CBD_PATH_MAX];
    if (join_path(joined, sizeof joined, base, field) != 0) {
        config_key_fail(L, config_section_index(config_keys[id].section), 0, id, "longer than %d characters once resolved against %s",
                 CBD_PATH_MAX - 1, base);
        return;
    }
    config_set_text(field, CBD_PATH_MAX, joined);
}


/* [features] logits once the class count is known (the training set's: the
 * configuration alone cannot say). */
int cbd_config_stores_logits(const cbd_config *cfg, int classes) {
    switch (cfg->features.logits) {
    case CBD_LOGITS_TRUE: return 1;
    case CBD_LOGITS_FALSE: return 0;
    case CBD_LOGITS_AUTO: break;
    }
    return classes <= CBD_LOGITS_AUTO_MAX_CLASSES;
}

/* The computed defaults of [student] keys. */
static void student_defaults(loader *L) {
    cbd_config *cfg = L->cfg;
    config_set_text(cfg->student_name, CBD_NAME_MAX, L->selected >= 0 ? cfg->students[L->selected] : "student");
    if (!L->where[K_student_label]) config_set_text(cfg->student.label, CBD_NAME_MAX, cfg->student_name);
    if (!L->where[K_student_seed]) cfg->student.seed = cfg->experiment.seed;
    if (cfg->student.lr == 0.0f) cfg->student.lr = cfg->train.lr;
    if (!cfg->student.views) cfg->student.views = cfg->features.views;
}

void config_resolve(loader *L) {
    cbd_config *cfg = L->cfg;

    if (!cfg->data.train[0]) {
        if (L->where[K_data_train])
            config_key_fail(L, S_data, 0, K_data_train, "required: the training manifest or packed image store");
        else if (L->section_line[S_data])
            config_fail(L, "%s:%d: [data] train is required: the training manifest or packed image store", L->path,
                 L->section_line[S_data]);
        else
            config_fail(L, "%s: [data] train is required: add a [data] section with train = MANIFEST", L->path);
        return;
    }

    if (!L->where[K_experiment_name]) {
        const char *base = strrchr(cfg->source_path, '/');
        base = base ? base + 1 : cfg->source_path;
        size_t n = strlen(base);
        if (n > 4 && !strcmp(base + n - 4, ".ini")) n -= 4;
        char why[128];
        if (n >= CBD_NAME_MAX) {
            config_fail(L, "%s: [experiment] name: the file name is longer than %d characters: set the name", L->path,
                 CBD_NAME_MAX - 1);
            return;
        }
        memcpy(cfg->experiment.name, base, n);
        cfg->experiment.name[n] = '\0';
        if (config_check_experiment_name(cfg->experiment.name, why, sizeof why) != 0) {
            config_fail(L, "%s: [experiment] name: the file name gives \"%s\", not a valid name (%s): set the name",
                 L->path, cfg->experiment.name, why);
            return;
        }
    }
    if (!L->where[K_experiment_output_dir])
        snprintf(cfg->experiment.output_dir, sizeof cfg->experiment.output_dir, "runs/%s", cfg->experiment.name);
    char cwd[CBD_PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) {
        config_fail(L, "%s: cannot read the current working directory: %s", L->path, strerror(errno));
        return;
    }
    resolve_path(L, K_experiment_output_dir, cwd);
    for (int id = 0; id < K_COUNT; id++)
        if (config_keys[id].type == KEY_PATH && id != K_experiment_output_dir) resolve_path(L, id, cfg->source_dir);
    if (L->failed) return;

    for (int t = 0; t < cfg->teacher_count; t++) {
        cbd_teacher_config *tc = &cfg->teachers[t];
        if (!L->teacher_where[t][TK_seed]) tc->seed = cfg->experiment.seed + 1 + (uint64_t)t;
        if (!tc->epochs) tc->epochs = cfg->train.epochs;
        if (!tc->arch[0]) config_set_text(tc->arch, sizeof tc->arch, cfg->model.arch);
        if (tc->lr == 0.0f) tc->lr = cfg->train.lr;
        if (!L->teacher_where[t][TK_head]) tc->head = cfg->model.head;
        if (!L->teacher_where[t][TK_label]) snprintf(tc->label, sizeof tc->label, "teacher %s", tc->name);
    }
    student_defaults(L);
    if (!cfg->features.batch_size) cfg->features.batch_size = cfg->train.batch_size;
    if (!cfg->eval.batch_size) cfg->eval.batch_size = cfg->train.batch_size;
    if (!cfg->student.epochs) cfg->student.epochs = cfg->train.epochs;
    if (!cfg->student.arch[0]) config_set_text(cfg->student.arch, sizeof cfg->student.arch, cfg->model.arch);

    for (int i = 0; i < cfg->student.teachers_count; i++)
        if (!cbd_config_teacher(cfg, cfg->student.teachers[i])) {
            config_key_fail(L, S_student, 0, K_student_teachers, "no [teacher.%s] section", cfg->student.teachers[i]);
            return;
        }
    if (!cfg->student.teachers_count && L->where[K_student_teachers]) {
        config_key_fail(L, S_student, 0, K_student_teachers,
                        "no teacher named: list the teachers to distil from, or leave the key out for all of them "
                        "(distill = none trains a model without teachers)");
        return;
    }
    if (!cfg->student.teachers_count) {
        for (int t = 0; t < cfg->teacher_count; t++)
            config_set_text(cfg->student.teachers[t], CBD_NAME_MAX, cfg->teachers[t].name);
        cfg->student.teachers_count = cfg->teacher_count;
    }

    const int channels = cfg->data.channels;
    float *lists[2] = {cfg->data.mean, cfg->data.std};
    int *counts[2] = {&cfg->data.mean_count, &cfg->data.std_count};
    const int ids[2] = {K_data_mean, K_data_std};
    for (int j = 0; j < 2; j++) {
        if (*counts[j] != 1 && *counts[j] != channels) {
            config_key_fail(L, S_data, 0, ids[j], "%d values for %d channels: give 1 value or %d", *counts[j], channels,
                     channels);
            return;
        }
        for (int c = *counts[j]; c < channels; c++) lists[j][c] = lists[j][0];
        *counts[j] = channels;
    }
}

/* Blames whichever of two keys was set explicitly (a first, when both or neither). */
static int blame(const loader *L, int a, int b);


/* The model-specific checks of [student] (or the loaded [student.NAME]). */
static void check_student(loader *L) {
    const cbd_config *cfg = L->cfg;
    const cbd_student_method method = cfg->student.method;
    const int trains = method == CBD_METHOD_TRAIN || method == CBD_METHOD_FINETUNE || method == CBD_METHOD_CRT ||
                       method == CBD_METHOD_LWS;
    if (trains && cfg->train.warmup_epochs >= cfg->student.epochs) {
        config_key_fail(L, S_student, 0, K_student_epochs, "must be more than [train] warmup_epochs (%d)",
                 cfg->train.warmup_epochs);
        return;
    }
    if (method == CBD_METHOD_FINETUNE || method == CBD_METHOD_CRT || method == CBD_METHOD_LWS ||
        method == CBD_METHOD_TAU_NORM) {
        if (!cfg->student.from[0]) {
            config_key_fail(L, S_student, 0, K_student_method, "needs `from`: the NAME of the [teacher.NAME] it starts from");
            return;
        }
        const cbd_teacher_config *t = cbd_config_teacher(cfg, cfg->student.from);
        if (!t) {
            config_key_fail(L, S_student, 0, K_student_from, "no [teacher.%s] section", cfg->student.from);
            return;
        }
        if ((method == CBD_METHOD_LWS || method == CBD_METHOD_TAU_NORM) && t->head != CBD_HEAD_LINEAR) {
            config_key_fail(L, S_student, 0, K_student_method,
                     "rescales the rows of a linear classifier, and [teacher.%s] has a cosine head (whose rows are "
                     "normalised already): set [teacher.%s] head = linear",
                     t->name, t->name);
            return;
        }
    }
    if (method == CBD_METHOD_ENSEMBLE && cfg->student.teachers_count == 0) {
        config_key_fail(L, S_student, 0, K_student_method, "needs teachers: add [teacher.NAME] sections");
        return;
    }
    if (cfg->student.teacher_source == CBD_TEACHER_SOURCE_STORE && cfg->student.views > cfg->features.views) {
        config_key_fail(L, S_student, 0, K_student_views, "the feature stores hold %d views ([features] views)",
                 cfg->features.views);
        return;
    }
    if (method != CBD_METHOD_TRAIN) return;
    const cbd_distill_kind distill = cfg->student.distill;
    if (distill != CBD_DISTILL_NONE && cfg->student.teachers_count == 0) {
        config_key_fail(L, S_student, 0, K_student_distill,
                 "needs a teacher: add a [teacher.NAME] section, or set distill = none");
        return;
    }
    if ((distill == CBD_DISTILL_LOGIT || distill == CBD_DISTILL_HYBRID) &&
        cfg->student.teacher_source == CBD_TEACHER_SOURCE_STORE && cfg->features.logits == CBD_LOGITS_FALSE) {
        const int id = blame(L, K_features_logits, K_student_distill);
        config_key_fail(L, id == K_features_logits ? S_features : S_student, 0, id,
                 "[student] distill = %s reads teacher logits from the feature store: set [features] logits = true "
                 "or [student] teacher_source = online",
                 cbd_distill_kind_names[distill]);
        return;
    }
}

static int blame(const loader *L, int a, int b) { return L->where[a] || !L->where[b] ? a : b; }

void config_check_between_keys(loader *L) {
    const cbd_config *cfg = L->cfg;
    int id;
    if (cfg->data.scale_max < cfg->data.scale_min) {
        id = blame(L, K_data_scale_max, K_data_scale_min);
        config_key_fail(L, S_data, 0, id, "scale_max (%g) must be at least scale_min (%g)", (double)cfg->data.scale_max,
                 (double)cfg->data.scale_min);
        return;
    }
    if (cfg->data.ratio_max < cfg->data.ratio_min) {
        id = blame(L, K_data_ratio_max, K_data_ratio_min);
        config_key_fail(L, S_data, 0, id, "ratio_max (%g) must be at least ratio_min (%g)", (double)cfg->data.ratio_max,
                 (double)cfg->data.ratio_min);
        return;
    }
    if (cfg->train.warmup_epochs >= cfg->train.epochs) {
        id = blame(L, K_train_warmup_epochs, K_train_epochs);
        config_key_fail(L, S_train, 0, id, "warmup_epochs (%d) must be less than epochs (%d)", cfg->train.warmup_epochs,
                 cfg->train.epochs);
        return;
    }
    for (int t = 0; t < cfg->teacher_count; t++)
        if (cfg->train.warmup_epochs >= cfg->teachers[t].epochs) {
            config_key_fail(L, S_TEACHER, t, TK_epochs, "must be more than [train] warmup_epochs (%d)",
                     cfg->train.warmup_epochs);
            return;
        }
    if (cfg->eval.few_threshold > cfg->eval.many_threshold) {
        id = blame(L, K_eval_few_threshold, K_eval_many_threshold);
        config_key_fail(L, S_eval, 0, id, "few_threshold (%d) must not exceed many_threshold (%d)", cfg->eval.few_threshold,
                 cfg->eval.many_threshold);
        return;
    }
    check_student(L);
}

