/* A plan as Slurm batch scripts (stages/plan_slurm.h). */
#define _XOPEN_SOURCE 700 /* realpath */
#include "stages/plan_slurm.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn/log.h"
#include "store/fsutil.h"
#include "store/text.h"

void cbd_slurm_usage(FILE *out) {
    fprintf(out,
            "Slurm options (with --slurm DIR):\n"
            "  --ranks R          MPI tasks of each stage job (default 1): data-parallel training, a sharded\n"
            "                     dump and evaluation\n"
            "  --nodes N          nodes of each stage job (default: Slurm's choice)\n"
            "  --cpus C           CPUs (threads) of each task (default 1)\n"
            "  --gpu              one GPU a task and [experiment] device = cuda\n"
            "  --partition P, --time T, --account A    passed to sbatch\n"
            "  --mpi TYPE         srun --mpi=TYPE (default pmix; pmi2 for Slurm without PMIx)\n"
            "  --bin DIR          the cbd executables (default: the folder of this cbd-plan)\n");
}

static int positive(const char *opt, const char *value) {
    char *end = NULL;
    const long v = strtol(value, &end, 10);
    if (!*value || *end || v < 1 || v > 100000) cbd_fail(CBD_EXIT_USAGE, "%s %s: expected a whole number from 1", opt, value);
    return (int)v;
}

int cbd_slurm_take_options(int argc, char **argv, cbd_slurm_options *o) {
    memset(o, 0, sizeof *o);
    o->ranks = 1;
    o->cpus = 1;
    o->mpi = "pmix";
    int kept = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        static const char *const valued[] = {"--slurm", "--ranks", "--nodes", "--cpus", "--partition",
                                             "--time", "--account", "--mpi", "--bin"};
        int match = -1;
        for (int k = 0; k < (int)(sizeof valued / sizeof valued[0]); k++)
            if (strcmp(a, valued[k]) == 0) match = k;
        if (match >= 0) {
            if (i + 1 >= argc) cbd_fail(CBD_EXIT_USAGE, "%s needs a value", a);
            const char *v = argv[++i];
            switch (match) {
            case 0: o->dir = v; break;
            case 1: o->ranks = positive(a, v); break;
            case 2: o->nodes = positive(a, v); break;
            case 3: o->cpus = positive(a, v); break;
            case 4: o->partition = v; break;
            case 5: o->time = v; break;
            case 6: o->account = v; break;
            case 7: o->mpi = v; break;
            case 8: o->bin = v; break;
            }
            continue;
        }
        if (strcmp(a, "--gpu") == 0) {
            o->gpu = 1;
            continue;
        }
        argv[kept++] = argv[i];
    }
    argv[kept] = NULL;
    if (!o->dir && (o->ranks != 1 || o->nodes || o->cpus != 1 || o->gpu || o->partition || o->time || o->account ||
                    o->bin || strcmp(o->mpi, "pmix") != 0))
        cbd_fail(CBD_EXIT_USAGE, "the Slurm options (--ranks, --gpu, ...) go with --slurm DIR");
    return kept;
}

static const char *kind_word(cbd_job_kind k) {
    static const char *const words[] = {"teacher", "features", "model", "eval", "report"};
    return words[k];
}

/* A name safe in a file name and a shell variable: [A-Za-z0-9_]. */
static void safe_name(const char *s, char *out, size_t len) {
    size_t n = 0;
    for (; *s && n + 1 < len; s++) {
        const char c = *s;
        out[n++] = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) ? c : '_';
    }
    out[n] = '\0';
}

/* The job's command with $(BIN) as the shell's $BIN, and (with --gpu) the cuda device. */
static void shell_command(const cbd_plan_job *j, const cbd_slurm_options *o, cbd_text *t) {
    for (const char *c = j->command; *c;) {
        if (strncmp(c, "$(BIN)", 6) == 0) {
            cbd_text_printf(t, "\"$BIN\"");
            c += 6;
        } else {
            cbd_text_printf(t, "%c", *c++);
        }
    }
    if (o->gpu && j->kind != CBD_JOB_REPORT) cbd_text_printf(t, " --set experiment.device=cuda");
}

