/* The root attributes of a store, each read on its own (a missing or
 * unreadable one is said so, not fatal), and the summary lines and JSON
 * members that show them. */
#include "tools/h5inspect/h5inspect.h"

#include <inttypes.h>
#include <stdio.h>

/* 1 when root attribute `name` is there; a missing one is a defect in d
 * (NULL: not recorded). */
static int meta_begin(inspector *in, const char *name, defect_list *d) {
    int found = cbd_h5_attr_exists(&in->h5, in->file, ".", name);
    if (found < 0) die_h5(in);
    if (!found && d) defect(d, "missing attribute '%s'", name);
    return found;
}

void meta_read_i64(inspector *in, const char *name, meta_i64 *m, defect_list *d) {
    m->state = meta_begin(in, name, d);
    if (m->state && cbd_h5_attr_read_int64(&in->h5, in->file, ".", name, &m->v) != 0) {
        m->state = -1;
        if (d) defect(d, "attribute '%s' is not a readable integer: %s", name, err_text(in));
    }
}

void meta_read_u64(inspector *in, const char *name, meta_u64 *m, defect_list *d) {
    m->state = meta_begin(in, name, d);
    if (m->state && cbd_h5_attr_read_uint64(&in->h5, in->file, ".", name, &m->v) != 0) {
        m->state = -1;
        if (d) defect(d, "attribute '%s' is not a readable integer: %s", name, err_text(in));
    }
}

void meta_read_str(inspector *in, const char *name, meta_str *m, defect_list *d) {
    m->state = meta_begin(in, name, d);
    if (m->state && cbd_h5_attr_read_string(&in->h5, in->file, ".", name, m->v, sizeof m->v) != 0) {
        m->state = -1;
        if (d) defect(d, "attribute '%s' is not a readable string: %s", name, err_text(in));
    }
}

void meta_double(inspector *in, const char *name, double *v, int *ok) {
    *ok = meta_begin(in, name, NULL) && cbd_h5_attr_read_double(&in->h5, in->file, ".", name, v) == 0;
}

void file_format(inspector *in, char *out, size_t out_len) {
    meta_str m;
    meta_read_str(in, "format", &m, NULL);
    snprintf(out, out_len, "%s", m.state == 1 ? m.v : "");
}

void print_i64_line(const char *label, const meta_i64 *m) {
    if (m->state == 1) printf("  %-22s %" PRId64 "\n", label, m->v);
    else printf("  %-22s %s\n", label, m->state ? "unreadable" : "missing");
}

void print_flag_line(const char *label, const meta_i64 *m) {
    if (m->state == 1) printf("  %-22s %s\n", label, yes_no(m->v));
    else printf("  %-22s %s\n", label, m->state ? "unreadable" : "missing");
}

void print_hex_line(const char *label, const meta_u64 *m) {
    if (m->state == 1) printf("  %-22s %016" PRIx64 "\n", label, m->v);
    else printf("  %-22s %s\n", label, m->state ? "unreadable" : "missing");
}

const char *meta_text(const meta_str *m) { return m->state == 1 ? m->v : m->state ? "unreadable" : "missing"; }

void jw_meta_i64(json_out *w, const char *key, const meta_i64 *m) {
    if (m->state == 1) jw_i64(w, key, m->v);
    else jw_null(w, key);
}
void jw_meta_flag(json_out *w, const char *key, const meta_i64 *m) {
    if (m->state == 1) jw_bool(w, key, m->v != 0);
    else jw_null(w, key);
}
void jw_meta_hex(json_out *w, const char *key, const meta_u64 *m) {
    if (m->state == 1) jw_hex(w, key, m->v);
    else jw_null(w, key);
}
void jw_meta_str(json_out *w, const char *key, const meta_str *m) { jw_str(w, key, m->state == 1 ? m->v : NULL); }
