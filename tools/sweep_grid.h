/* The [grid] section of a sweep file (tools/sweep_spec.c reads the file). */
#ifndef CBD_SWEEP_GRID_H
#define CBD_SWEEP_GRID_H

#include <stddef.h>

#include "tools/sweep_spec.h"

/* Adds the grid line `name = value` (line `line` of s->path) to s as an axis:
 * name must be student.KEY, a key of [student]; value is split at ',' (at '|'
 * for list-valued keys), trimmed, checked for empty and repeated values.
 * value is modified. Returns 0, or -1 with a message naming the file and line. */
int sweep_grid_add(sweep_spec *s, int line, const char *name, char *value, char *err, size_t err_len);

/* s without blanks (and line ends) at either end; s is modified. */
char *sweep_trim(char *s);

#endif
