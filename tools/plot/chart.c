/* The shared frame of cbd's plots (tools/plot/chart.h). */
#include "tools/plot/chart.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"

const char *const plot_palette[10] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

/* A legend line holds about this many characters of 12 px text. */
enum { LEGEND_LINE_CHARS = 26, LEGEND_MAX_LINES = 3, LEGEND_ROW = 18, LEGEND_LINE = 14 };

double plot_nice_step(double span) {
    if (!(span > 0.0)) return 1.0;
    double raw = span / 6.0, base = pow(10.0, floor(log10(raw)));
    double f = raw / base;
    return base * (f < 1.5 ? 1.0 : f < 3.5 ? 2.0 : f < 7.5 ? 5.0 : 10.0);
}

double plot_chart_x(const plot_chart *c, double x) {
    return c->left + (x - c->x_lo) / (c->x_hi - c->x_lo) * (c->right - c->left);
}

double plot_chart_y(const plot_chart *c, double y) {
    if (y < c->y_lo) y = c->y_lo;
    if (y > c->y_hi) y = c->y_hi;
    return c->bottom - (y - c->y_lo) / (c->y_hi - c->y_lo) * (c->bottom - c->top);
}

void plot_chart_begin(plot_chart *c, plot_figure *f, const char *title, const char *x_title, const char *y_title,
                      double x_lo, double x_hi, double y_lo, double y_hi, double y_step) {
    plot_chart_begin_at(c, f, 50, f->height - 65, title, x_title, y_title, x_lo, x_hi, y_lo, y_hi, y_step);
}

void plot_chart_begin_at(plot_chart *c, plot_figure *f, double top, double bottom, const char *title,
                         const char *x_title, const char *y_title, double x_lo, double x_hi, double y_lo,
                         double y_hi, double y_step) {
    c->fig = f;
    c->left = 70;
    c->right = 545;
    c->top = top;
    c->bottom = bottom;
    c->x_lo = x_lo;
    c->x_hi = x_hi > x_lo ? x_hi : x_lo + 1.0;
    c->y_lo = y_lo;
    c->y_hi = y_hi > y_lo ? y_hi : y_lo + 1.0;
    c->legend_x = 560;
    c->legend_y = c->top + 8;
    plot_text(f, (c->left + c->right) / 2, top - 22, title, PLOT_MIDDLE, 16, 0);
    const double first = ceil(c->y_lo / y_step - 1e-9) * y_step;
    for (int k = 0; k < 60 && first + k * y_step <= c->y_hi + 1e-9 * y_step; k++) {
        const double v = first + k * y_step, y = plot_chart_y(c, v);
        char label[32];
        snprintf(label, sizeof label, "%g", fabs(v) < 1e-12 * y_step ? 0.0 : v);
        plot_line(f, c->left, y, c->right, y, "#dddddd", 1.0);
        plot_text(f, c->left - 6, y + 4, label, PLOT_END, 12, 0);
    }
    plot_rect(f, c->left, c->top, c->right - c->left, c->bottom - c->top, NULL, "#000000");
    plot_text(f, (c->left + c->right) / 2, bottom + 43, x_title, PLOT_MIDDLE, 12, 0);
    plot_text(f, 20, (c->top + c->bottom) / 2, y_title, PLOT_MIDDLE, 12, 90);
}

void plot_chart_x_tick(plot_chart *c, double x, const char *label, int grid) {
    const double px = plot_chart_x(c, x);
    if (grid) plot_line(c->fig, px, c->top, px, c->bottom, "#dddddd", 1.0);
    plot_line(c->fig, px, c->bottom, px, c->bottom + 5, "#000000", 1.0);
    if (label && *label) plot_text(c->fig, px, c->bottom + 18, label, PLOT_MIDDLE, 12, 0);
}

void plot_chart_x_ticks(plot_chart *c) {
    const double step = plot_nice_step(c->x_hi - c->x_lo), first = ceil(c->x_lo / step) * step;
    for (int k = 0; k < 50 && first + k * step <= c->x_hi + 1e-9 * step; k++) {
        const double v = first + k * step;
        char label[32];
        snprintf(label, sizeof label, "%g", fabs(v) < 1e-12 * step ? 0.0 : v);
        plot_chart_x_tick(c, v, label, 1);
    }
}

/* Bytes of the first `chars` characters of s (whole UTF-8 sequences). */
static size_t utf8_prefix(const char *s, size_t chars) {
    size_t at = 0;
    for (size_t n = 0; s[at] && n < chars; n++) {
        at++;
        while (((unsigned char)s[at] & 0xc0) == 0x80) at++;
    }
    return at;
}

int plot_chart_legend_full(const plot_chart *c) { return c->legend_y > c->bottom - 2 * LEGEND_ROW; }

void plot_chart_legend(plot_chart *c, plot_shape shape, const char *colour, const char *label) {
    const double y = c->legend_y;
    plot_line(c->fig, c->legend_x, y, c->legend_x + 24, y, colour, 2.0);
    plot_marker(c->fig, shape, c->legend_x + 12, y, colour, NULL);
    /* lines of at most LEGEND_LINE_CHARS, broken after a space where one is */
    const char *rest = label;
    int lines = 0;
    while (*rest && lines < LEGEND_MAX_LINES) {
        size_t take = utf8_prefix(rest, LEGEND_LINE_CHARS);
        const int last = lines == LEGEND_MAX_LINES - 1;
        if (rest[take] && !last) {
            size_t space = take;
            while (space > 0 && rest[space] != ' ') space--;
            if (space > 0) take = space;
        }
        char *line = cbd_malloc(take + 4);
        memcpy(line, rest, take);
        line[take] = '\0';
        if (last && rest[take]) strcat(line, "\xe2\x80\xa6"); /* only a label of over 3 lines is cut */
        plot_text(c->fig, c->legend_x + 30, y + 4 + lines * LEGEND_LINE, line, PLOT_START, 12, 0);
        free(line);
        rest += take;
        while (*rest == ' ') rest++;
        lines++;
    }
    c->legend_y += LEGEND_ROW + (lines > 1 ? (lines - 1) * LEGEND_LINE : 0);
}

void plot_chart_legend_note(plot_chart *c, const char *text) {
    plot_text(c->fig, c->legend_x, c->legend_y + 4, text, PLOT_START, 11, 0);
    c->legend_y += LEGEND_ROW;
}
