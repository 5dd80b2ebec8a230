/* iNaturalist 2018's COCO-style JSON (train2018.json, val2018.json) into a
 * cbd manifest: an image's label is its annotation's category id, its path
 * the image's file_name; the class names are the categories' names. */
#ifndef CBD_CONVERT_INAT_H
#define CBD_CONVERT_INAT_H

/* Writes out (and names_out, when not NULL); exits 2 on bad input, 1 when
 * a file cannot be written. */
void convert_inat(const char *json_path, const char *root, const char *out, const char *names_out);

#endif
