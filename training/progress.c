#include "training/progress.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nn/clock.h"

void cbd_format_duration(char *out, size_t len, double seconds) {
    if (seconds < 0 || seconds > 1e7) {
        snprintf(out, len, "--:--");
        return;
    }
    long s = (long)(seconds + 0.5);
    if (s >= 3600)
        snprintf(out, len, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
    else
        snprintf(out, len, "%ld:%02ld", s / 60, s % 60);
}

void cbd_progress_begin(cbd_progress *p, FILE *out, int quiet, const char *label, int64_t total) {
    memset(p, 0, sizeof *p);
    p->out = out;
    p->enabled = !quiet && isatty(fileno(out));
    p->plain = !quiet && !p->enabled;
    const char *every = getenv("CBD_PROGRESS_SECONDS");
    char *end = NULL;
    const double seconds = every ? strtod(every, &end) : 0;
    p->line_seconds = every && end != every && !*end && seconds > 0 ? seconds : CBD_PROGRESS_LINE_SECONDS;
    snprintf(p->label, sizeof p->label, "%s", label);
    p->total = total > 0 ? total : 1;
    p->started = cbd_now();
    p->last_draw = p->started;
}

/* Not a terminal (a log file, nohup, a batch job): a plain line now and
 * then, so that an epoch of hours says how far it is. */
static void plain_line(cbd_progress *p, int64_t done, const char *extra) {
    const double now = cbd_now();
    if (now - p->last_draw < p->line_seconds || done >= p->total) return;
    p->last_draw = now;
    const double elapsed = now - p->started;
    char elapsed_text[32], eta_text[32];
    cbd_format_duration(elapsed_text, sizeof elapsed_text, elapsed);
    cbd_format_duration(eta_text, sizeof eta_text, done > 0 ? elapsed * (double)(p->total - done) / (double)done : -1);
    fprintf(p->out, "%s: %lld of %lld (%d%%)%s%s, %s so far, about %s left\n", p->label, (long long)done,
            (long long)p->total, (int)(100.0 * (double)done / (double)p->total), extra && extra[0] ? " " : "",
            extra ? extra : "", elapsed_text, eta_text);
    fflush(p->out);
}

void cbd_progress_update(cbd_progress *p, int64_t done, const char *extra) {
    p->done = done;
    if (p->plain) plain_line(p, done, extra);
    if (!p->enabled) return;
    double now = cbd_now();
    if (done < p->total && now - p->last_draw < 0.1) return;
    p->last_draw = now;
    const int width = 24;
    int filled = (int)(width * (double)done / (double)p->total);
    if (filled > width) filled = width;
    char bar[32];
    for (int i = 0; i < width; i++) bar[i] = i < filled ? '=' : (i == filled ? '>' : ' ');
    bar[width] = '\0';
    double elapsed = now - p->started;
    double eta = done > 0 ? elapsed * (double)(p->total - done) / (double)done : -1;
    char eta_text[32];
    cbd_format_duration(eta_text, sizeof eta_text, eta);
    fprintf(p->out, "\r%s [%s] %3d%% %s ETA %s\033[K", p->label, bar,
            (int)(100.0 * (double)done / (double)p->total), extra ? extra : "", eta_text);
    fflush(p->out);
}

void cbd_progress_end(cbd_progress *p) {
    if (!p->enabled) return;
    fprintf(p->out, "\r\033[K");
    fflush(p->out);
}
