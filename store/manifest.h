/* Manifests: the image lists of a data set, in the ImageNet-LT list format.
 *
 *     # comment
 *     train/n01440764/n01440764_10026.JPEG 0
 *     train/n01440764/n01440764_10027.JPEG 0
 *
 * One image per line: a path (relative to the image root, no whitespace in
 * it), whitespace, a non-negative integer label. Blank lines and lines whose
 * first non-blank character is '#' are ignored; CRLF line ends are accepted.
 *
 * The digest of a manifest is FNV-1a 64 over its entries in order, each
 * written as "path\tlabel\n" (label in decimal): comments, blank lines,
 * spacing and line ends do not change it. Stores built from a manifest record
 * it; a packed image store records the digest of the entries it holds.
 *
 * Errors name the file, and the line (FILE:LINE: ...) when one is at fault. */
#ifndef CBD_MANIFEST_H
#define CBD_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *path;  /* as written in the manifest */
    int32_t label;
    int line;          /* 1-based line in the manifest file; 0 when made in memory */
} cbd_manifest_entry;

typedef struct {
    cbd_manifest_entry *entries;
    int64_t count;
    int classes;      /* as given to cbd_manifest_read, or the largest label + 1 */
    uint64_t digest;
    char *text;       /* the file's text: entries' paths point into it */
} cbd_manifest;

/* Reads and checks the manifest at path. classes > 0: labels must be below it;
 * 0: any non-negative label, and m->classes becomes the largest + 1. Refuses
 * a missing or unreadable file, a line without a label or with extra fields, a
 * label that is not an integer or out of range, a path listed twice (naming
 * both lines) and a manifest without entries. Returns 0, or -1 with a message
 * in err (m is then empty). */
int cbd_manifest_read(const char *path, int classes, cbd_manifest *m, char *err, size_t err_len);
void cbd_manifest_free(cbd_manifest *m);

/* The digest, built up entry by entry from CBD_FNV1A64_INIT (store/digest.h). */
uint64_t cbd_manifest_digest_add(uint64_t h, const char *path, int32_t label);
uint64_t cbd_manifest_digest(const cbd_manifest_entry *entries, int64_t count);

/* Writes entries as a manifest, atomically: `comment` (may be NULL; one or
 * more lines, each written with a leading "# "), then "path label" lines.
 * Refuses paths that are empty or hold whitespace. Returns 0 or -1 with err. */
int cbd_manifest_write(const char *path, const cbd_manifest_entry *entries, int64_t count,
                       const char *comment, char *err, size_t err_len);

/* Class-names files: one name per line (spaces allowed inside a name, leading
 * and trailing blanks trimmed, CRLF accepted); blank lines and '#' lines are
 * ignored. cbd_class_names_read requires exactly `classes` names (classes > 0)
 * or at least one (classes = 0) and returns them in *names (free with
 * cbd_class_names_free). Returns the number of names, or -1 with err. */
int cbd_class_names_read(const char *path, int classes, char ***names, char *err, size_t err_len);
void cbd_class_names_free(char **names, int classes);
/* names == NULL writes the class indices. */
int cbd_class_names_write(const char *path, const char *const *names, int classes, char *err,
                          size_t err_len);

/* Per-class counts as CSV, atomically: header "class,name,count", then one row
 * per class; the name is names[c] (quoted when needed) or the index when
 * names is NULL. */
int cbd_class_counts_write(const char *path, const char *const *names, const int64_t *counts,
                           int classes, char *err, size_t err_len);

#endif
