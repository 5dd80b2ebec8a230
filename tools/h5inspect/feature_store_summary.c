/* The summary of a feature store (format "cbd-feature-store"): its
 * attributes, the views done, the bytes a row and an image take, and the
 * problems seen on the way (attributes missing or unreadable, datasets whose
 * shapes disagree). Read with plain HDF5 calls, so that a damaged store is
 * still described; --verify checks it in full. */
#include "tools/h5inspect/h5inspect.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"

typedef struct {
    meta_str format, program_version, dtype, teacher, augmentation;
    meta_i64 format_version, n, d, classes, views, has_logits, center_done, complete;
    meta_u64 manifest_digest, teacher_checkpoint_digest, experiment_seed;
    ds_desc features, center, logits, center_logits, labels, done;
    defect_list meta;   /* missing or unreadable attributes */
    defect_list layout; /* datasets that disagree with each other */
    hsize_t S, N, D, C; /* from the datasets (C: from the logits, else the attribute) */
} fstore;

static void fs_load(inspector *in, fstore *f) {
    memset(f, 0, sizeof *f);
    defect_list *m = &f->meta;
    meta_read_str(in, "format", &f->format, m);
    meta_read_i64(in, "format_version", &f->format_version, m);
    meta_read_str(in, "program_version", &f->program_version, m);
    meta_read_i64(in, "n", &f->n, m);
    meta_read_i64(in, "d", &f->d, m);
    meta_read_i64(in, "classes", &f->classes, m);
    meta_read_i64(in, "views", &f->views, m);
    meta_read_str(in, "dtype", &f->dtype, m);
    meta_read_i64(in, "has_logits", &f->has_logits, m);
    meta_read_u64(in, "manifest_digest", &f->manifest_digest, m);
    meta_read_str(in, "teacher", &f->teacher, m);
    meta_read_u64(in, "teacher_checkpoint_digest", &f->teacher_checkpoint_digest, m);
    meta_read_str(in, "augmentation", &f->augmentation, m);
    meta_read_u64(in, "experiment_seed", &f->experiment_seed, m);
    meta_read_i64(in, "center_done", &f->center_done, m);
    meta_read_i64(in, "complete", &f->complete, m);

    describe(in, "features", &f->features);
    describe(in, "center", &f->center);
    describe(in, "logits", &f->logits);
    describe(in, "center_logits", &f->center_logits);
    describe(in, "labels", &f->labels);
    describe(in, "done", &f->done);

    defect_list *l = &f->layout;
    char have[128];
    if (!f->features.is_dataset || f->features.ndim != 3 || f->features.cls != H5T_FLOAT) {
        defect(l, "shape: /features must be a float dataset [views, n, d], it is %s%s%s",
               cbd_text_str(&f->features.words), f->features.words.len ? " " : "",
               desc_shape(&f->features, have, sizeof have));
        return;
    }
    f->S = f->features.dims[0];
    f->N = f->features.dims[1];
    f->D = f->features.dims[2];
    f->C = f->classes.state == 1 && f->classes.v > 0 ? (hsize_t)f->classes.v : 0;
    const hsize_t cdims[2] = {f->N, f->D}, ndims[1] = {f->N}, sdims[1] = {f->S};
    if (!desc_is(&f->center, 2, cdims) || f->center.cls != H5T_FLOAT)
        defect(l, "shape: /center is %s, /features [%llu, %llu, %llu] needs a float [%llu, %llu]",
               desc_shape(&f->center, have, sizeof have), (unsigned long long)f->S, (unsigned long long)f->N,
               (unsigned long long)f->D, (unsigned long long)f->N, (unsigned long long)f->D);
    if (!desc_is(&f->labels, 1, ndims) || f->labels.cls != H5T_INTEGER)
        defect(l, "shape: /labels is %s, /features [%llu, %llu, %llu] needs an integer [%llu]",
               desc_shape(&f->labels, have, sizeof have), (unsigned long long)f->S, (unsigned long long)f->N,
               (unsigned long long)f->D, (unsigned long long)f->N);
    if (!desc_is(&f->done, 1, sdims) || f->done.cls != H5T_INTEGER)
        defect(l, "shape: /done is %s, /features [%llu, %llu, %llu] needs an integer [%llu]",
               desc_shape(&f->done, have, sizeof have), (unsigned long long)f->S, (unsigned long long)f->N,
               (unsigned long long)f->D, (unsigned long long)f->S);
    if (f->logits.exists != f->center_logits.exists)
        defect(l, "shape: /logits is %s but /center_logits is %s", f->logits.exists ? "present" : "missing",
               f->center_logits.exists ? "present" : "missing");
    if (f->logits.exists) {
        if (f->logits.is_dataset && f->logits.ndim == 3) f->C = f->logits.dims[2];
        const hsize_t ldims[3] = {f->S, f->N, f->C}, cldims[2] = {f->N, f->C};
        if (!desc_is(&f->logits, 3, ldims) || f->logits.cls != H5T_FLOAT)
            defect(l, "shape: /logits is %s, /features [%llu, %llu, %llu] needs a float [%llu, %llu, classes]",
                   desc_shape(&f->logits, have, sizeof have), (unsigned long long)f->S, (unsigned long long)f->N,
                   (unsigned long long)f->D, (unsigned long long)f->S, (unsigned long long)f->N);
        else if (f->center_logits.exists && (!desc_is(&f->center_logits, 2, cldims) || f->center_logits.cls != H5T_FLOAT))
            defect(l, "shape: /center_logits is %s, /logits needs a float [%llu, %llu]",
                   desc_shape(&f->center_logits, have, sizeof have), (unsigned long long)f->N,
                   (unsigned long long)f->C);
    }
}

