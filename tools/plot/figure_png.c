/* A figure as PNG through cairo (tools/plot/figure.h): the same items as the
 * SVG, drawn on a white image surface and written by cairo_png.c. */
#include "tools/plot/figure.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>

#include "nn/log.h"
#include "tools/plot/cairo_png.h"

static const double pi = 3.14159265358979323846;

static void set_colour(cairo_t *cr, const char *hex, double alpha) {
    unsigned r = 0, g = 0, b = 0;
    if (sscanf(hex, "#%2x%2x%2x", &r, &g, &b) != 3) r = g = b = 0;
    cairo_set_source_rgba(cr, r / 255.0, g / 255.0, b / 255.0, alpha);
}

static void marker(cairo_t *cr, const plot_item *it) {
    const double x = it->x, y = it->y;
    if (it->shape == PLOT_SQUARE) {
        cairo_rectangle(cr, x - 3.5, y - 3.5, 7, 7);
    } else if (it->shape == PLOT_DIAMOND) {
        cairo_move_to(cr, x, y - 4.5);
        cairo_line_to(cr, x + 4.5, y);
        cairo_line_to(cr, x, y + 4.5);
        cairo_line_to(cr, x - 4.5, y);
        cairo_close_path(cr);
    } else {
        cairo_new_sub_path(cr);
        cairo_arc(cr, x, y, 3.5, 0, 2 * pi);
    }
    set_colour(cr, it->colour, 1.0);
    cairo_fill(cr);
}

static void text(cairo_t *cr, const plot_item *it) {
    cairo_save(cr);
    cairo_set_font_size(cr, it->size);
    cairo_text_extents_t ext;
    cairo_text_extents(cr, it->text, &ext);
    cairo_translate(cr, it->x, it->y);
    if (it->rotate) cairo_rotate(cr, -it->rotate * pi / 180.0);
    const double shift = it->anchor == PLOT_START ? 0.0 : it->anchor == PLOT_END ? ext.x_advance : ext.x_advance / 2;
    cairo_move_to(cr, -shift, 0);
    set_colour(cr, it->colour[0] ? it->colour : "#000000", 1.0);
    cairo_show_text(cr, it->text);
    cairo_restore(cr);
}

static void item(cairo_t *cr, const plot_item *it) {
    switch (it->kind) {
    case PLOT_LINE:
        cairo_move_to(cr, it->x, it->y);
        cairo_line_to(cr, it->w, it->h);
        cairo_set_line_width(cr, it->width);
        set_colour(cr, it->colour, 1.0);
        cairo_stroke(cr);
        break;
    case PLOT_POLYLINE:
        if (it->npoints < 1) break;
        cairo_move_to(cr, it->points[0], it->points[1]);
        for (int k = 1; k < it->npoints; k++) cairo_line_to(cr, it->points[2 * k], it->points[2 * k + 1]);
        cairo_set_line_width(cr, it->width);
        cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
        set_colour(cr, it->colour, it->opacity);
        cairo_stroke(cr);
        break;
    case PLOT_RECT:
        cairo_rectangle(cr, it->x, it->y, it->w, it->h);
        if (it->fill[0]) {
            set_colour(cr, it->fill, 1.0);
            if (it->colour[0]) cairo_fill_preserve(cr);
            else cairo_fill(cr);
        }
        if (it->colour[0]) {
            cairo_set_line_width(cr, 1.0);
            set_colour(cr, it->colour, 1.0);
            cairo_stroke(cr);
        }
        cairo_new_path(cr);
        break;
    case PLOT_MARKER:
        marker(cr, it);
        break;
    case PLOT_TEXT:
        text(cr, it);
        break;
    }
}

int plot_figure_png(const plot_figure *f, const char *path, char *err, size_t err_len) {
    cairo_surface_t *surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, f->width, f->height);
    cairo_t *cr = cairo_create(surface);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    for (int i = 0; i < f->count; i++) item(cr, &f->items[i]);
    const cairo_status_t status = cairo_status(cr);
    cairo_destroy(cr);
    int rc = -1;
    if (status != CAIRO_STATUS_SUCCESS)
        cbd_set_error(err, err_len, "%s: cairo could not draw the figure: %s", path, cairo_status_to_string(status));
    else
        rc = plot_cairo_write_png(surface, path, err, err_len);
    cairo_surface_destroy(surface);
    return rc;
}
