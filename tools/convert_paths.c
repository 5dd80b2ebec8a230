/* Image paths of a list checked under the root (tools/convert_paths.h). */
#include "tools/convert_paths.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { SHOWN = 3 };

static int is_file(const char *root, const char *path) {
    char full[8192];
    snprintf(full, sizeof full, "%s/%s", root, path);
    struct stat st;
    return stat(full, &st) == 0 && S_ISREG(st.st_mode);
}

/* The path without its first folder ("train/n0/x.JPEG" -> "n0/x.JPEG"), or NULL. */
static const char *without_first(const char *path) {
    const char *slash = strchr(path, '/');
    return slash ? slash + 1 : NULL;
}

/* "val/n0/x.JPEG" -> "val/x.JPEG" in out (the class folder dropped), or 0 when the path has fewer than 3 parts. */
static int flattened(const char *path, char *out, size_t len) {
    const char *first = strchr(path, '/');
    const char *base = strrchr(path, '/');
    if (!first || base == first) return 0;
    snprintf(out, len, "%.*s%s", (int)(first - path), path, base);
    return 1;
}

/* The cause most missing paths share, as a hint. */
static void hint(const char *root, const cbd_manifest_entry *missing[SHOWN], int shown, char *out, size_t len) {
    int deep = 0, flat = 0;
    for (int i = 0; i < shown; i++) {
        const char *p = missing[i]->path, *rest = without_first(p);
        char flat_path[4096];
        if (rest && is_file(root, rest)) deep++;
        if (flattened(p, flat_path, sizeof flat_path) && is_file(root, flat_path)) flat++;
    }
    if (deep == shown) {
        const char *p = missing[0]->path;
        snprintf(out, len, "the paths start with '%.*s/' and %s holds them without it: give the folder above %s as "
                 "--root", (int)(strchr(p, '/') - p), p, root, root);
    } else if (flat == shown) {
        const char *p = missing[0]->path;
        snprintf(out, len, "%s/%.*s holds its images flat, the list wants them in class folders (%s): sort them "
                 "into class folders (ImageNet's valprep layout) or use a list of flat paths", root,
                 (int)(strchr(p, '/') - p), p, p);
    } else {
        snprintf(out, len, "is --root right? the list's paths are relative to it");
    }
}

int convert_check_paths(const char *list, const char *root, const cbd_manifest_entry *entries, long long count,
                        char *err, size_t err_len) {
    long long absent = 0;
    const cbd_manifest_entry *first[SHOWN];
    int shown = 0;
    for (long long i = 0; i < count; i++) {
        if (is_file(root, entries[i].path)) continue;
        if (shown < SHOWN) first[shown++] = &entries[i];
        absent++;
    }
    if (!absent) return 0;
    char why[8192], shown_text[8192] = "";
    hint(root, first, shown, why, sizeof why);
    for (int i = 0; i < shown; i++) {
        const size_t at = strlen(shown_text);
        snprintf(shown_text + at, sizeof shown_text - at, "%s%s (line %d)", i ? ", " : "", first[i]->path,
                 first[i]->line);
    }
    snprintf(err, err_len, "%s: %lld of %lld image paths are not files under %s, e.g. %s: %s", list, absent, count,
             root, shown_text, why);
    return -1;
}
