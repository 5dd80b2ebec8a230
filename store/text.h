/* Text built in memory: a growable, NUL-terminated buffer written with
 * printf, and the JSON pieces the tools and stages write into it (strings
 * escaped, numbers with null for the non-finite).
 *
 *     cbd_text t = {0};
 *     cbd_text_printf(&t, "{\"name\": ");
 *     cbd_text_json_string(&t, name);
 *     cbd_text_printf(&t, "}\n");
 *     fputs(cbd_text_str(&t), out);
 *     cbd_text_free(&t);
 *
 * Running out of memory ends the program (exit 1) with a message. */
#ifndef CBD_TEXT_H
#define CBD_TEXT_H

#include <stdarg.h>
#include <stddef.h>

typedef struct {
    char *p;    /* NULL until something is written; then NUL-terminated */
    size_t len; /* bytes before the NUL */
    size_t cap;
} cbd_text;

/* Appends formatted text. */
void cbd_text_printf(cbd_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cbd_text_vprintf(cbd_text *t, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* The text so far ("" when nothing was written). */
const char *cbd_text_str(const cbd_text *t);
/* Empties the text, keeping its memory. */
void cbd_text_clear(cbd_text *t);
/* Frees the memory; the text is empty again. */
void cbd_text_free(cbd_text *t);

/* A JSON string in double quotes: \" \\ \n \t, \u00XX for the other control
 * bytes and DEL, valid UTF-8 as it is, and U+FFFD (\ufffd) for each byte
 * that is not part of a valid UTF-8 sequence. */
void cbd_text_json_string(cbd_text *t, const char *s);
/* A JSON number with ten significant digits (%.10g), or null when x is NaN
 * or infinite. */
void cbd_text_json_number(cbd_text *t, double x);

#endif
