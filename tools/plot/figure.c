/* The drawing items of a figure (tools/plot/figure.h). */
#include "tools/plot/figure.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"

void plot_figure_init(plot_figure *f, int width, int height, const char *title) {
    memset(f, 0, sizeof *f);
    f->width = width;
    f->height = height;
    f->title = cbd_strdup(title ? title : "");
}

void plot_figure_free(plot_figure *f) {
    for (int i = 0; i < f->count; i++) {
        free(f->items[i].points);
        free(f->items[i].text);
    }
    free(f->items);
    free(f->title);
    memset(f, 0, sizeof *f);
}

static plot_item *add(plot_figure *f, plot_item_kind kind, const char *colour) {
    if (f->count == f->capacity) {
        f->capacity = f->capacity ? 2 * f->capacity : 64;
        plot_item *grown = realloc(f->items, (size_t)f->capacity * sizeof *f->items);
        if (!grown) cbd_fail(CBD_EXIT_FAILURE, "out of memory drawing %s", f->title);
        f->items = grown;
    }
    plot_item *it = &f->items[f->count++];
    memset(it, 0, sizeof *it);
    it->kind = kind;
    it->width = 1.0;
    it->opacity = 1.0;
    it->size = 12.0;
    if (colour) snprintf(it->colour, sizeof it->colour, "%s", colour);
    return it;
}

void plot_line(plot_figure *f, double x1, double y1, double x2, double y2, const char *colour, double width) {
    plot_item *it = add(f, PLOT_LINE, colour);
    it->x = x1;
    it->y = y1;
    it->w = x2;
    it->h = y2;
    it->width = width;
}

void plot_polyline(plot_figure *f, const double *xy, int n, const char *colour, double width, double opacity) {
    plot_item *it = add(f, PLOT_POLYLINE, colour);
    it->points = cbd_malloc((size_t)(n > 0 ? n : 1) * 2 * sizeof *it->points);
    for (int k = 0; k < n; k++) {
        if (isnan(xy[2 * k]) || isnan(xy[2 * k + 1])) continue;
        it->points[2 * it->npoints] = xy[2 * k];
        it->points[2 * it->npoints + 1] = xy[2 * k + 1];
        it->npoints++;
    }
    it->width = width;
    it->opacity = opacity;
}

void plot_rect(plot_figure *f, double x, double y, double w, double h, const char *fill, const char *stroke) {
    plot_item *it = add(f, PLOT_RECT, stroke);
    if (fill) snprintf(it->fill, sizeof it->fill, "%s", fill);
    it->x = x;
    it->y = y;
    it->w = w;
    it->h = h;
}

void plot_marker(plot_figure *f, plot_shape shape, double x, double y, const char *colour, const char *tooltip) {
    plot_item *it = add(f, PLOT_MARKER, colour);
    it->shape = shape;
    it->x = x;
    it->y = y;
    it->text = tooltip ? cbd_strdup(tooltip) : NULL;
}

void plot_text(plot_figure *f, double x, double y, const char *text, plot_anchor anchor, double size, int rotate) {
    plot_item *it = add(f, PLOT_TEXT, "#000000");
    it->x = x;
    it->y = y;
    it->text = cbd_strdup(text);
    it->anchor = anchor;
    it->size = size;
    it->rotate = rotate;
}
