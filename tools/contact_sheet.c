/* cbd-contact-sheet: the paper's Figure 4 as one PNG. For each query image
 * of `cbd-evaluate --neighbours K` (test images of the tail classes), its K
 * nearest training images in each model's feature space, the models side
 * by side: a green frame where the neighbour is of the query's class, red
 * where not, and per model the share of same-class neighbours. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>

#include "experiment/config.h"
#include "nn/log.h"
#include "stages/eval_neighbours.h"
#include "stages/stage_common.h"
#include "store/dataset.h"
#include "tools/cli.h"
#include "tools/curves_csv.h"
#include "tools/plot/cairo_png.h"

static const char usage_text[] =
    "usage: cbd-contact-sheet --config FILE [--set S.KEY=VALUE ...] [--split test|val] --out SHEET.png\n"
    "                         LABEL=NAME.neighbours.csv [LABEL=NAME.neighbours.csv ...]\n"
    "\n"
    "Draws the nearest training images that cbd-evaluate --neighbours K found for\n"
    "the same query images with each model (the INI's data: the training set and\n"
    "the split the evaluation read), one row per query, the models side by side;\n"
    "green frames: a neighbour of the query's class, red: of another. The share of\n"
    "same-class neighbours of each model is printed and written under its column.\n"
    "Exit status: 0 written; 1 a file cannot be read or written; 2 bad usage or\n"
    "files that do not belong together\n";

enum { THUMB = 56, GAP = 6, GROUP_GAP = 18, LABEL_W = 150, HEADER = 44, FOOTER = 30 };

typedef struct {
    const char *label, *path;
    curves_csv csv;
    int col_query, col_qclass, col_rank, col_train, col_tclass;
} model_rows;

/* The rows of query q (0-based, in file order) of m: indices of its first row and count. */
static int query_rows(const model_rows *m, int q, int *first) {
    int seen = -1, start = -1, count = 0;
    double last = NAN;
    for (int r = 0; r < m->csv.rows; r++) {
        const double qi = curves_csv_at(&m->csv, r, m->col_query);
        if (qi != last) {
            seen++;
            last = qi;
        }
        if (seen == q) {
            if (start < 0) start = r;
            count++;
        }
    }
    *first = start;
    return count;
}

static int query_count(const model_rows *m) {
    int n = 0;
    double last = NAN;
    for (int r = 0; r < m->csv.rows; r++) {
        const double qi = curves_csv_at(&m->csv, r, m->col_query);
        if (qi != last) n++;
        last = qi;
    }
    return n;
}

/* Image i of ds drawn into a THUMB x THUMB square at (x, y). */
static void draw_image(cairo_t *cr, const cbd_dataset *ds, int64_t i, double x, double y, cbd_image *img) {
    char err[1024];
    if (cbd_dataset_image(ds, i, img, err, sizeof err) != 0) cbd_fail(CBD_EXIT_FAILURE, "%s", err);
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, img->width, img->height);
    cairo_surface_flush(s);
    unsigned char *dst = cairo_image_surface_get_data(s);
    const int stride = cairo_image_surface_get_stride(s);
    for (int r = 0; r < img->height; r++)
        for (int c = 0; c < img->width; c++) {
            const uint8_t *p = img->pixels + ((size_t)r * img->width + c) * img->channels;
            const uint32_t red = p[0], green = img->channels >= 3 ? p[1] : p[0], blue = img->channels >= 3 ? p[2] : p[0];
            ((uint32_t *)(dst + (size_t)r * stride))[c] = red << 16 | green << 8 | blue;
        }
    cairo_surface_mark_dirty(s);
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_scale(cr, (double)THUMB / img->width, (double)THUMB / img->height);
    cairo_set_source_surface(cr, s, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), img->width < THUMB ? CAIRO_FILTER_NEAREST : CAIRO_FILTER_GOOD);
    cairo_paint(cr);
    cairo_restore(cr);
    cairo_surface_destroy(s);
}

static void frame(cairo_t *cr, double x, double y, int same) {
    cairo_rectangle(cr, x - 2, y - 2, THUMB + 4, THUMB + 4);
    cairo_set_line_width(cr, 3);
    if (same) cairo_set_source_rgb(cr, 0.13, 0.63, 0.17);
    else cairo_set_source_rgb(cr, 0.84, 0.15, 0.16);
    cairo_stroke(cr);
}

static void text(cairo_t *cr, double x, double y, double size, const char *s) {
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_font_size(cr, size);
    cairo_move_to(cr, x, y);
    cairo_show_text(cr, s);
}

