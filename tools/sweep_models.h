/* The models of a sweep: one [student.NAME] per grid point and seed, named
 * <sweep>-<i>, labelled by the grid point, written after the resolved base
 * configuration into one experiment INI that the stages and cbd-plan read. */
#ifndef CBD_SWEEP_MODELS_H
#define CBD_SWEEP_MODELS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "experiment/config.h"
#include "tools/sweep_spec.h"

typedef struct {
    char name[CBD_NAME_MAX];  /* NAME of [student.NAME] */
    char label[CBD_NAME_MAX]; /* shared by the seeds of one grid point */
    int point;                /* the grid point, 0-based */
    int has_seed;             /* [sweep] seeds given: seed is this run's */
    uint64_t seed;
} sweep_model;

typedef struct {
    sweep_model models[CBD_MAX_STUDENTS]; /* grid points in order, seeds within a point */
    int n;
    char x[SWEEP_MAX_VALUES][64]; /* X of each grid point on the report's sweep plot, as text */
    char x_name[CBD_NAME_MAX + 32];
} sweep_models;

/* Checks each grid value against the base's [student] on its own (as --set
 * student.KEY=VALUE). Returns 0, or -1 with a message naming the sweep file
 * and line. */
int sweep_check_values(const sweep_spec *s, char *err, size_t err_len);

/* Names, labels and X values of the models; -1 with a message when two grid
 * points get one label or a name is taken by a [student.NAME] of the base. */
int sweep_models_make(const sweep_spec *s, const cbd_config *base, sweep_models *m, char *err, size_t err_len);

/* The generated INI: the resolved base, then the models' sections. */
void sweep_models_write_ini(const sweep_spec *s, const cbd_config *base, const sweep_models *m, FILE *out);

/* Loads every model from the generated INI at ini_path, as the stages will. */
int sweep_models_check(const sweep_spec *s, const sweep_models *m, const char *ini_path, char *err, size_t err_len);

#endif