static void fs_free(fstore *f) {
    desc_free(&f->features);
    desc_free(&f->center);
    desc_free(&f->logits);
    desc_free(&f->center_logits);
    desc_free(&f->labels);
    desc_free(&f->done);
    defects_free(&f->meta);
    defects_free(&f->layout);
}

/* The store's /done as int64 [S] (NULL when it cannot be read: message in in->err). */
static int64_t *fs_read_done(inspector *in, const fstore *f) {
    int64_t *done = cbd_calloc(f->S, sizeof *done);
    if (read_int64s(in, "done", f->S, done) != 0) {
        free(done);
        return NULL;
    }
    return done;
}

/* "1, 3, 4" (at most 20 listed). */
static void missing_views(const int64_t *done, hsize_t S, cbd_text *b) {
    int listed = 0;
    for (hsize_t s = 0; s < S; s++)
        if (!done[s]) {
            if (listed == 20) {
                cbd_text_printf(b, ", ...");
                break;
            }
            cbd_text_printf(b, "%s%llu", listed++ ? ", " : "", (unsigned long long)s);
        }
}

static hsize_t count_done(const int64_t *done, hsize_t S) {
    hsize_t k = 0;
    for (hsize_t s = 0; s < S; s++) k += done[s] != 0;
    return k;
}

static size_t fs_value_bytes(const fstore *f) {
    return f->features.half ? 2 : f->features.size ? f->features.size : 4;
}

