/* PNG files from cairo surfaces (tools/plot/cairo_png.h). */
#include "tools/plot/cairo_png.h"

#include <stdlib.h>
#include <string.h>

#include <fontconfig/fontconfig.h>

#include "nn/log.h"
#include "store/fsutil.h"

typedef struct {
    unsigned char *data;
    size_t len, cap;
} png_bytes;

static cairo_status_t take_bytes(void *closure, const unsigned char *data, unsigned int length) {
    png_bytes *b = closure;
    if (b->len + length > b->cap) {
        size_t cap = b->cap ? b->cap : 1 << 16;
        while (cap < b->len + length) cap *= 2;
        unsigned char *grown = realloc(b->data, cap);
        if (!grown) return CAIRO_STATUS_NO_MEMORY;
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, length);
    b->len += length;
    return CAIRO_STATUS_SUCCESS;
}

/* At exit: cairo's caches and fontconfig's configuration, which both keep
 * for the process's life, handed back (so a leak checker sees only ours). */
static void release_font_caches(void) {
    cairo_debug_reset_static_data();
    FcFini();
}

int plot_cairo_write_png(cairo_surface_t *surface, const char *path, char *err, size_t err_len) {
    static int registered;
    if (!registered) registered = atexit(release_font_caches) == 0;
    png_bytes bytes = {0};
    const cairo_status_t status = cairo_surface_write_to_png_stream(surface, take_bytes, &bytes);
    int rc = -1;
    if (status != CAIRO_STATUS_SUCCESS)
        cbd_set_error(err, err_len, "%s: cairo could not encode the PNG: %s", path, cairo_status_to_string(status));
    else
        rc = cbd_write_file_atomic(path, bytes.data, bytes.len, err, err_len);
    free(bytes.data);
    return rc;
}
