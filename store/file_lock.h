/* One writer per output: an advisory lock (flock) on OUTPUT.lock, held for
 * the life of the process. The kernel drops it when the process ends, killed
 * or not, so a crashed run never leaves a stale lock; the lock file itself is
 * removed on a normal exit. */
#ifndef CBD_FILE_LOCK_H
#define CBD_FILE_LOCK_H

#include <stddef.h>

/* Takes the lock of `output` (the file OUTPUT.lock) without waiting. Returns
 * 0 when this process now holds it; 1 when another process holds it (err
 * names it and its pid); -1 when the lock file cannot be made (err says why).
 * The lock is released and its file removed at exit(). */
int cbd_lock_output(const char *output, char *err, size_t err_len);

/* 1 when another process holds the lock of `output` now (*pid: its pid, or
 * 0 when unknown), 0 when nobody does. */
int cbd_output_locked(const char *output, long *pid);

/* Removes the lock files this process holds and releases them; only
 * async-signal-safe calls (for a signal handler that then ends the process). */
void cbd_lock_release_all_now(void);

#endif
