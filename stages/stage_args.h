/* The command line every stage executable shares: --config and --set always,
 * and the options a stage asks for. */
#ifndef CBD_STAGE_ARGS_H
#define CBD_STAGE_ARGS_H

#include <stdio.h>

#include "experiment/config.h"

#define CBD_STAGE_MAX_OVERRIDES 64
#define CBD_STAGE_MAX_MODELS 16

enum {
    CBD_ARG_TEACHER = 1 << 0, /* --teacher NAME */
    CBD_ARG_RESUME = 1 << 1,  /* --resume */
    CBD_ARG_FORCE = 1 << 2,   /* --force */
    CBD_ARG_QUIET = 1 << 3,   /* --quiet */
    CBD_ARG_MODEL = 1 << 4,   /* --model PATH */
    CBD_ARG_NAME = 1 << 5,    /* --name NAME */
    CBD_ARG_SPLIT = 1 << 6,   /* --split test|val */
    CBD_ARG_NCM = 1 << 7,     /* --ncm */
    CBD_ARG_STUDENT = 1 << 8, /* --student NAME: the model of [student.NAME] */
    CBD_ARG_NEIGHBOURS = 1 << 9 /* --neighbours N */
};

typedef struct {
    const char *config, *teacher, *model, *name, *split, *student, *neighbours;
    const char *models[CBD_STAGE_MAX_MODELS]; /* every --model, in order (model: the first) */
    int n_models;
    int resume, force, quiet, ncm;
    const char *overrides[CBD_STAGE_MAX_OVERRIDES];
    int n_overrides;
} cbd_stage_args;

/* Parses argv. --help prints usage and exits 0; an unknown or missing
 * option prints usage and exits 2. `required` (a subset of `accepted`) must
 * be given; --config always must. */
void cbd_stage_parse_args(int argc, char **argv, unsigned accepted, unsigned required,
                          void (*usage)(FILE *out), cbd_stage_args *a);
/* Loads the INI with the --set overrides (and, with --student NAME, the model
 * of [student.NAME]); exits 2 with the message on error. */
void cbd_stage_load_config(const cbd_stage_args *a, cbd_config *cfg);

#endif
