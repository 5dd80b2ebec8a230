/* Choosing a sweep's grid point on the validation split, reporting it on the
 * test split (tools/sweep.c's step 5, when the base sets [data] val): every
 * model evaluated with --split val (eval/val-NAME.*), their comparison
 * PREFIX.val.{md,csv,...}, and PREFIX.selection.md naming the point of the
 * best validation top-1 (mean over seeds; ties: the first point) with that
 * point's test numbers. */
#ifndef CBD_SWEEP_SELECT_H
#define CBD_SWEEP_SELECT_H

#include "experiment/config.h"
#include "tools/sweep_models.h"

/* run(argv, out): runs a program, its stdout into out (NULL: ours); its exit status. */
typedef int (*sweep_runner)(char *const argv[], const char *out);

/* Exits (1) naming what failed. */
void sweep_select_on_val(const char *bin, const char *ini, const cbd_config *base, const sweep_models *m,
                         const char *prefix, const char *title, sweep_runner run);

#endif
