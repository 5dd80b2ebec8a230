/* The files of a training run beside its checkpoint (cbd_run_files,
 * experiment/run_layout.h). While a run goes on, its metrics CSV, log and
 * resolved configuration are STEM.resume.metrics.csv, .resume.log and
 * .resume.config.ini beside the resume checkpoint, so a run that is refused,
 * fails or is killed never touches the files of a finished one. The final
 * checkpoint keeps the three texts inside it (/run), and STEM.metrics.csv,
 * STEM.config.ini and STEM.log are written from there: they always belong to
 * the checkpoint beside them. */
#ifndef CBD_RUN_FILES_H
#define CBD_RUN_FILES_H

#include <stddef.h>

#include "experiment/run_layout.h"

/* After the final checkpoint is written, or found up to date: makes
 * STEM.metrics.csv and STEM.config.ini equal to its texts and STEM.log start
 * with its log (rewriting, atomically, whatever differs: this also repairs a
 * run killed between writing the checkpoint and these files), then removes
 * the files of a run in progress. A checkpoint without texts (written by an
 * earlier version) leaves the files as they are. Returns 0, or -1 with a
 * message naming the file. */
int cbd_run_files_publish(const cbd_run_files *f, char *err, size_t err_len);

/* Removes the files of a run in progress: the resume checkpoint and its texts. */
void cbd_run_files_discard(const cbd_run_files *f);

/* Removes what a killed writer of these files left (PATH.tmp.PID); for a
 * caller that holds the output's lock. */
void cbd_run_files_remove_temporaries(const cbd_run_files *f);

#endif
