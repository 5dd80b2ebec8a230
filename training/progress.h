/* Progress of a long loop: a redrawn bar on a terminal, nothing otherwise
 * (stages print one plain line per epoch instead). */
#ifndef CBD_PROGRESS_H
#define CBD_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

#include "nn/clock.h" /* cbd_now */

typedef struct {
    FILE *out;
    int enabled;        /* out is a terminal and not quieted */
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
