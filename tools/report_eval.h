/* One cbd-evaluate JSON (format "cbd-eval") as cbd-report needs it: the
 * headline accuracies, the optional NCM ones, the group thresholds and the
 * per-class table, every value checked. */
#ifndef CBD_REPORT_EVAL_H
#define CBD_REPORT_EVAL_H

#include <stddef.h>

/* The largest evaluation file read (its confusion matrix is checked, not kept). */
#define REPORT_EVAL_MAX_BYTES ((size_t)1 << 30)

typedef struct {
    char *name;
    long long train_count;
    char group[8];   /* many, mid or few */
    double accuracy; /* fraction; NAN: the class has no image in the split */
} report_class;

typedef struct {
    const char *path;
    char *name;
    double top1, top5, many, mid, few; /* fractions */
    int has_ncm;
    double ncm_top1, ncm_many, ncm_mid, ncm_few;
    long long threshold_many, threshold_few;
    long long group_classes[3]; /* many, mid, few */
    int classes;
    report_class *per_class; /* [classes], by class index */
} report_eval;

/* Reads path into e. Returns 0, or -1 with "PATH: ..." (line, key) in err. */
int report_eval_load(const char *path, report_eval *e, char *err, size_t err_len);
void report_eval_free(report_eval *e);

#endif
