/* Reading a file in the project's INI dialect with inih: lines of
 * `key = value`, [section] headers, comment lines starting with ';' or '#',
 * ' ;' inline comments, indentation ignored (an indented line never
 * continues the previous value), a UTF-8 byte order mark allowed. Lines are
 * counted here, not by inih, so that every message names its line; the
 * caller follows sections and keys through two handlers. The experiment INI
 * (experiment/config_read.c) and sweep files (tools/sweep_spec.c) are read
 * with it.
 *
 * Refusals, each "PATH:LINE: ...": a NUL byte, a line longer than the
 * limit, a header without ']' or with text after it, a line that is neither
 * a key, a header nor a comment; and "cannot open PATH", "PATH: larger than
 * 16 MiB". */
#ifndef CBD_INI_FILE_H
#define CBD_INI_FILE_H

#include <stddef.h>

typedef struct {
    void *ctx;
    /* A [NAME] header (NAME trimmed). Returns 0, or -1 after writing its error. */
    int (*section)(void *ctx, const char *name, int line);
    /* A `key = value` line of the current section (key may be empty). Returns 0 or -1 likewise. */
    int (*key)(void *ctx, const char *key, const char *value, int line);
} cbd_ini_handlers;

/* Reads path, calling the handlers in file order. max_line: the longest line
 * accepted (characters), when this inih lets its line buffer grow; a
 * smaller one otherwise (the message says which). Returns 0, or -1 with the
 * message in err (a handler's own, when a handler stopped the reading). */
int cbd_ini_read(const char *path, int max_line, const cbd_ini_handlers *h, char *err, size_t err_len);

#endif