static void header(cbd_text *t, const cbd_slurm_options *o, const char *job_name, const char *log_name, int tasks,
                   const char *cwd, const char *bin) {
    cbd_text_printf(t, "#!/bin/bash\n#SBATCH --job-name=%s\n#SBATCH --output=%s/logs/%s\n", job_name, o->dir, log_name);
    cbd_text_printf(t, "#SBATCH --ntasks=%d\n#SBATCH --cpus-per-task=%d\n", tasks, o->cpus);
    if (o->nodes && tasks > 1) cbd_text_printf(t, "#SBATCH --nodes=%d\n", o->nodes);
    /* a GPU a task; every task of a node sees the node's GPUs and takes the
     * one of its local rank, so that NCCL can reach the others directly */
    if (o->gpu && tasks > 0) cbd_text_printf(t, "#SBATCH --gpus-per-task=1\n#SBATCH --gpu-bind=none\n");
    if (o->partition) cbd_text_printf(t, "#SBATCH --partition=%s\n", o->partition);
    if (o->time) cbd_text_printf(t, "#SBATCH --time=%s\n", o->time);
    if (o->account) cbd_text_printf(t, "#SBATCH --account=%s\n", o->account);
    cbd_text_printf(t, "set -euo pipefail\ncd '%s'\nBIN='%s'\nexport CBD_THREADS=\"${SLURM_CPUS_PER_TASK:-1}\"\n",
                    cwd, bin);
}

static int write_script(const cbd_slurm_options *o, const char *name, const cbd_text *t, char *err, size_t err_len) {
    char path[PATH_MAX + 300];
    snprintf(path, sizeof path, "%s/%s", o->dir, name);
    const char *text = cbd_text_str(t);
    if (cbd_write_file_atomic(path, text, strlen(text), err, err_len) != 0) return -1;
    if (chmod(path, 0755) != 0) {
        snprintf(err, err_len, "%s: cannot make it executable", path);
        return -1;
    }
    return 0;
}

/* The folder of this executable (the default --bin). */
static void own_folder(char *out, size_t len) {
    char exe[PATH_MAX];
    const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    snprintf(out, len, ".");
    if (n <= 0) return;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash) *slash = '\0';
    snprintf(out, len, "%s", exe);
}

