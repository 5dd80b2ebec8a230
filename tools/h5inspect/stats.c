/* --stats: per view (and the center) the mean, min and max l2 norm of the
 * feature rows and their NaN/Inf counts; per class the mean cosine of the
 * center features to their class centroid; the mean cosine between the views
 * of an image; the NCM accuracy of the center features on the training
 * labels. Rows come from the library's row reader, one view at a time. */
#include "tools/h5inspect/h5inspect.h"

#include <math.h>
#include <stdlib.h>

#include <cblas.h>

#include "nn/log.h"

enum { NCM_BATCH = 1024 }; /* center rows classified by one GEMM */

typedef struct {
    const int64_t *labels;
    hsize_t C, D;
    double *sums;      /* [C, D] sums of unit center features */
    hsize_t *counts;   /* [C] */
    float *unit_means; /* [C, D] normalised class means */
    double *cos_sums;  /* [C] cosine of each image to its own class mean */
    hsize_t correct, evaluated, skipped;
    float *batch;      /* [NCM_BATCH, D] unit rows waiting to be classified */
    int64_t *batch_labels;
    hsize_t pending;
    float *scores;     /* [NCM_BATCH, C] cosines to the class means */
} class_pass;

static void accumulate_class(void *arg, int64_t row, const float *x, int cols, int finite, double norm) {
    class_pass *p = arg;
    const int64_t label = p->labels[row];
    if (!finite || norm == 0.0 || label < 0 || (hsize_t)label >= p->C) return;
    double *sum = p->sums + (hsize_t)label * p->D;
    for (int k = 0; k < cols; k++) sum[k] += x[k] / norm;
    p->counts[label]++;
}

/* Nearest class mean by cosine for the pending rows (ties: the lower class). */
static void classify_batch(class_pass *p) {
    if (p->pending == 0) return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)p->pending, (int)p->C, (int)p->D, 1.0f, p->batch,
                (int)p->D, p->unit_means, (int)p->D, 0.0f, p->scores, (int)p->C);
    for (hsize_t r = 0; r < p->pending; r++) {
        const float *cos = p->scores + r * p->C;
        const hsize_t label = (hsize_t)p->batch_labels[r];
        hsize_t best = label;
        for (hsize_t c = 0; c < p->C; c++)
            if (p->counts[c] && (cos[c] > cos[best] || (cos[c] == cos[best] && c < best))) best = c;
        p->cos_sums[label] += cos[label];
        p->correct += best == label;
        p->evaluated++;
    }
    p->pending = 0;
}

static void classify_row(void *arg, int64_t row, const float *x, int cols, int finite, double norm) {
    class_pass *p = arg;
    const int64_t label = p->labels[row];
    if (!finite || norm == 0.0 || label < 0 || (hsize_t)label >= p->C) {
        p->skipped++;
        return;
    }
    float *u = p->batch + p->pending * p->D;
    for (int k = 0; k < cols; k++) u[k] = (float)(x[k] / norm);
    p->batch_labels[p->pending++] = label;
    if (p->pending == NCM_BATCH) classify_batch(p);
}

typedef struct {
    hsize_t D;
    float *acc;     /* [N, D] sum of the unit view features of each image */
    int32_t *views; /* [N] views in acc */
    uint8_t *bad;   /* [N] a view with NaN/Inf */
} view_pass;

static void accumulate_view(void *arg, int64_t row, const float *x, int cols, int finite, double norm) {
    view_pass *p = arg;
    if (!finite) {
        p->bad[row] = 1;
        return;
    }
    if (norm == 0.0) return;
    float *acc = p->acc + (hsize_t)row * p->D;
    for (int k = 0; k < cols; k++) acc[k] += (float)(x[k] / norm);
    p->views[row]++;
}

typedef struct {
    int done;
    row_stats features, logits;
} view_stats;

static void stats_row_text(const char *name, const view_stats *v, int logits) {
    const row_stats *r = &v->features;
    printf("  %-7s %-5s %6llu", name, v->done ? "yes" : "no", (unsigned long long)r->rows);
    if (v->done && r->rows)
        printf(" %11.6f %11.6f %11.6f", r->sum / (double)r->rows, r->min, r->max);
    else
        printf(" %11s %11s %11s", "-", "-", "-");
    printf(" %6llu %6llu", (unsigned long long)r->nan, (unsigned long long)r->inf);
    if (logits) printf(" %10llu %10llu", (unsigned long long)v->logits.nan, (unsigned long long)v->logits.inf);
    printf("\n");
}

