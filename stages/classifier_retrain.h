/* The classifier-only baselines of Kang et al. (2020), on a trained teacher:
 *   crt       a new classifier (the teacher's kind of head) trained with the
 *             student's sampling on the teacher's frozen backbone
 *   lws       the teacher's linear classifier with a learned per-class scale
 *             s_c on its logits (z_c = s_c (w_c v + b_c)), folded into the
 *             rows when done
 *   tau_norm  the teacher's linear classifier rows divided by their norm to
 *             the power [student] norm_power, no training (the bias, which
 *             holds the training prior, is dropped)
 * Training reads the backbone features from the teacher's feature store: the
 * k-th draw of an image uses stored view k mod S' ([student] views), the
 * same views the student would see, so no image is decoded and no
 * convolution runs. The result is a whole model (the teacher's backbone and
 * the new classifier) that cbd-evaluate reads like any other. */
#ifndef CBD_CLASSIFIER_RETRAIN_H
#define CBD_CLASSIFIER_RETRAIN_H

#include "experiment/config.h"
#include "experiment/output_digest.h"
#include "experiment/run_layout.h"
#include "store/dataset.h"

typedef struct {
    const cbd_config *cfg; /* cfg->student: method, from, epochs, lr, sampling, seed, views, norm_power */
    const cbd_dataset *train;
    const cbd_data_digests *data; /* of train */
    cbd_run_files files;          /* the model's checkpoint and the texts beside it */
    int force, quiet;
} cbd_classifier_job;

/* Runs the job and writes its checkpoint, with the run's texts beside it
 * (training/run_files.h). Up to date (same digest) unless force. Returns an
 * exit code. */
int cbd_classifier_run(const cbd_classifier_job *job);

#endif
