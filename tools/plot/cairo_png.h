/* A cairo image surface written as a PNG file, atomically (the bytes built
 * in memory by cairo's encoder, then store/fsutil's atomic write). Also
 * hands cairo's and fontconfig's process-long caches back at exit. */
#ifndef CBD_PLOT_CAIRO_PNG_H
#define CBD_PLOT_CAIRO_PNG_H

#include <stddef.h>

#include <cairo.h>

/* 0, or -1 with why (naming path) in err. */
int plot_cairo_write_png(cairo_surface_t *surface, const char *path, char *err, size_t err_len);

#endif
