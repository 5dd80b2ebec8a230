/* A figure as a list of drawing items in pixel coordinates (lines, polylines,
 * rectangles, markers, text), drawn once by the plots and rendered twice:
 * as SVG text (figure_svg.c: vector, tooltips on the markers) and as PNG
 * through cairo (figure_png.c: for viewers and documents that show no SVG).
 * Colours are "#rrggbb". */
#ifndef CBD_PLOT_FIGURE_H
#define CBD_PLOT_FIGURE_H

#include <stddef.h>

#include "tools/report_text.h"

typedef enum { PLOT_LINE, PLOT_POLYLINE, PLOT_RECT, PLOT_MARKER, PLOT_TEXT } plot_item_kind;
typedef enum { PLOT_CIRCLE, PLOT_SQUARE, PLOT_DIAMOND } plot_shape;
typedef enum { PLOT_START = -1, PLOT_MIDDLE = 0, PLOT_END = 1 } plot_anchor;

typedef struct {
    plot_item_kind kind;
    double x, y, w, h;     /* line: (x, y) to (w, h); rect: corner and size; marker, text: the point */
    double *points;        /* polyline: x0 y0 x1 y1 ... */
    int npoints;
    char colour[8];        /* stroke, or a marker's and text's fill; "" none */
    char fill[8];          /* a rectangle's fill; "" none */
    double width, opacity; /* stroke width; stroke opacity (1 opaque) */
    plot_shape shape;
    plot_anchor anchor;
    double size;           /* font size, px */
    int rotate;            /* text: degrees, counter-clockwise about (x, y) (-90: upwards) */
    char *text;            /* text; a marker's tooltip (SVG <title>), or NULL */
} plot_item;

typedef struct {
    int width, height;
    char *title;
    plot_item *items;
    int count, capacity;
} plot_figure;

/* A white figure of width x height pixels; title: the SVG <title>. */
void plot_figure_init(plot_figure *f, int width, int height, const char *title);
void plot_figure_free(plot_figure *f);

void plot_line(plot_figure *f, double x1, double y1, double x2, double y2, const char *colour, double width);
/* n points (xy: 2n values); NAN coordinates are left out. */
void plot_polyline(plot_figure *f, const double *xy, int n, const char *colour, double width, double opacity);
/* fill and stroke: a colour or NULL (none). */
void plot_rect(plot_figure *f, double x, double y, double w, double h, const char *fill, const char *stroke);
/* tooltip: NULL or text shown on hover in the SVG. */
void plot_marker(plot_figure *f, plot_shape shape, double x, double y, const char *colour, const char *tooltip);
void plot_text(plot_figure *f, double x, double y, const char *text, plot_anchor anchor, double size, int rotate);

/* The figure as SVG text appended to t. */
void plot_figure_svg(const plot_figure *f, report_text *t);
/* The figure as a PNG file at path, written atomically; 0, or -1 with why
 * (naming the file) in err. */
int plot_figure_png(const plot_figure *f, const char *path, char *err, size_t err_len);

#endif
