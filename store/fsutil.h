/* Small file-system helpers shared by stages and tools. */
#ifndef CBD_FSUTIL_H
#define CBD_FSUTIL_H

#include <stddef.h>

/* mkdir -p. Returns 0, or -1 with a message naming the folder in err. */
int cbd_mkdir_p(const char *path, char *err, size_t err_len);
int cbd_file_exists(const char *path);
/* Writes `len` bytes to path atomically (path.tmp.PID, fsync, rename). */
int cbd_write_file_atomic(const char *path, const void *data, size_t len, char *err, size_t err_len);
/* Removes PATH.tmp.<pid> files that cbd_write_file_atomic (or a checkpoint
 * save) left when its process was killed. Only for a caller that holds the
 * output's lock: no live writer can own one then. Returns how many it removed. */
int cbd_remove_stale_temporaries(const char *path);
/* Reads a whole file into a NUL-terminated malloc'd buffer; NULL with err on failure. */
char *cbd_read_file(const char *path, size_t *len_out, char *err, size_t err_len);

#endif
