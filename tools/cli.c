#include "tools/cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"

static const char *program = "cbd";

void cbd_cli_init(const char *argv0) {
    const char *slash = argv0 ? strrchr(argv0, '/') : NULL;
    program = slash ? slash + 1 : (argv0 ? argv0 : "cbd");
}

void cbd_usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("cbd: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nrun '%s --help' for usage\n", program);
    cbd_exit(CBD_EXIT_USAGE);
}

long long cbd_parse_integer(const char *option, const char *text, long long lo, long long hi) {
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0')
        cbd_usage_error("%s: expected an integer, got '%s'", option, text);
    if (v < lo || v > hi) cbd_usage_error("%s: %lld is outside %lld..%lld", option, v, lo, hi);
    return v;
}

double cbd_parse_real(const char *option, const char *text, double lo, double hi) {
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !isfinite(v))
        cbd_usage_error("%s: expected a number, got '%s'", option, text);
    if (v < lo || v > hi) cbd_usage_error("%s: %g is outside %g..%g", option, v, lo, hi);
    return v;
}
