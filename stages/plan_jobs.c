/* The jobs of a plan (stages/plan_jobs.h). */
#include "stages/plan_jobs.h"

#include <stdlib.h>
#include <string.h>

#include "nn/log.h"

void cbd_plan_add(cbd_plan_jobs *p, cbd_job_kind kind, const char *name, const char *target, const char *prereqs,
                  const char *command) {
    if (p->count == p->capacity) {
        p->capacity = p->capacity ? 2 * p->capacity : 16;
        cbd_plan_job *grown = realloc(p->jobs, (size_t)p->capacity * sizeof *grown);
        if (!grown) cbd_fail(CBD_EXIT_FAILURE, "out of memory");
        p->jobs = grown;
    }
    p->jobs[p->count++] = (cbd_plan_job){.kind = kind, .name = cbd_strdup(name), .target = cbd_strdup(target),
                                         .prereqs = cbd_strdup(prereqs), .command = cbd_strdup(command)};
}

void cbd_plan_print_rule(const cbd_plan_job *j, FILE *out) {
    fprintf(out, "%s: %s\n\t%s\n\n", j->target, j->prereqs, j->command);
}

int cbd_plan_upstream(const cbd_plan_jobs *p, int j, int *deps, int max) {
    int n = 0;
    char *copy = cbd_strdup(p->jobs[j].prereqs), *save = NULL;
    for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
        for (int k = 0; k < p->count; k++) {
            if (k == j || strcmp(p->jobs[k].target, tok) != 0) continue;
            int seen = 0;
            for (int i = 0; i < n; i++) seen |= deps[i] == k;
            if (!seen && n < max) deps[n++] = k;
        }
    free(copy);
    return n;
}

void cbd_plan_jobs_free(cbd_plan_jobs *p) {
    for (int i = 0; i < p->count; i++) {
        free(p->jobs[i].name);
        free(p->jobs[i].target);
        free(p->jobs[i].prereqs);
        free(p->jobs[i].command);
    }
    free(p->jobs);
    memset(p, 0, sizeof *p);
}