void summary_feature_store(inspector *in, json_out *w) {
    fstore f;
    fs_load(in, &f);
    int64_t *done = f.layout.count == 0 ? fs_read_done(in, &f) : NULL;
    if (f.layout.count == 0 && !done) die_h5(in);
    const hsize_t done_count = done ? count_done(done, f.S) : 0;
    const size_t e = fs_value_bytes(&f);
    const int logits = f.logits.exists;
    const uint64_t row_bytes = f.D * e;
    const uint64_t image_bytes = (f.S + 1) * (f.D + (logits ? f.C : 0)) * e + (f.labels.size ? f.labels.size : 4);
    const long long disk = file_size(in);
    cbd_text missing = {0};
    if (done) missing_views(done, f.S, &missing);

    if (w) {
        jw_object(w, "summary");
        jw_str(w, "kind", "feature store");
        jw_meta_i64(w, "format_version", &f.format_version);
        jw_meta_str(w, "program_version", &f.program_version);
        jw_meta_str(w, "teacher", &f.teacher);
        jw_meta_i64(w, "n", &f.n);
        jw_meta_i64(w, "d", &f.d);
        jw_meta_i64(w, "views", &f.views);
        jw_meta_i64(w, "classes", &f.classes);
        jw_meta_str(w, "dtype", &f.dtype);
        jw_bool(w, "logits", logits);
        jw_meta_flag(w, "complete", &f.complete);
        if (done) {
            jw_u64(w, "views_done", done_count);
            jw_flat_array(w, "views_missing");
            for (hsize_t s = 0; s < f.S; s++)
                if (!done[s]) jw_u64(w, NULL, s);
            jw_end_array(w);
        } else {
            jw_null(w, "views_done");
            jw_null(w, "views_missing");
        }
        jw_meta_flag(w, "center_done", &f.center_done);
        jw_meta_hex(w, "manifest_digest", &f.manifest_digest);
        jw_meta_hex(w, "teacher_checkpoint_digest", &f.teacher_checkpoint_digest);
        if (f.experiment_seed.state == 1) jw_u64(w, "experiment_seed", f.experiment_seed.v);
        else jw_null(w, "experiment_seed");
        jw_meta_str(w, "augmentation", &f.augmentation);
        if (f.layout.count == 0) {
            jw_u64(w, "bytes_per_feature_row", row_bytes);
            jw_u64(w, "bytes_per_image", image_bytes);
        } else {
            jw_null(w, "bytes_per_feature_row");
            jw_null(w, "bytes_per_image");
        }
        jw_i64(w, "size_on_disk", (int64_t)disk);
        jw_open(w, "problems", '[', 0);
        for (int k = 0; k < f.meta.count; k++) jw_str(w, NULL, f.meta.items[k]);
        for (int k = 0; k < f.layout.count; k++) jw_str(w, NULL, f.layout.items[k]);
        jw_end_array(w);
        jw_end_object(w);
    } else {
        printf("\nfeature store: %s version %s, written by %s\n", meta_text(&f.format),
               f.format_version.state == 1 ? "1" : "?", meta_text(&f.program_version));
        if (f.format_version.state == 1 && f.format_version.v != 1)
            printf("  (format_version is %" PRId64 ")\n", f.format_version.v);
        printf("  %-22s %s\n", "teacher", meta_text(&f.teacher));
        print_i64_line("images (N)", &f.n);
        print_i64_line("feature dim (d)", &f.d);
        print_i64_line("views (S)", &f.views);
        print_i64_line("classes (C)", &f.classes);
        printf("  %-22s %s\n", "dtype", meta_text(&f.dtype));
        printf("  %-22s %s\n", "logits", yes_no(logits));
        print_flag_line("complete", &f.complete);
        if (done)
            printf("  %-22s %llu of %llu%s%s%s\n", "views done", (unsigned long long)done_count,
                   (unsigned long long)f.S, missing.len ? " (missing: " : "", cbd_text_str(&missing),
                   missing.len ? ")" : "");
        print_flag_line("center done", &f.center_done);
        print_hex_line("manifest digest", &f.manifest_digest);
        print_hex_line("teacher ckpt digest", &f.teacher_checkpoint_digest);
        if (f.experiment_seed.state == 1) printf("  %-22s %" PRIu64 "\n", "experiment seed", f.experiment_seed.v);
        else printf("  %-22s missing\n", "experiment seed");
        if (f.augmentation.state == 1) {
            cbd_text q = {0};
            text_quote(&q, f.augmentation.v);
            printf("  %-22s %s\n", "augmentation", cbd_text_str(&q));
            cbd_text_free(&q);
        } else {
            printf("  %-22s %s\n", "augmentation", meta_text(&f.augmentation));
        }
        if (f.layout.count == 0)
            printf("  %-22s %" PRIu64 " per feature row (d x %zu bytes), %" PRIu64 " per image "
                   "(%llu views + center%s, label)\n",
                   "bytes per row", row_bytes, e, image_bytes, (unsigned long long)f.S, logits ? ", logits" : "");
        printf("  %-22s %lld bytes", "size on disk", disk);
        if (f.N) printf(", %.1f per image", (double)disk / (double)f.N);
        printf("\n");
        for (int k = 0; k < f.meta.count; k++) printf("  problem: %s\n", f.meta.items[k]);
        for (int k = 0; k < f.layout.count; k++) printf("  problem: %s\n", f.layout.items[k]);
    }
    cbd_text_free(&missing);
    free(done);
    fs_free(&f);
}
