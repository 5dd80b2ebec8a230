#include "stages/stage_args.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"
#include "parallel/ranks.h"
#include "stages/stage_common.h"
#include "store/digest.h"
#include "store/h5util.h"
#include "training/interrupt.h"

static const struct {
    const char *name, *arg; /* arg: what the value is, NULL for a flag */
    unsigned flag;
} known[] = {
    {"teacher", "NAME", CBD_ARG_TEACHER}, {"resume", NULL, CBD_ARG_RESUME}, {"force", NULL, CBD_ARG_FORCE},
    {"quiet", NULL, CBD_ARG_QUIET},       {"model", "CKPT", CBD_ARG_MODEL}, {"name", "NAME", CBD_ARG_NAME},
    {"split", "test|val", CBD_ARG_SPLIT}, {"ncm", NULL, CBD_ARG_NCM},       {"student", "NAME", CBD_ARG_STUDENT},
    {"neighbours", "N", CBD_ARG_NEIGHBOURS},
};
#define KNOWN_COUNT ((int)(sizeof known / sizeof known[0]))

static _Noreturn void bad_usage(void (*usage)(FILE *out)) {
    usage(stderr);
    cbd_exit(CBD_EXIT_USAGE);
}

void cbd_stage_parse_args(int argc, char **argv, unsigned accepted, unsigned required,
                          void (*usage)(FILE *out), cbd_stage_args *a) {
    /* A file-size limit (ulimit -f) must give a write error the stage can
     * report and clean up after, not a kill that leaves temporary files. */
    signal(SIGXFSZ, SIG_IGN);
    cbd_interrupt_install();
    cbd_h5_library_init();
    memset(a, 0, sizeof *a);
    struct option opts[KNOWN_COUNT + 5];
    int n = 0;
    opts[n++] = (struct option){"config", required_argument, 0, 'c'};
    opts[n++] = (struct option){"set", required_argument, 0, 's'};
    opts[n++] = (struct option){"help", no_argument, 0, 'h'};
    opts[n++] = (struct option){"help-config", no_argument, 0, 'k'};
    for (int i = 0; i < KNOWN_COUNT; i++)
        if (accepted & known[i].flag)
            opts[n++] = (struct option){known[i].name, known[i].arg ? required_argument : no_argument, 0, 256 + i};
    opts[n] = (struct option){0, 0, 0, 0};
    unsigned given = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (opt == 'h') {
            usage(stdout);
            printf("  --help-config      every INI key: default, type, meaning and the outputs it decides\n"
                   "ranks: %s\n", cbd_ranks_support());
            exit(CBD_EXIT_OK);
        }
        if (opt == 'k') {
            cbd_config_print_help(stdout);
            exit(CBD_EXIT_OK);
        }
        if (opt == 'c') {
            if (a->config) cbd_fail(CBD_EXIT_USAGE, "--config given twice (%s and %s): one experiment per run", a->config, optarg);
            a->config = optarg;
            continue;
        }
        if (opt == 's') {
            if (a->n_overrides == CBD_STAGE_MAX_OVERRIDES)
                cbd_fail(CBD_EXIT_USAGE, "at most %d --set options", CBD_STAGE_MAX_OVERRIDES);
            a->overrides[a->n_overrides++] = optarg;
            continue;
        }
        if (opt < 256) bad_usage(usage);
        const unsigned flag = known[opt - 256].flag;
        if ((given & flag) && flag != CBD_ARG_MODEL)
            cbd_fail(CBD_EXIT_USAGE, "--%s given twice: a run takes one (run the stage once for each)",
                     known[opt - 256].name);
        given |= flag;
        switch (flag) {
        case CBD_ARG_TEACHER: a->teacher = optarg; break;
        case CBD_ARG_RESUME: a->resume = 1; break;
        case CBD_ARG_FORCE: a->force = 1; break;
        case CBD_ARG_QUIET: a->quiet = 1; break;
        case CBD_ARG_MODEL:
            if (a->n_models == CBD_STAGE_MAX_MODELS) cbd_fail(CBD_EXIT_USAGE, "at most %d --model options", CBD_STAGE_MAX_MODELS);
            if (!a->model) a->model = optarg;
            a->models[a->n_models++] = optarg;
            break;
        case CBD_ARG_STUDENT: a->student = optarg; break;
        case CBD_ARG_NAME: a->name = optarg; break;
        case CBD_ARG_SPLIT: a->split = optarg; break;
        case CBD_ARG_NCM: a->ncm = 1; break;
        case CBD_ARG_NEIGHBOURS: a->neighbours = optarg; break;
        }
    }
    if (optind != argc) {
        usage(stderr);
        cbd_fail(CBD_EXIT_USAGE, "unexpected argument '%s'", argv[optind]);
    }
    if (!a->config) {
        usage(stderr);
        cbd_fail(CBD_EXIT_USAGE, "missing --config FILE (the experiment INI)");
    }
    for (int i = 0; i < KNOWN_COUNT; i++)
        if ((required & known[i].flag) && !(given & known[i].flag)) {
            usage(stderr);
            cbd_fail(CBD_EXIT_USAGE, "missing --%s %s", known[i].name, known[i].arg);
        }
    if (cbd_ranks_rank() > 0) a->quiet = 1; /* rank 0 speaks for the job; the others only of their errors */
}

/* What decides a stage's work besides the INI: its options. */
static uint64_t options_digest(const cbd_stage_args *a, uint64_t h) {
    const char *texts[] = {a->teacher, a->model, a->name, a->split, a->student, a->neighbours};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        const char *t = texts[i] ? texts[i] : "";
        h = cbd_fnv1a64_update(h, t, strlen(t) + 1);
    }
    for (int i = 0; i < a->n_models; i++) h = cbd_fnv1a64_update(h, a->models[i], strlen(a->models[i]) + 1);
    const int flags[] = {a->resume, a->force, a->ncm};
    return cbd_fnv1a64_update(h, flags, sizeof flags);
}

void cbd_stage_load_config(const cbd_stage_args *a, cbd_config *cfg) {
    char err[2048];
    if (cbd_config_load_model(cfg, a->config, a->overrides, a->n_overrides, a->student, err, sizeof err) != 0)
        cbd_fail(CBD_EXIT_USAGE, "%s", err);
    if (cbd_ranks_size() > 1) {
        char *text = cbd_stage_config_text(cfg);
        const uint64_t digest = options_digest(a, cbd_fnv1a64_str(text));
        free(text);
        char what[1200];
        snprintf(what, sizeof what, "configuration (%s with its --set overrides and options)", a->config);
        cbd_ranks_agree(digest, what);
    }
}
