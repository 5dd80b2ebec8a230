#include "training/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"
#include "store/fsutil.h"

void cbd_metrics_init(cbd_metrics *m, const char *path, const char *header) {
    memset(m, 0, sizeof *m);
    snprintf(m->path, sizeof m->path, "%s", path);
    snprintf(m->header, sizeof m->header, "%s", header);
}

void cbd_metrics_add(cbd_metrics *m, const char *row) {
    if (m->count == m->capacity) {
        int cap = m->capacity ? 2 * m->capacity : 64;
        char **grown = realloc(m->rows, (size_t)cap * sizeof *grown);
        if (!grown) cbd_fail(CBD_EXIT_FAILURE, "out of memory for metrics rows");
        m->rows = grown;
        m->capacity = cap;
    }
    m->rows[m->count++] = cbd_strdup(row);
}

void cbd_metrics_resume(cbd_metrics *m, long up_to_epoch) {
    char err[256];
    char *text = cbd_read_file(m->path, NULL, err, sizeof err);
    if (!text) return;
    char *save = NULL;
    char *line = strtok_r(text, "\n", &save);
    if (line && strcmp(line, m->header) == 0) {
        while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
            char *end = NULL;
            long epoch = strtol(line, &end, 10);
            if (end != line && *end == ',' && epoch <= up_to_epoch) cbd_metrics_add(m, line);
        }
    }
    free(text);
}

char *cbd_metrics_text(const cbd_metrics *m, size_t *len_out) {
    size_t len = strlen(m->header) + 2;
    for (int i = 0; i < m->count; i++) len += strlen(m->rows[i]) + 1;
    char *buf = cbd_malloc(len);
    size_t at = (size_t)sprintf(buf, "%s\n", m->header);
    for (int i = 0; i < m->count; i++) at += (size_t)sprintf(buf + at, "%s\n", m->rows[i]);
    if (len_out) *len_out = at;
    return buf;
}

int cbd_metrics_write(const cbd_metrics *m, char *err, size_t err_len) {
    size_t len;
    char *buf = cbd_metrics_text(m, &len);
    int rc = cbd_write_file_atomic(m->path, buf, len, err, err_len);
    free(buf);
    return rc;
}

void cbd_metrics_free(cbd_metrics *m) {
    for (int i = 0; i < m->count; i++) free(m->rows[i]);
    free(m->rows);
    memset(m, 0, sizeof *m);
}