/* view -1: the center */
static void stats_row_json(json_out *w, const char *key, int64_t view, const view_stats *v, int logits) {
    const row_stats *r = &v->features;
    jw_object(w, key);
    if (view >= 0) jw_i64(w, "view", view);
    jw_bool(w, "done", v->done);
    jw_u64(w, "rows", r->rows);
    if (v->done && r->rows) {
        jw_f64(w, "norm_mean", r->sum / (double)r->rows);
        jw_f64(w, "norm_min", r->min);
        jw_f64(w, "norm_max", r->max);
    } else {
        jw_null(w, "norm_mean");
        jw_null(w, "norm_min");
        jw_null(w, "norm_max");
    }
    jw_u64(w, "nan", r->nan);
    jw_u64(w, "inf", r->inf);
    if (logits) {
        jw_u64(w, "logits_nan", v->logits.nan);
        jw_u64(w, "logits_inf", v->logits.inf);
    }
    jw_end_object(w);
}

int cmd_stats(inspector *in, json_out *w) {
    feature_rows f;
    feature_rows_open(in, "--stats", &f);
    const cbd_feature_store_spec *spec = f.spec;
    const int64_t *labels = f.labels;
    const hsize_t N = (hsize_t)spec->n, S = (hsize_t)spec->views, D = (hsize_t)spec->d, C = (hsize_t)spec->classes;
    const int logits = spec->has_logits;
    hsize_t out_of_range = 0;
    for (hsize_t i = 0; i < N; i++) out_of_range += labels[i] < 0 || (hsize_t)labels[i] >= C;

    /* the center: norms, class means, cosine to the own class mean, NCM */
    const int center_done = cbd_feature_rows_view_done(f.rows, CBD_FEATURE_WRITER_CENTER);
    view_stats center = {center_done, {0}, {0}};
    class_pass cp = {.labels = labels, .C = C, .D = D};
    if (center_done) {
        cp.sums = cbd_calloc(C * D, sizeof *cp.sums);
        cp.counts = cbd_calloc(C, sizeof *cp.counts);
        cp.unit_means = cbd_calloc(C * D, sizeof *cp.unit_means);
        cp.cos_sums = cbd_calloc(C, sizeof *cp.cos_sums);
        cp.batch = cbd_calloc(NCM_BATCH * D, sizeof *cp.batch);
        cp.batch_labels = cbd_calloc(NCM_BATCH, sizeof *cp.batch_labels);
        cp.scores = cbd_calloc(NCM_BATCH * C, sizeof *cp.scores);
        scan_rows(&f, 0, CBD_FEATURE_WRITER_CENTER, &center.features, accumulate_class, &cp);
        for (hsize_t c = 0; c < C; c++) {
            double sq = 0.0;
            for (hsize_t k = 0; k < D; k++) sq += cp.sums[c * D + k] * cp.sums[c * D + k];
            const double norm = sqrt(sq);
            for (hsize_t k = 0; k < D && norm > 0.0; k++) cp.unit_means[c * D + k] = (float)(cp.sums[c * D + k] / norm);
        }
        row_stats again = {0};
        scan_rows(&f, 0, CBD_FEATURE_WRITER_CENTER, &again, classify_row, &cp);
        classify_batch(&cp);
        if (logits) scan_rows(&f, 1, CBD_FEATURE_WRITER_CENTER, &center.logits, NULL, NULL);
    }

    /* the views, one at a time */
    hsize_t done_count = 0;
    for (hsize_t s = 0; s < S; s++) done_count += cbd_feature_rows_view_done(f.rows, (int64_t)s) != 0;
    view_stats *views = cbd_calloc(S, sizeof *views);
    view_pass vp = {D, NULL, NULL, NULL};
    if (done_count >= 2) {
        vp.acc = cbd_calloc(N * D, sizeof *vp.acc);
        vp.views = cbd_calloc(N, sizeof *vp.views);
        vp.bad = cbd_calloc(N, sizeof *vp.bad);
    }
    for (hsize_t s = 0; s < S; s++) {
        views[s].done = cbd_feature_rows_view_done(f.rows, (int64_t)s);
        if (!views[s].done) continue;
        scan_rows(&f, 0, (int64_t)s, &views[s].features, vp.acc ? accumulate_view : NULL, &vp);
        if (logits) scan_rows(&f, 1, (int64_t)s, &views[s].logits, NULL, NULL);
    }
    double view_cos = 0.0;
    hsize_t view_cos_images = 0;
    for (hsize_t i = 0; vp.acc && i < N; i++) {
        const double k = vp.views[i];
        if (vp.bad[i] || k < 2) continue;
        double sq = 0.0;
        for (hsize_t e = 0; e < D; e++) sq += (double)vp.acc[i * D + e] * vp.acc[i * D + e];
        view_cos += (sq - k) / (k * (k - 1.0));
        view_cos_images++;
    }

    if (w) {
        jw_object(w, NULL);
        jw_str(w, "file", in->path);
        jw_u64(w, "n", N);
        jw_u64(w, "views", S);
        jw_u64(w, "d", D);
        jw_u64(w, "classes", C);
        stats_row_json(w, "center", -1, &center, logits);
        jw_array(w, "view_stats");
        for (hsize_t s = 0; s < S; s++) stats_row_json(w, NULL, (int64_t)s, &views[s], logits);
        jw_end_array(w);
        if (center_done) {
            jw_array(w, "class_stats");
            for (hsize_t c = 0; c < C; c++) {
                jw_open(w, NULL, '{', 1);
                jw_u64(w, "class", c);
                jw_u64(w, "images", cp.counts[c]);
                if (cp.counts[c]) jw_f64(w, "center_cosine", cp.cos_sums[c] / (double)cp.counts[c]);
                else jw_null(w, "center_cosine");
                jw_end_object(w);
            }
            jw_end_array(w);
        } else {
            jw_null(w, "class_stats");
        }
        jw_object(w, "view_cosine");
        if (view_cos_images) jw_f64(w, "mean", view_cos / (double)view_cos_images);
        else jw_null(w, "mean");
        jw_u64(w, "images", view_cos_images);
        jw_u64(w, "views_done", done_count);
        jw_end_object(w);
        jw_object(w, "ncm");
        if (cp.evaluated) jw_f64(w, "accuracy", (double)cp.correct / (double)cp.evaluated);
        else jw_null(w, "accuracy");
        jw_u64(w, "correct", cp.correct);
        jw_u64(w, "images", cp.evaluated);
        jw_u64(w, "skipped", cp.skipped);
        jw_end_object(w);
        jw_u64(w, "labels_out_of_range", out_of_range);
        jw_end_object(w);
    } else {
        printf("statistics: %s (%llu images, %llu views, d = %llu, %llu classes, %s)\n", in->path,
               (unsigned long long)N, (unsigned long long)S, (unsigned long long)D, (unsigned long long)C,
               cbd_store_dtype_name(spec->dtype));
        printf("\nfeature l2 norms (rows: rows without NaN/Inf; NaN, Inf: values)\n");
        printf("  %-7s %-5s %6s %11s %11s %11s %6s %6s", "view", "done", "rows", "norm mean", "norm min", "norm max",
               "NaN", "Inf");
        if (logits) printf(" %10s %10s", "logits NaN", "logits Inf");
        printf("\n");
        stats_row_text("center", &center, logits);
        for (hsize_t s = 0; s < S; s++) {
            char name[32];
            snprintf(name, sizeof name, "%llu", (unsigned long long)s);
            stats_row_text(name, &views[s], logits);
        }
        if (center_done) {
            printf("\nmean cosine of the center features to their class centroid\n");
            printf("  %-7s %6s %11s\n", "class", "images", "cosine");
            for (hsize_t c = 0; c < C; c++) {
                if (cp.counts[c])
                    printf("  %-7llu %6llu %11.6f\n", (unsigned long long)c, (unsigned long long)cp.counts[c],
                           cp.cos_sums[c] / (double)cp.counts[c]);
                else
                    printf("  %-7llu %6d %11s\n", (unsigned long long)c, 0, "-");
            }
        } else {
            printf("\ncenter features not done (center_done = 0): no class statistics\n");
        }
        printf("\n");
        if (view_cos_images)
            printf("mean cosine between the views of an image  %.6f (%llu images, %llu views done)\n",
                   view_cos / (double)view_cos_images, (unsigned long long)view_cos_images,
                   (unsigned long long)done_count);
        else
            printf("mean cosine between the views of an image  - (needs two views done, %llu done)\n",
                   (unsigned long long)done_count);
        if (cp.evaluated)
            printf("NCM accuracy of the center features        %.6f (%llu of %llu, training labels)\n",
                   (double)cp.correct / (double)cp.evaluated, (unsigned long long)cp.correct,
                   (unsigned long long)cp.evaluated);
        else
            printf("NCM accuracy of the center features        -\n");
        if (cp.skipped)
            printf("  (%llu image%s left out: NaN/Inf, zero vector or label out of range)\n",
                   (unsigned long long)cp.skipped, cp.skipped == 1 ? "" : "s");
        if (out_of_range)
            printf("labels out of range 0..%llu: %llu\n", (unsigned long long)(C - 1), (unsigned long long)out_of_range);
    }
    free(vp.acc);
    free(vp.views);
    free(vp.bad);
    free(views);
    free(cp.sums);
    free(cp.counts);
    free(cp.unit_means);
    free(cp.cos_sums);
    free(cp.batch);
    free(cp.batch_labels);
    free(cp.scores);
    feature_rows_close(&f);
    return CBD_EXIT_OK;
}
