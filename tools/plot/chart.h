/* The frame every cbd plot shares, on a figure (tools/plot/figure.h): a title,
 * a plot area with a linear y axis and a linear (or log10) x axis, grid
 * lines, axis titles, and a legend column right of the plot whose labels
 * wrap onto more lines instead of being cut. */
#ifndef CBD_PLOT_CHART_H
#define CBD_PLOT_CHART_H

#include "tools/plot/figure.h"

/* The size of cbd's plots: the plot area and a legend column of 26
 * characters a line. */
enum { PLOT_WIDTH = 790, PLOT_HEIGHT = 480 };

typedef struct {
    plot_figure *fig;
    double left, right, top, bottom; /* the plot area, px */
    double x_lo, x_hi, y_lo, y_hi;   /* the data ranges mapped onto it */
    double legend_x, legend_y;       /* where the next legend entry goes */
} plot_chart;

extern const char *const plot_palette[10];

/* A chart on f (already initialised, PLOT_WIDTH x PLOT_HEIGHT or larger), x over [x_lo,
 * x_hi], y over [y_lo, y_hi] with a grid line every y_step: frame, title,
 * axis titles and y ticks drawn. */
void plot_chart_begin(plot_chart *c, plot_figure *f, const char *title, const char *x_title, const char *y_title,
                      double x_lo, double x_hi, double y_lo, double y_hi, double y_step);
/* The same with the plot area between rows top and bottom (px) of f: one
 * of several charts stacked on a figure (about 50 px above, 65 below). */
void plot_chart_begin_at(plot_chart *c, plot_figure *f, double top, double bottom, const char *title,
                         const char *x_title, const char *y_title, double x_lo, double x_hi, double y_lo,
                         double y_hi, double y_step);
double plot_chart_x(const plot_chart *c, double x);
/* y clamped to the axis. */
double plot_chart_y(const plot_chart *c, double y);
/* A tick at data x with its label under the axis; a grid line when grid. */
void plot_chart_x_tick(plot_chart *c, double x, const char *label, int grid);
/* Ticks every 1, 2 or 5 x 10^k across the x range, labelled with %g. */
void plot_chart_x_ticks(plot_chart *c);
/* The next legend entry: a short line with a marker in colour, then the
 * label, wrapped at word boundaries. */
void plot_chart_legend(plot_chart *c, plot_shape shape, const char *colour, const char *label);
/* 1 when the legend column has room for no more than a last note. */
int plot_chart_legend_full(const plot_chart *c);
/* A line of small text in the legend column. */
void plot_chart_legend_note(plot_chart *c, const char *text);
/* The step (1, 2 or 5 x 10^k) of about span / 6. */
double plot_nice_step(double span);

#endif
