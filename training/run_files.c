/* Publishing a finished run's texts beside its checkpoint (training/run_files.h). */
#include "training/run_files.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/log.h"
#include "store/checkpoint.h"
#include "store/fsutil.h"

/* Makes `path` hold `text` (whole, or at least starting with it when
 * prefix_only). */
static int publish_text(const char *path, const char *text, int prefix_only, char *err, size_t err_len) {
    size_t have_len = 0;
    char why[64];
    char *have = cbd_read_file(path, &have_len, why, sizeof why);
    const size_t len = strlen(text);
    const int same = have && (prefix_only ? have_len >= len : have_len == len) && memcmp(have, text, len) == 0;
    free(have);
    if (same) return 0;
    return cbd_write_file_atomic(path, text, len, err, err_len);
}

int cbd_run_files_publish(const cbd_run_files *f, char *err, size_t err_len) {
    static const char *const names[3] = {"metrics", "config", "log"};
    const char *paths[3] = {f->metrics, f->config, f->log};
    for (int i = 0; i < 3; i++) {
        char *text = NULL;
        if (cbd_checkpoint_read_run_text(f->checkpoint, names[i], &text, err, err_len) != 0) return -1;
        if (!text) continue;
        const int rc = publish_text(paths[i], text, i == 2, err, err_len);
        free(text);
        if (rc != 0) return -1;
    }
    cbd_run_files_discard(f);
    return 0;
}

void cbd_run_files_discard(const cbd_run_files *f) {
    const char *paths[4] = {f->resume, f->run_metrics, f->run_log, f->run_config};
    for (int i = 0; i < 4; i++) unlink(paths[i]);
}

void cbd_run_files_remove_temporaries(const cbd_run_files *f) {
    const char *paths[8] = {f->checkpoint, f->metrics, f->log, f->config,
                            f->resume, f->run_metrics, f->run_log, f->run_config};
    for (int i = 0; i < 8; i++) cbd_remove_stale_temporaries(paths[i]);
}
