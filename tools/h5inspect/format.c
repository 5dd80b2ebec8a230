/* How numbers, strings and shapes read in h5inspect's text output. */
#include "tools/h5inspect/h5inspect.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Shortest decimal text that reads back as the same value (as a float when
 * single is set); plain notation for magnitudes from 1e-4 to 1e15. Written
 * into a buffer of its own, then copied: gcc's -Wformat-truncation sees a
 * null `out` on a path of the sanitizer build otherwise. */
static void format_number(char out[40], double v, int single) {
    char text[40];
    if (isnan(v)) {
        snprintf(text, sizeof text, "nan");
    } else if (isinf(v)) {
        snprintf(text, sizeof text, v > 0 ? "inf" : "-inf");
    } else {
        int p = 1;
        for (; p < 17; p++) {
            snprintf(text, sizeof text, "%.*g", p, v);
            if (single ? strtof(text, NULL) == (float)v : strtod(text, NULL) == v) break;
        }
        const double a = fabs(v);
        const int digits = a >= 1.0 ? (int)floor(log10(a)) + 1 : 1;
        if (strchr(text, 'e') && a >= 1e-4 && a < 1e15 && digits > p) snprintf(text, sizeof text, "%.*g", digits, v);
    }
    memcpy(out, text, sizeof text);
}

void format_double(char out[40], double v) { format_number(out, v, 0); }
void format_float(char out[40], float v) { format_number(out, v, 1); }

void text_quote(cbd_text *b, const char *s) {
    cbd_text_printf(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') cbd_text_printf(b, "\\%c", *p);
        else if (*p == '\n') cbd_text_printf(b, "\\n");
        else if (*p == '\t') cbd_text_printf(b, "\\t");
        else if (*p < 0x20 || *p == 0x7f) cbd_text_printf(b, "\\x%02x", *p);
        else cbd_text_printf(b, "%c", *p);
    }
    cbd_text_printf(b, "\"");
}

void text_shape(cbd_text *b, int ndim, const hsize_t *dims) {
    cbd_text_printf(b, "[");
    for (int k = 0; k < ndim; k++) cbd_text_printf(b, "%s%llu", k ? ", " : "", (unsigned long long)dims[k]);
    cbd_text_printf(b, "]");
}

const char *yes_no(int64_t v) { return v ? "yes" : "no"; }
