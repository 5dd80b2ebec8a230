/* A growable text buffer for cbd-report: outputs are built whole in memory
 * and written atomically once every input has been read and checked. */
#ifndef CBD_REPORT_TEXT_H
#define CBD_REPORT_TEXT_H

#include <stddef.h>

typedef struct {
    char *data; /* NUL-terminated; NULL until the first append */
    size_t len;
    size_t cap;
} report_text;

void report_text_printf(report_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void report_text_put(report_text *t, const char *s);
/* s with & < > " ' escaped and control characters replaced by spaces: safe
 * as XML character data and attribute values. */
void report_text_xml(report_text *t, const char *s);
/* s for a Markdown table cell: | escaped, control characters replaced by spaces. */
void report_text_md(report_text *t, const char *s);
void report_text_free(report_text *t);

#endif
