/* Progress off a terminal: a plain line every $CBD_PROGRESS_SECONDS with how
 * far, how long and about how long is left; none at the end, none quieted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/test_util.h"
#include "training/progress.h"

static void nap(double seconds) {
    struct timespec t = {0, (long)(seconds * 1e9)};
    nanosleep(&t, NULL);
}

/* Runs 10 updates 30 ms apart into a file; returns what was written and,
 * in *seconds, how long the updates took. */
static char *run(int quiet, char *text, size_t cap, double *seconds) {
    FILE *f = tmpfile();
    CHECK(f != NULL, "tmpfile");
    cbd_progress p;
    cbd_progress_begin(&p, f, quiet, "teacher t1 epoch 1/2", 10);
    const double t0 = cbd_now();
    for (int i = 1; i <= 10; i++) {
        nap(0.03);
        cbd_progress_update(&p, i, "loss 0.5000");
    }
    if (seconds) *seconds = cbd_now() - t0;
    cbd_progress_end(&p);
    rewind(f);
    const size_t n = fread(text, 1, cap - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

int main(void) {
    setenv("CBD_PROGRESS_SECONDS", "0.05", 1);
    static char text[8192];
    double took = 0;
    run(0, text, sizeof text, &took);
    int lines = 0;
    for (const char *c = text; *c; c++) lines += *c == '\n';
    /* 10 updates over at least 300 ms: at least one line, at most one per
     * 50 ms however slow the machine, and none for the last update */
    CHECK(lines >= 1 && lines <= 9 && lines <= (int)(took / 0.05) + 1,
          "%d lines for 10 updates over %.3f s, a line at most every 50 ms:\n%s", lines, took, text);
    CHECK(strstr(text, "teacher t1 epoch 1/2: ") == text, "a line starts with the label: %s", text);
    CHECK(strstr(text, " of 10 (") && strstr(text, "%) loss 0.5000, ") && strstr(text, " so far, about ") &&
              strstr(text, " left\n"),
          "a line says how far, how long and how long is left: %s", text);
    CHECK(!strstr(text, "10 of 10"), "a line at the end: %s", text);
    CHECK(!strchr(text, '\r') && !strchr(text, '\033'), "terminal controls in a file: %s", text);
    run(1, text, sizeof text, NULL);
    CHECK(text[0] == '\0', "quiet wrote: %s", text);
    setenv("CBD_PROGRESS_SECONDS", "600", 1);
    run(0, text, sizeof text, NULL);
    CHECK(text[0] == '\0', "a loop shorter than the interval wrote: %s", text);
    return test_finish("progress");
}
