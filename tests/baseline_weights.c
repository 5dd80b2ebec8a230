/* Checks how a baseline's checkpoint relates to the teacher it was made from:
 *   baseline_weights crt  TEACHER MODEL   backbone bit-identical, classifier new
 *   baseline_weights lws  TEACHER MODEL   backbone identical, row c of the
 *                                          classifier (and bias c) = s_c times the
 *                                          teacher's, some s_c != 1
 *   baseline_weights tau  TEACHER MODEL   backbone identical, unit rows, zero bias
 *   baseline_weights ft   TEACHER MODEL   every weight moved, but little: the
 *                                          model started from the teacher
 * Exit 0 when the relation holds, 1 (with the reason) when not, 2 on bad usage. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/backend.h"
#include "nn/model.h"
#include "store/checkpoint.h"

static cbd_backend *be;

static void load(const char *path, cbd_model *m) {
    char err[2048];
    cbd_checkpoint_meta meta;
    cbd_model_config mc;
    if (cbd_checkpoint_read_meta(path, &meta, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        exit(2);
    }
    cbd_checkpoint_meta_to_config(&meta, &mc);
    if (cbd_model_create(m, be, &mc, err, sizeof err) != 0 ||
        cbd_checkpoint_load(path, &mc, &m->params, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        exit(2);
    }
}

static int is_head(const char *name) { return strncmp(name, "classifier/", 11) == 0; }

/* 1 when every entry outside the classifier is bit-identical. */
static int backbone_equal(const cbd_model *a, const cbd_model *b) {
    for (int i = 0; i < a->params.count; i++) {
        const cbd_param_entry *e = &a->params.entries[i];
        if (is_head(e->name)) continue;
        const int j = cbd_params_find(&b->params, e->name);
        if (j < 0 || memcmp(cbd_param_value(&a->params, i), cbd_param_value(&b->params, j), e->count * sizeof(float))) {
            fprintf(stderr, "FAIL: %s differs from the teacher's\n", e->name);
            return 0;
        }
    }
    return 1;
}

static const float *entry(const cbd_model *m, const char *name, size_t *count) {
    const int i = cbd_params_find(&m->params, name);
    if (i < 0) return NULL;
    if (count) *count = m->params.entries[i].count;
    return cbd_param_value(&m->params, i);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s crt|lws|tau|ft TEACHER MODEL\n", argv[0]);
        return 2;
    }
    char err[512];
    be = cbd_backend_create("cpu", err, sizeof err);
    if (!be) return 2;
    cbd_model t, m;
    load(argv[2], &t);
    load(argv[3], &m);
    const char *what = argv[1];
    size_t n = 0;
    const float *wt = entry(&t, "classifier/weight", &n), *wm = entry(&m, "classifier/weight", NULL);
    const float *bt = entry(&t, "classifier/bias", NULL), *bm = entry(&m, "classifier/bias", NULL);
    const int classes = t.cfg.classes, d = (int)(n / (size_t)classes);
    if (!strcmp(what, "crt")) {
        if (!backbone_equal(&t, &m)) return 1;
        if (!memcmp(wt, wm, n * sizeof(float))) {
            fprintf(stderr, "FAIL: the classifier was not retrained\n");
            return 1;
        }
    } else if (!strcmp(what, "lws") || !strcmp(what, "tau")) {
        if (!backbone_equal(&t, &m)) return 1;
        if (!bt || !bm) {
            fprintf(stderr, "FAIL: not a linear head\n");
            return 1;
        }
        int scaled = 0;
        for (int c = 0; c < classes; c++) {
            double tt = 0, mm = 0, tm = 0;
            for (int i = 0; i < d; i++) {
                const double a = wt[(size_t)c * d + i], b = wm[(size_t)c * d + i];
                tt += a * a;
                mm += b * b;
                tm += a * b;
            }
            const double s = tm / tt; /* least-squares factor */
            if (fabs(mm - s * s * tt) > 1e-6 * mm) {
                fprintf(stderr, "FAIL: row %d is not a multiple of the teacher's\n", c);
                return 1;
            }
            if (!strcmp(what, "lws")) {
                if (fabs(bm[c] - s * bt[c]) > 1e-5 * (fabs(bm[c]) + 1e-6)) {
                    fprintf(stderr, "FAIL: bias %d is %g, expected %g * %g\n", c, bm[c], s, bt[c]);
                    return 1;
                }
                scaled += fabs(s - 1.0) > 1e-4;
            } else if (fabs(sqrt(mm) - 1.0) > 1e-5 || bm[c] != 0.0f) {
                fprintf(stderr, "FAIL: row %d has norm %g and bias %g (want 1 and 0)\n", c, sqrt(mm), bm[c]);
                return 1;
            }
        }
        if (!strcmp(what, "lws") && scaled == 0) {
            fprintf(stderr, "FAIL: every learned scale is 1\n");
            return 1;
        }
    } else if (!strcmp(what, "ft")) {
        double moved = 0, size = 0;
        for (int i = 0; i < t.params.count; i++) {
            const cbd_param_entry *e = &t.params.entries[i];
            if (e->kind != CBD_PARAM_WEIGHT) continue;
            const float *a = cbd_param_value(&t.params, i), *b = entry(&m, e->name, NULL);
            for (size_t k = 0; k < e->count; k++) {
                moved += ((double)b[k] - a[k]) * ((double)b[k] - a[k]);
                size += (double)a[k] * a[k];
            }
        }
        const double rel = sqrt(moved / size);
        if (!(rel > 0 && rel < 0.2)) {
            fprintf(stderr, "FAIL: the weights moved by %.3g of their norm (want (0, 0.2): from the teacher)\n", rel);
            return 1;
        }
    } else {
        fprintf(stderr, "unknown relation %s\n", what);
        return 2;
    }
    cbd_model_free(&t);
    cbd_model_free(&m);
    cbd_backend_destroy(be);
    return 0;
}
