/* Progress of a long loop: a redrawn bar on a terminal; otherwise (a log
 * file, a batch job) a plain line every CBD_PROGRESS_LINE_SECONDS
 * ($CBD_PROGRESS_SECONDS when set), none for a loop that ends sooner
 * (stages print one plain line per epoch besides). */
#ifndef CBD_PROGRESS_H
#define CBD_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

#include "nn/clock.h" /* cbd_now */

#define CBD_PROGRESS_LINE_SECONDS 60.0

typedef struct {
    FILE *out;
    int enabled;        /* out is a terminal and not quieted */
    int plain;          /* not a terminal, not quieted: a line now and then */
    double line_seconds;
    char label[64];
    int64_t total, done;
    double started, last_draw;
} cbd_progress;


void cbd_progress_begin(cbd_progress *p, FILE *out, int quiet, const char *label, int64_t total);
/* Redraws at most ~10 times a second; `extra` is appended (loss, speed). */
void cbd_progress_update(cbd_progress *p, int64_t done, const char *extra);
/* Clears the bar so the next plain line starts clean. */
void cbd_progress_end(cbd_progress *p);
/* "1:02:03" / "2:03" */
void cbd_format_duration(char *out, size_t len, double seconds);

#endif
