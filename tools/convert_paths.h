/* The check every converter makes before writing a manifest: each image path
 * of the list exists under the image root. When some do not, one message
 * says how many, shows the first few, and names the usual cause it can
 * see: a root one folder too deep (the paths start with the folder the root
 * already is), a validation folder that holds its images flat where the list
 * wants class folders (or the reverse), or just "is --root right?". */
#ifndef CBD_CONVERT_PATHS_H
#define CBD_CONVERT_PATHS_H

#include <stddef.h>

#include "store/manifest.h"

/* 0 when every entry's root/path is a file; else -1 with the message in err
 * (list: the input file, for the message). */
int convert_check_paths(const char *list, const char *root, const cbd_manifest_entry *entries, long long count,
                        char *err, size_t err_len);

#endif
