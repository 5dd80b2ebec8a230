#include "training/progress.h"

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
    snprintf(p->label, sizeof p->label, "%s", label);
    p->total = total > 0 ? total : 1;
    p->started = cbd_now();
}

void cbd_progress_update(cbd_progress *p, int64_t done, const char *extra) {
    p->done = done;
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
