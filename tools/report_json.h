/* A small strict JSON reader (RFC 8259) for cbd-report: objects, arrays,
 * strings with escapes (UTF-8 checked), numbers, true, false, null.
 * Malformed input is refused with the line, column and byte offset; nesting
 * is bounded, so no input can exhaust the stack. */
#ifndef CBD_REPORT_JSON_H
#define CBD_REPORT_JSON_H

#include <stddef.h>

enum { JSON_MAX_DEPTH = 64 };

typedef enum { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type;

typedef struct json_value json_value;
struct json_value {
    json_type type;
    int line;             /* where the value starts, for messages */
    double number;        /* JSON_NUMBER */
    char *string;         /* JSON_STRING: UTF-8, NUL-terminated, no NUL inside */
    size_t count;         /* JSON_ARRAY, JSON_OBJECT: members */
    json_value *items;    /* the members' values */
    char **keys;          /* JSON_OBJECT: the members' keys (unique) */
};

/* Parses the whole of text[0..len). Members of the top-level object whose key
 * is in `skip` (a NULL-terminated list, or NULL) are checked like the rest but
 * not kept: large tables nobody reads cost no memory. Returns NULL with
 * "line L, column C (byte B): what" in err on malformed input. */
json_value *json_parse(const char *text, size_t len, const char *const *skip, char *err, size_t err_len);
/* Reads and parses a file of at most max_bytes; messages start with the path. */
json_value *json_parse_file(const char *path, size_t max_bytes, const char *const *skip, char *err,
                            size_t err_len);
void json_free(json_value *v);

/* The member `key` of an object, or NULL (also when v is not an object). */
const json_value *json_get(const json_value *v, const char *key);
const char *json_type_name(json_type type);

#endif
