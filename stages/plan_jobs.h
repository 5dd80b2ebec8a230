/* The jobs of an experiment's plan, as cbd-plan finds them: each stage run
 * with its output, what it reads and its command line. cbd-plan prints them
 * as make rules, or writes them as Slurm batch scripts (stages/plan_slurm.h). */
#ifndef CBD_PLAN_JOBS_H
#define CBD_PLAN_JOBS_H

#include <stdio.h>

typedef enum { CBD_JOB_TEACHER, CBD_JOB_FEATURES, CBD_JOB_MODEL, CBD_JOB_EVAL, CBD_JOB_REPORT } cbd_job_kind;

typedef struct {
    cbd_job_kind kind;
    char *name;    /* the teacher's or model's name; "report" */
    char *target;  /* the output it makes */
    char *prereqs; /* what it reads, space-separated: stamps, binaries, data, upstream outputs */
    char *command; /* its command line, $(BIN) for the folder of the executables */
} cbd_plan_job;

typedef struct {
    cbd_plan_job *jobs;
    int count, capacity;
} cbd_plan_jobs;

void cbd_plan_add(cbd_plan_jobs *p, cbd_job_kind kind, const char *name, const char *target, const char *prereqs,
                  const char *command);
/* "target: prereqs" and the command, as a make rule. */
void cbd_plan_print_rule(const cbd_plan_job *j, FILE *out);
/* The jobs whose targets job j reads, into deps (at most max); returns how many. */
int cbd_plan_upstream(const cbd_plan_jobs *p, int j, int *deps, int max);
void cbd_plan_jobs_free(cbd_plan_jobs *p);

#endif