static int column_of(const model_rows *m, const char *name) {
    const int k = curves_csv_column(&m->csv, name);
    if (k < 0) cbd_fail(CBD_EXIT_USAGE, "%s: no column '%s': not a cbd-evaluate --neighbours file", m->path, name);
    return k;
}

int main(int argc, char **argv) {
    cbd_cli_init(argv[0]);
    const char *config = NULL, *out = NULL, *split = "test";
    const char *overrides[64];
    int n_overrides = 0, nmodels = 0;
    model_rows *models = cbd_calloc((size_t)argc, sizeof *models);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage_text, stdout);
            free(models);
            return CBD_EXIT_OK;
        }
        const int valued = strcmp(a, "--config") == 0 || strcmp(a, "--out") == 0 || strcmp(a, "--split") == 0 ||
                           strcmp(a, "--set") == 0;
        if (valued && i + 1 >= argc) cbd_usage_error("%s needs a value", a);
        if (strcmp(a, "--config") == 0) config = argv[++i];
        else if (strcmp(a, "--out") == 0) out = argv[++i];
        else if (strcmp(a, "--split") == 0) split = argv[++i];
        else if (strcmp(a, "--set") == 0) {
            if (n_overrides == 64) cbd_usage_error("at most 64 --set options");
            overrides[n_overrides++] = argv[++i];
        } else if (strncmp(a, "--", 2) == 0) cbd_usage_error("unknown option '%s'", a);
        else {
            const char *eq = strchr(a, '=');
            if (!eq || eq == a || !eq[1]) cbd_usage_error("'%s': a model is LABEL=NAME.neighbours.csv", a);
            char *label = cbd_strdup(a);
            label[eq - a] = '\0';
            models[nmodels].label = label;
            models[nmodels].path = eq + 1;
            nmodels++;
        }
    }
    if (!config) cbd_usage_error("--config FILE is required (the experiment whose data the neighbours index)");
    if (!out || !*out) cbd_usage_error("--out SHEET.png is required");
    if (strcmp(split, "test") != 0 && strcmp(split, "val") != 0) cbd_usage_error("--split %s: test or val", split);
    if (nmodels == 0) cbd_usage_error("no model given (LABEL=NAME.neighbours.csv)");

    static cbd_config cfg;
    char err[2048];
    if (cbd_config_load_model(&cfg, config, overrides, n_overrides, NULL, err, sizeof err) != 0)
        cbd_fail(CBD_EXIT_USAGE, "%s", err);
    cbd_dataset *train = cbd_stage_open_dataset(&cfg, "train", cfg.data.train, cfg.data.classes);
    const char *split_path = strcmp(split, "test") == 0 ? cfg.data.test : cfg.data.val;
    if (!split_path[0]) cbd_fail(CBD_EXIT_USAGE, "%s: [data] %s is not set", config, split);
    cbd_dataset *queries = cbd_stage_open_dataset(&cfg, split, split_path, cbd_dataset_classes(train));

    int nq = -1, k = 0;
    for (int m = 0; m < nmodels; m++) {
        model_rows *mr = &models[m];
        if (curves_csv_read(mr->path, &mr->csv, err, sizeof err) != 0) cbd_fail(CBD_EXIT_FAILURE, "%s", err);
        mr->col_query = column_of(mr, "query_index");
        mr->col_qclass = column_of(mr, "query_class");
        mr->col_rank = column_of(mr, "rank");
        mr->col_train = column_of(mr, "train_index");
        mr->col_tclass = column_of(mr, "train_class");
        for (int r = 0; r < mr->csv.rows; r++) {
            const double q = curves_csv_at(&mr->csv, r, mr->col_query), t = curves_csv_at(&mr->csv, r, mr->col_train);
            if (!(q >= 0 && q < cbd_dataset_count(queries)) || !(t >= 0 && t < cbd_dataset_count(train)))
                cbd_fail(CBD_EXIT_USAGE, "%s:%d: image %g or %g is outside the %s (%lld) or train (%lld) set of %s: "
                         "the file belongs to another experiment", mr->path, r + 2, q, t, split,
                         (long long)cbd_dataset_count(queries), (long long)cbd_dataset_count(train), config);
        }
        const int q = query_count(mr);
        if (m == 0) nq = q;
        int first;
        const int kk = q ? query_rows(mr, 0, &first) : 0;
        if (m == 0) k = kk;
        if (q != nq || kk != k)
            cbd_fail(CBD_EXIT_USAGE, "%s has %d queries of %d neighbours, %s %d of %d: evaluate every model with the "
                     "same --neighbours K on the same data", mr->path, q, kk, models[0].path, nq, k);
        for (int qi = 0; qi < q; qi++) {
            int f0, f1;
            query_rows(&models[0], qi, &f0);
            query_rows(mr, qi, &f1);
            if (curves_csv_at(&models[0].csv, f0, models[0].col_query) != curves_csv_at(&mr->csv, f1, mr->col_query))
                cbd_fail(CBD_EXIT_USAGE, "%s and %s ask about other images (query %d): not the same data", mr->path,
                         models[0].path, qi + 1);
        }
    }
    if (nq == 0) cbd_fail(CBD_EXIT_USAGE, "%s: no query (the split has no image of the tail classes)", models[0].path);

    const int group_w = k * (THUMB + GAP) - GAP;
    const int width = LABEL_W + THUMB + GROUP_GAP + nmodels * (group_w + GROUP_GAP);
    const int height = HEADER + nq * (THUMB + GAP + 14) + FOOTER;
    cairo_surface_t *surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
    cairo_t *cr = cairo_create(surface);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    text(cr, LABEL_W, 18, 13, "query");
    for (int m = 0; m < nmodels; m++) {
        char head[256];
        snprintf(head, sizeof head, "%s: %d nearest training images", models[m].label, k);
        text(cr, LABEL_W + THUMB + GROUP_GAP + m * (group_w + GROUP_GAP), 18, 13, head);
    }
    cbd_image img = {0};
    int *same = cbd_calloc((size_t)nmodels, sizeof *same);
    for (int q = 0; q < nq; q++) {
        const double y = HEADER + q * (THUMB + GAP + 14);
        int f0;
        query_rows(&models[0], q, &f0);
        const int64_t qi = (int64_t)curves_csv_at(&models[0].csv, f0, models[0].col_query);
        const int qc = (int)curves_csv_at(&models[0].csv, f0, models[0].col_qclass);
        char name[160];
        snprintf(name, sizeof name, "%s", cbd_dataset_class_name(queries, qc));
        text(cr, 4, y + THUMB / 2.0, 12, name);
        snprintf(name, sizeof name, "%s image %lld", split, (long long)qi);
        text(cr, 4, y + THUMB / 2.0 + 14, 10, name);
        draw_image(cr, queries, qi, LABEL_W, y, &img);
        for (int m = 0; m < nmodels; m++) {
            int f;
            query_rows(&models[m], q, &f);
            for (int r = 0; r < k; r++) {
                const double x = LABEL_W + THUMB + GROUP_GAP + m * (group_w + GROUP_GAP) + r * (THUMB + GAP);
                const int64_t ti = (int64_t)curves_csv_at(&models[m].csv, f + r, models[m].col_train);
                const int tc = (int)curves_csv_at(&models[m].csv, f + r, models[m].col_tclass);
                draw_image(cr, train, ti, x, y, &img);
                frame(cr, x, y, tc == qc);
                same[m] += tc == qc;
            }
        }
    }
    printf("same-class share of the %d nearest training images of %d tail-class queries:\n", k, nq);
    for (int m = 0; m < nmodels; m++) {
        char foot[256];
        snprintf(foot, sizeof foot, "same class: %d of %d (%.0f%%)", same[m], nq * k, 100.0 * same[m] / (nq * k));
        text(cr, LABEL_W + THUMB + GROUP_GAP + m * (group_w + GROUP_GAP), height - 10, 12, foot);
        printf("  %-24s %d of %d (%.1f%%)\n", models[m].label, same[m], nq * k, 100.0 * same[m] / (nq * k));
    }
    const cairo_status_t status = cairo_status(cr);
    cairo_destroy(cr);
    if (status != CAIRO_STATUS_SUCCESS) cbd_fail(CBD_EXIT_FAILURE, "%s: cairo: %s", out, cairo_status_to_string(status));
    if (plot_cairo_write_png(surface, out, err, sizeof err) != 0) cbd_fail(CBD_EXIT_FAILURE, "%s", err);
    cairo_surface_destroy(surface);
    free(img.pixels);
    free(same);
    for (int m = 0; m < nmodels; m++) {
        curves_csv_free(&models[m].csv);
        free((char *)models[m].label);
    }
    free(models);
    cbd_dataset_close(train);
    cbd_dataset_close(queries);
    return CBD_EXIT_OK;
}