int cbd_plan_write_slurm(const cbd_plan_jobs *p, const cbd_slurm_options *o, const char *ini, char *err,
                         size_t err_len) {
    char cwd[PATH_MAX], bin[PATH_MAX], logs[PATH_MAX + 8];
    if (!getcwd(cwd, sizeof cwd)) {
        snprintf(err, err_len, "cannot read the working folder");
        return -1;
    }
    if (o->bin) {
        char *real = realpath(o->bin, NULL);
        snprintf(bin, sizeof bin, "%s", real ? real : o->bin);
        free(real);
    } else {
        own_folder(bin, sizeof bin);
    }
    snprintf(logs, sizeof logs, "%s/logs", o->dir);
    if (cbd_mkdir_p(logs, err, err_len) != 0) return -1;
    /* the scripts name their folder absolutely: sbatch runs them from its own copy */
    char dir[PATH_MAX];
    if (!realpath(o->dir, dir)) {
        snprintf(err, err_len, "%s: cannot resolve the folder", o->dir);
        return -1;
    }
    cbd_slurm_options abs = *o;
    abs.dir = dir;
    o = &abs;
    if (strchr(cwd, '\'') || strchr(bin, '\'') || strchr(o->dir, '\'')) {
        snprintf(err, err_len, "paths with a quote (') cannot go into the scripts");
        return -1;
    }
    char stem[256];
    {
        const char *base = strrchr(ini, '/');
        base = base ? base + 1 : ini;
        char copy[256];
        snprintf(copy, sizeof copy, "%s", base);
        char *dot = strrchr(copy, '.');
        if (dot) *dot = '\0';
        safe_name(copy, stem, sizeof stem);
    }
    const int tasks = o->ranks;
    /* the teachers: one array, element i the i-th teacher */
    int teachers = 0;
    cbd_text t = {0}, submit = {0};
    char job_name[700];
    snprintf(job_name, sizeof job_name, "cbd-%s-teachers", stem);
    header(&t, o, job_name, "%x-%A_%a.out", tasks, cwd, bin);
    for (int j = 0; j < p->count; j++) {
        if (p->jobs[j].kind != CBD_JOB_TEACHER) continue;
        cbd_text_printf(&t, "%s%d) # teacher %s\n    srun --mpi=%s ", teachers ? "" : "case \"$SLURM_ARRAY_TASK_ID\" in\n",
                        teachers, p->jobs[j].name, o->mpi);
        shell_command(&p->jobs[j], o, &t);
        cbd_text_printf(&t, " ;;\n");
        teachers++;
    }
    cbd_text_printf(&submit,
                    "#!/bin/bash\n# Submits experiment %s to Slurm: every job after the jobs whose outputs it reads\n"
                    "# (written by cbd-plan --slurm; rerun that after changing the INI). Jobs whose output is up\n"
                    "# to date finish at once; an unfinished training resumes.\nset -euo pipefail\ncd \"$(dirname \"$0\")\"\n"
                    "submit() { local id; id=$(sbatch --parsable \"$@\"); echo \"${id%%%%;*}\"; }\n",
                    ini);
    int rc = 0;
    if (teachers) {
        cbd_text_printf(&t, "*) echo \"no teacher $SLURM_ARRAY_TASK_ID\" >&2; exit 2 ;;\nesac\n");
        rc |= write_script(o, "teachers.sbatch", &t, err, err_len);
        cbd_text_printf(&submit, "teachers=$(submit --array=0-%d teachers.sbatch)\n", teachers - 1);
    }
    /* the others: a script each, submitted after their upstream jobs */
    int *index = cbd_calloc((size_t)p->count, sizeof *index); /* a teacher's array element */
    for (int j = 0, k = 0; j < p->count; j++)
        if (p->jobs[j].kind == CBD_JOB_TEACHER) index[j] = k++;
    int deps[64];
    for (int j = 0; j < p->count && rc == 0; j++) {
        const cbd_plan_job *job = &p->jobs[j];
        if (job->kind == CBD_JOB_TEACHER) continue;
        char name[200], var[240], file[260];
        safe_name(job->name, name, sizeof name);
        const int report = job->kind == CBD_JOB_REPORT;
        snprintf(var, sizeof var, report ? "%s" : "%s_%s", kind_word(job->kind), name);
        snprintf(file, sizeof file, report ? "%s.sbatch" : "%s-%s.sbatch", kind_word(job->kind), name);
        snprintf(job_name, sizeof job_name, report ? "cbd-%s-%s" : "cbd-%s-%s-%s", stem, kind_word(job->kind), name);
        cbd_text_clear(&t);
        const int stage = job->kind != CBD_JOB_REPORT;
        header(&t, o, job_name, "%x-%j.out", stage ? tasks : 1, cwd, bin);
        if (stage) cbd_text_printf(&t, "srun --mpi=%s ", o->mpi);
        shell_command(job, o, &t);
        cbd_text_printf(&t, "\n");
        rc |= write_script(o, file, &t, err, err_len);
        const int n = cbd_plan_upstream(p, j, deps, 64);
        cbd_text_printf(&submit, "%s=$(submit", var);
        for (int d = 0; d < n; d++) {
            const cbd_plan_job *up = &p->jobs[deps[d]];
            char up_name[200];
            safe_name(up->name, up_name, sizeof up_name);
            cbd_text_printf(&submit, "%s", d ? ":" : " --dependency=afterok:");
            if (up->kind == CBD_JOB_TEACHER)
                cbd_text_printf(&submit, "${teachers}_%d", index[deps[d]]);
            else
                cbd_text_printf(&submit, up->kind == CBD_JOB_REPORT ? "${%s}" : "${%s_%s}", kind_word(up->kind), up_name);
        }
        cbd_text_printf(&submit, " %s)\n", file);
    }
    free(index);
    cbd_text_printf(&submit, "echo \"submitted %s: %d jobs%s; logs in %s/logs\"\n", ini,
                    p->count - teachers + (teachers ? 1 : 0), teachers ? " (the teachers as one array)" : "", o->dir);
    if (rc == 0) rc = write_script(o, "submit.sh", &submit, err, err_len);
    if (rc == 0)
        fprintf(stderr, "cbd-plan: wrote %d Slurm scripts and %s/submit.sh (%d task%s a stage job%s); submit with: %s/submit.sh\n",
                p->count - teachers + (teachers ? 1 : 0), o->dir, tasks, tasks == 1 ? "" : "s",
                o->gpu ? ", one GPU each" : "", o->dir);
    cbd_text_free(&t);
    cbd_text_free(&submit);
    return rc ? -1 : 0;
}
