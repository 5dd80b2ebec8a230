/* A figure as SVG text (tools/plot/figure.h). */
#include "tools/plot/figure.h"

static const char *anchor_name(plot_anchor a) { return a == PLOT_START ? "start" : a == PLOT_END ? "end" : "middle"; }

static const char *shape_element(plot_shape s) {
    return s == PLOT_SQUARE ? "rect" : s == PLOT_DIAMOND ? "polygon" : "circle";
}

static void marker(report_text *t, const plot_item *it) {
    const double x = it->x, y = it->y;
    if (it->shape == PLOT_SQUARE)
        report_text_printf(t, "<rect x=\"%.2f\" y=\"%.2f\" width=\"7\" height=\"7\" fill=\"%s\"", x - 3.5, y - 3.5,
                           it->colour);
    else if (it->shape == PLOT_DIAMOND)
        report_text_printf(t, "<polygon points=\"%.2f,%.2f %.2f,%.2f %.2f,%.2f %.2f,%.2f\" fill=\"%s\"", x, y - 4.5,
                           x + 4.5, y, x, y + 4.5, x - 4.5, y, it->colour);
    else
        report_text_printf(t, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3.5\" fill=\"%s\"", x, y, it->colour);
    if (!it->text) {
        report_text_put(t, "/>\n");
        return;
    }
    report_text_put(t, "><title>");
    report_text_xml(t, it->text);
    report_text_printf(t, "</title></%s>\n", shape_element(it->shape));
}

static void item(report_text *t, const plot_item *it) {
    switch (it->kind) {
    case PLOT_LINE:
        report_text_printf(t, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\"", it->x, it->y,
                           it->w, it->h, it->colour);
        if (it->width != 1.0) report_text_printf(t, " stroke-width=\"%g\"", it->width);
        report_text_put(t, "/>\n");
        break;
    case PLOT_POLYLINE:
        report_text_printf(t, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%g\"", it->colour, it->width);
        if (it->opacity < 1.0) report_text_printf(t, " stroke-opacity=\"%g\"", it->opacity);
        report_text_put(t, " points=\"");
        for (int k = 0; k < it->npoints; k++)
            report_text_printf(t, "%s%.2f,%.2f", k ? " " : "", it->points[2 * k], it->points[2 * k + 1]);
        report_text_put(t, "\"/>\n");
        break;
    case PLOT_RECT:
        report_text_printf(t, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"", it->x, it->y,
                           it->w, it->h, it->fill[0] ? it->fill : "none");
        if (it->colour[0]) report_text_printf(t, " stroke=\"%s\"", it->colour);
        report_text_put(t, "/>\n");
        break;
    case PLOT_MARKER:
        marker(t, it);
        break;
    case PLOT_TEXT:
        report_text_printf(t, "<text x=\"%.2f\" y=\"%.2f\"", it->x, it->y);
        if (it->anchor != PLOT_START) report_text_printf(t, " text-anchor=\"%s\"", anchor_name(it->anchor));
        if (it->size != 12.0) report_text_printf(t, " font-size=\"%g\"", it->size);
        if (it->rotate) report_text_printf(t, " transform=\"rotate(%d %.2f %.2f)\"", -it->rotate, it->x, it->y);
        report_text_put(t, ">");
        report_text_xml(t, it->text);
        report_text_put(t, "</text>\n");
        break;
    }
}

void plot_figure_svg(const plot_figure *f, report_text *t) {
    report_text_printf(t,
                       "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                       "font-family=\"sans-serif\" font-size=\"12\">\n",
                       f->width, f->height, f->width, f->height);
    report_text_put(t, "<title>");
    report_text_xml(t, f->title);
    report_text_put(t, "</title>\n");
    report_text_printf(t, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"white\"/>\n", f->width, f->height);
    for (int i = 0; i < f->count; i++) item(t, &f->items[i]);
    report_text_put(t, "</svg>\n");
}
