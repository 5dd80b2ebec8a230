/* A sweep file (ini/sweeps/NAME.ini, format in ini/README.md "Sweeps"): the base
 * experiment, the seeds, and a grid of [student] keys, each with its values.
 * This module reads and checks the file alone; the values are checked
 * against the base by tools/sweep_models.c. */
#ifndef CBD_SWEEP_SPEC_H
#define CBD_SWEEP_SPEC_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "experiment/config.h" /* CBD_NAME_MAX, CBD_MAX_STUDENTS */

#define SWEEP_MAX_AXES 8
#define SWEEP_MAX_VALUES CBD_MAX_STUDENTS /* every grid point and seed is one [student.NAME] */
#define SWEEP_MAX_SEEDS CBD_MAX_STUDENTS

typedef struct {
    char key[CBD_NAME_MAX]; /* the [student] key: "alpha" of `student.alpha` */
    int line;               /* the line of the sweep file that sets it */
    int is_list;            /* a list-valued key: alternatives are separated by '|' */
    int n_values;
    char *values[SWEEP_MAX_VALUES]; /* trimmed; list values as "a, b" */
} sweep_axis;

typedef struct {
    char path[PATH_MAX];       /* the sweep file as given */
    char base[PATH_MAX];       /* [sweep] base, joined to the sweep file's folder when relative */
    int base_line;
    char name[CBD_NAME_MAX];   /* [sweep] name, or the file's name without .ini */
    int name_line;             /* 0: from the file name */
    uint64_t seeds[SWEEP_MAX_SEEDS];
    int n_seeds;               /* 0: one run per grid point, with the base's seed */
    int seeds_line;
    sweep_axis axes[SWEEP_MAX_AXES]; /* in file order: the first varies slowest */
    int n_axes;
    int points;                /* the product of the axes' n_values */
    int models;                /* points * max(1, n_seeds) */
} sweep_spec;

/* Reads the sweep file at path. Returns 0, or -1 with one message in err
 * naming the file, the line and the key. */
int sweep_spec_load(sweep_spec *s, const char *path, char *err, size_t err_len);
void sweep_spec_free(sweep_spec *s);

/* The value index of each axis at grid point p (0-based; first axis slowest). */
void sweep_spec_point(const sweep_spec *s, int p, int idx[SWEEP_MAX_AXES]);

#endif
