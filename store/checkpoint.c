#include "store/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/log.h"
#include "store/digest.h"
#include "store/h5util.h"

#ifndef CBD_VERSION
#define CBD_VERSION "unknown"
#endif

#define DATASET_NAME_MAX (CBD_PARAM_NAME_MAX + 32)
#define RUN_GROUP "run/"

/* ---- metadata ---------------------------------------------------------------- */

static const char *head_name(cbd_head_kind head) {
    return head == CBD_HEAD_LINEAR ? "linear" : "cosine";
}

static int head_parse(const char *s, cbd_head_kind *out) {
    if (strcmp(s, "cosine") == 0) *out = CBD_HEAD_COSINE;
    else if (strcmp(s, "linear") == 0) *out = CBD_HEAD_LINEAR;
    else return -1;
    return 0;
}

void cbd_checkpoint_meta_init(cbd_checkpoint_meta *meta, const cbd_model_config *cfg) {
    memset(meta, 0, sizeof *meta);
    snprintf(meta->arch, sizeof meta->arch, "%s", cfg->arch);
    meta->in_channels = cfg->in_channels;
    meta->classes = cfg->classes;
    meta->head = cfg->head;
    meta->cosine_scale = cfg->cosine_scale;
    meta->projection_dim = cfg->projection_dim;
    meta->projection_relu = cfg->projection_relu;
}

void cbd_checkpoint_meta_to_config(const cbd_checkpoint_meta *meta, cbd_model_config *cfg) {
    cbd_model_config_default(cfg);
    snprintf(cfg->arch, sizeof cfg->arch, "%s", meta->arch);
    cfg->in_channels = meta->in_channels;
    cfg->classes = meta->classes;
    cfg->head = meta->head;
    cfg->cosine_scale = meta->cosine_scale;
    cfg->projection_dim = meta->projection_dim;
    cfg->projection_relu = meta->projection_relu;
}

void cbd_checkpoint_describe(char *out, size_t out_len, const cbd_checkpoint_meta *meta) {
    char projection[48] = "";
    if (meta->projection_dim > 0)
        snprintf(projection, sizeof projection, ", projection to %d", meta->projection_dim);
    snprintf(out, out_len, "%s with %d classes (%d input channel%s, %s head%s)", meta->arch,
             meta->classes, meta->in_channels, meta->in_channels == 1 ? "" : "s",
             head_name(meta->head), projection);
}

static void momentum_name(char *out, size_t out_len, const char *entry) {
    snprintf(out, out_len, "%s/%s", CBD_CHECKPOINT_MOMENTUM_GROUP, entry);
}

static void entry_dims(const cbd_param_entry *e, hsize_t *dims) {
    for (int d = 0; d < e->ndim; d++) dims[d] = (hsize_t)e->shape[d];
}

/* ---- save ---------------------------------------------------------------------- */

static int write_meta(cbd_h5_ctx *c, hid_t file, const cbd_checkpoint_meta *m) {
    const char *root = ".";
    if (cbd_h5_attr_write_string(c, file, root, "format", CBD_CHECKPOINT_FORMAT) ||
        cbd_h5_attr_write_int64(c, file, root, "format_version", CBD_CHECKPOINT_FORMAT_VERSION) ||
        cbd_h5_attr_write_string(c, file, root, "program_version", CBD_VERSION) ||
        cbd_h5_attr_write_string(c, file, root, "arch", m->arch) ||
        cbd_h5_attr_write_int64(c, file, root, "in_channels", m->in_channels) ||
        cbd_h5_attr_write_int64(c, file, root, "classes", m->classes) ||
        cbd_h5_attr_write_string(c, file, root, "head", head_name(m->head)) ||
        cbd_h5_attr_write_double(c, file, root, "cosine_scale", m->cosine_scale) ||
        cbd_h5_attr_write_int64(c, file, root, "projection_dim", m->projection_dim) ||
        cbd_h5_attr_write_int64(c, file, root, "projection_relu", m->projection_relu) ||
        cbd_h5_attr_write_int64(c, file, root, "epoch", m->epoch) ||
        cbd_h5_attr_write_int64(c, file, root, "step", m->step) ||
        cbd_h5_attr_write_uint64(c, file, root, "seed", m->seed) ||
        cbd_h5_attr_write_uint64(c, file, root, "config_digest", m->config_digest) ||
        cbd_h5_attr_write_uint64(c, file, root, "params_digest", m->params_digest))
        return -1;
    if (m->input_size > 0) {
        double mean[3], std[3];
        const int n = m->in_channels <= 3 ? m->in_channels : 3;
        for (int k = 0; k < n; k++) {
            mean[k] = m->input_mean[k];
            std[k] = m->input_std[k];
        }
        if (cbd_h5_attr_write_int64(c, file, root, "input_size", m->input_size) ||
            cbd_h5_attr_write_doubles(c, file, root, "input_mean", mean, n) ||
            cbd_h5_attr_write_doubles(c, file, root, "input_std", std, n))
            return -1;
    }
    return 0;
}

static int write_run_texts(cbd_h5_ctx *c, hid_t file, const cbd_checkpoint_meta *m) {
    const char *names[3] = {"config", "metrics", "log"}, *texts[3] = {m->run_config, m->run_metrics, m->run_log};
    for (int i = 0; i < 3; i++) {
        if (!texts[i]) continue;
        char name[32];
        snprintf(name, sizeof name, RUN_GROUP "%s", names[i]);
        if (cbd_h5_write_text(c, file, name, texts[i]) != 0 || cbd_h5_attr_write_string(c, file, name, "kind", "run"))
            return -1;
    }
    return 0;
}

/* Names and values of every entry, in table order, from host values laid
 * out like the table. */
static uint64_t digest_of_values(const cbd_params *p, const float *values) {
    uint64_t h = CBD_FNV1A64_INIT;
    for (int i = 0; i < p->count; i++) {
        const cbd_param_entry *e = &p->entries[i];
        h = cbd_fnv1a64_update(h, e->name, strlen(e->name));
        h = cbd_fnv1a64_update(h, values + e->offset, e->count * sizeof(float));
    }
    return h;
}

uint64_t cbd_checkpoint_params_digest(const cbd_params *p) {
    float *host = cbd_malloc(p->total * sizeof(float));
    p->be->ops.download(p->be, host, p->values, p->total * sizeof(float));
    const uint64_t h = digest_of_values(p, host);
    free(host);
    return h;
}

/* Downloads `src` (backend memory) into host and writes it as dataset `name`. */
static int write_tensor(cbd_h5_ctx *c, hid_t file, const cbd_params *p, const cbd_param_entry *e,
                        const char *name, const char *kind, const float *src, float *host) {
    hsize_t dims[CBD_PARAM_MAX_DIMS];
    entry_dims(e, dims);
    p->be->ops.download(p->be, host, src, e->count * sizeof(float));
    /* A checkpoint is a state to resume from or to use: one with NaN or Inf
     * in it (a diverged run) is neither, and must not replace a good one. */
    size_t bad = 0, first = 0;
    for (size_t k = 0; k < e->count; k++)
        if (!isfinite(host[k]) && bad++ == 0) first = k;
    if (bad) {
        cbd_h5_fail(c, "'%s' holds %zu non-finite values (first at index %zu: %g): training diverged; not saved",
                    name, bad, first, (double)host[first]);
        return -1;
    }
    if (cbd_h5_write_f32(c, file, name, e->ndim, dims, host) != 0) return -1;
    return cbd_h5_attr_write_string(c, file, name, "kind", kind);
}

static int write_entries(cbd_h5_ctx *c, hid_t file, const cbd_params *p) {
    size_t largest = 1;
    for (int i = 0; i < p->count; i++)
        if (p->entries[i].count > largest) largest = p->entries[i].count;
    float *host = cbd_malloc(largest * sizeof(float));
    char name[DATASET_NAME_MAX];
    int rc = -1;
    p->be->ops.synchronize(p->be);
    for (int i = 0; i < p->count; i++) {
        const cbd_param_entry *e = &p->entries[i];
        if (write_tensor(c, file, p, e, e->name, cbd_param_kind_name(e->kind), cbd_param_value(p, i),
                         host) != 0)
            goto cleanup;
        if (!cbd_param_is_trainable(e->kind)) continue;
        momentum_name(name, sizeof name, e->name);
        if (write_tensor(c, file, p, e, name, "momentum", cbd_param_momentum(p, i), host) != 0)
            goto cleanup;
    }
    rc = 0;
cleanup:
    free(host);
    return rc;
}

/* Makes a rename in the directory of `path` durable. */
static int sync_directory_of(cbd_h5_ctx *c, const char *path) {
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == dir) dir[1] = '\0';
    else *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        cbd_h5_fail(c, "cannot open directory '%s' to sync it: %s", dir, strerror(errno));
        return -1;
    }
    /* Some file systems cannot sync a directory (EINVAL); the rename stands. */
    int rc = fsync(fd) == 0 || errno == EINVAL ? 0 : -1;
    if (rc != 0) cbd_h5_fail(c, "cannot sync directory '%s': %s", dir, strerror(errno));
    close(fd);
    return rc;
}

/* Writes the whole file under `tmp`, closes it and syncs it to disk. */
static int write_file(cbd_h5_ctx *c, const char *tmp, int fd, const cbd_params *p,
                      const cbd_checkpoint_meta *meta) {
    hid_t file = cbd_h5_create(c, tmp);
    herr_t closed;
    if (file < 0) return -1;
    cbd_checkpoint_meta with_digest = *meta;
    with_digest.params_digest = cbd_checkpoint_params_digest(p);
    if (write_meta(c, file, &with_digest) != 0 || write_entries(c, file, p) != 0 ||
        write_run_texts(c, file, meta) != 0)
        goto cleanup;
    CBD_H5_CHECK(c, H5Fflush(file, H5F_SCOPE_GLOBAL), "cannot flush '%s'", tmp);
    closed = H5Fclose(file);
    file = -1;
    CBD_H5_CHECK(c, closed, "cannot close '%s'", tmp);
    if (fsync(fd) != 0) {
        cbd_h5_fail(c, "cannot sync '%s': %s", tmp, strerror(errno));
        return -1;
    }
    return 0;
cleanup:
    cbd_h5_close(file);
    return -1;
}

int cbd_checkpoint_save(const char *path, const cbd_params *p, const cbd_checkpoint_meta *meta,
                        char *err, size_t err_len) {
    cbd_h5_ctx c;
    cbd_h5_ctx_init(&c, path, err, err_len);
    CBD_ASSERT(p->values != NULL, "checkpoint saved from an unallocated parameter table");
    char tmp[PATH_MAX];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof tmp) {
        cbd_h5_fail(&c, "path is too long");
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        cbd_h5_fail(&c, "cannot create temporary file '%s': %s", tmp, strerror(errno));
        return -1;
    }
    int rc = write_file(&c, tmp, fd, p, meta);
    if (close(fd) != 0 && rc == 0) {
        cbd_h5_fail(&c, "cannot close '%s': %s", tmp, strerror(errno));
        rc = -1;
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        cbd_h5_fail(&c, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
        rc = -1;
    }
    if (rc != 0) {
        unlink(tmp);
        return -1;
    }
    return sync_directory_of(&c, path);
}

/* ---- metadata on read --------------------------------------------------------- */

static int read_int(cbd_h5_ctx *c, hid_t file, const char *name, int64_t lo, int64_t hi, int *out) {
    int64_t v;
    if (cbd_h5_attr_read_int64(c, file, ".", name, &v) != 0) return -1;
    if (v < lo || v > hi) {
        cbd_h5_fail(c, "attribute '%s' is %lld, expected %lld..%lld", name, (long long)v,
                    (long long)lo, (long long)hi);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int read_meta(cbd_h5_ctx *c, hid_t file, cbd_checkpoint_meta *m) {
    char head[32];
    double scale;
    memset(m, 0, sizeof *m);
    if (cbd_h5_check_format(c, file, CBD_CHECKPOINT_FORMAT, "checkpoint", CBD_CHECKPOINT_FORMAT_VERSION, NULL) != 0)
        return -1;
    if (cbd_h5_attr_read_string(c, file, ".", "program_version", m->program_version,
                                sizeof m->program_version) ||
        cbd_h5_attr_read_string(c, file, ".", "arch", m->arch, sizeof m->arch) ||
        read_int(c, file, "in_channels", 1, 1 << 16, &m->in_channels) ||
        read_int(c, file, "classes", 2, INT_MAX, &m->classes) ||
        cbd_h5_attr_read_string(c, file, ".", "head", head, sizeof head) ||
        cbd_h5_attr_read_double(c, file, ".", "cosine_scale", &scale) ||
        read_int(c, file, "projection_dim", 0, INT_MAX, &m->projection_dim) ||
        read_int(c, file, "projection_relu", 0, 1, &m->projection_relu) ||
        cbd_h5_attr_read_int64(c, file, ".", "epoch", &m->epoch) ||
        cbd_h5_attr_read_int64(c, file, ".", "step", &m->step) ||
        cbd_h5_attr_read_uint64(c, file, ".", "seed", &m->seed) ||
        cbd_h5_attr_read_uint64(c, file, ".", "config_digest", &m->config_digest))
        return -1;
    if (head_parse(head, &m->head) != 0) {
        cbd_h5_fail(c, "unknown head '%s' (expected 'cosine' or 'linear')", head);
        return -1;
    }
    m->cosine_scale = (float)scale;
    int has = cbd_h5_attr_exists(c, file, ".", "params_digest");
    if (has < 0 || (has && cbd_h5_attr_read_uint64(c, file, ".", "params_digest", &m->params_digest))) return -1;
    has = cbd_h5_attr_exists(c, file, ".", "input_size");
    if (has < 0) return -1;
    if (has) {
        double mean[3], std[3];
        const int n = m->in_channels <= 3 ? m->in_channels : 3;
        if (read_int(c, file, "input_size", 1, 1 << 16, &m->input_size) ||
            cbd_h5_attr_read_doubles(c, file, ".", "input_mean", mean, n) ||
            cbd_h5_attr_read_doubles(c, file, ".", "input_std", std, n))
            return -1;
        for (int k = 0; k < n; k++) {
            m->input_mean[k] = (float)mean[k];
            m->input_std[k] = (float)std[k];
        }
    }
    return 0;
}

int cbd_checkpoint_read_meta(const char *path, cbd_checkpoint_meta *meta_out, char *err,
                             size_t err_len) {
    cbd_h5_ctx c;
    cbd_h5_ctx_init(&c, path, err, err_len);
    hid_t file = cbd_h5_open_read(&c);
    if (file < 0) return -1;
    int rc = read_meta(&c, file, meta_out);
    return cbd_h5_close_checked(&c, file, rc, path);
}

/* ---- load ------------------------------------------------------------------------ */

static int check_model(cbd_h5_ctx *c, const cbd_checkpoint_meta *have, const cbd_model_config *cfg) {
    cbd_checkpoint_meta want;
    cbd_checkpoint_meta_init(&want, cfg);
    if (strcmp(have->arch, want.arch) == 0 && have->classes == want.classes &&
        have->in_channels == want.in_channels && have->head == want.head &&
        have->projection_dim == want.projection_dim)
        return 0;
    char have_text[160], want_text[160];
    cbd_checkpoint_describe(have_text, sizeof have_text, have);
    cbd_checkpoint_describe(want_text, sizeof want_text, &want);
    cbd_h5_fail(c, "checkpoint is %s, this model is %s", have_text, want_text);
    return -1;
}

static int read_required(cbd_h5_ctx *c, hid_t file, const char *name, const cbd_param_entry *e,
                         float *out) {
    hsize_t dims[CBD_PARAM_MAX_DIMS];
    int found = cbd_h5_exists(c, file, name);
    if (found < 0) return -1;
    if (!found) {
        cbd_h5_fail(c, "missing dataset '%s'", name);
        return -1;
    }
    entry_dims(e, dims);
    if (cbd_h5_read_f32(c, file, name, e->ndim, dims, out) != 0) return -1;
    /* cbd never saves one (see write_tensor): a damaged or foreign file */
    size_t bad = 0, first = 0;
    for (size_t k = 0; k < e->count; k++)
        if (!isfinite(out[k]) && bad++ == 0) first = k;
    if (bad) {
        cbd_h5_fail(c, "dataset '%s' holds %zu non-finite values (first at index %zu: %g)", name, bad, first,
                    (double)out[first]);
        return -1;
    }
    return 0;
}

/* Reads every entry into host mirrors laid out like the table. */
static int read_entries(cbd_h5_ctx *c, hid_t file, const cbd_params *p, float *values,
                        float *momentum) {
    char name[DATASET_NAME_MAX];
    for (int i = 0; i < p->count; i++) {
        const cbd_param_entry *e = &p->entries[i];
        if (read_required(c, file, e->name, e, values + e->offset) != 0) return -1;
        if (!cbd_param_is_trainable(e->kind)) continue;
        momentum_name(name, sizeof name, e->name);
        if (read_required(c, file, name, e, momentum + e->offset) != 0) return -1;
    }
    return 0;
}

typedef struct {
    cbd_h5_ctx *c;
    const cbd_params *p;
} expected_state;

static int check_expected(const char *name, void *arg) {
    expected_state *s = arg;
    const char *prefix = CBD_CHECKPOINT_MOMENTUM_GROUP "/";
    const size_t n = strlen(prefix);
    if (cbd_params_find(s->p, name) >= 0) return 0;
    if (!strcmp(name, RUN_GROUP "config") || !strcmp(name, RUN_GROUP "metrics") || !strcmp(name, RUN_GROUP "log"))
        return 0;
    if (strncmp(name, prefix, n) == 0) {
        int i = cbd_params_find(s->p, name + n);
        if (i >= 0 && cbd_param_is_trainable(s->p->entries[i].kind)) return 0;
        cbd_h5_fail(s->c, "unexpected dataset '%s': this model has no such trainable parameter", name);
        return -1;
    }
    cbd_h5_fail(s->c, "unexpected dataset '%s': this model has no such parameter", name);
    return -1;
}

int cbd_checkpoint_load(const char *path, const cbd_model_config *model, cbd_params *p,
                        cbd_checkpoint_meta *meta_out, char *err, size_t err_len) {
    cbd_h5_ctx c;
    cbd_h5_ctx_init(&c, path, err, err_len);
    CBD_ASSERT(p->values != NULL, "checkpoint loaded into an unallocated parameter table");
    hid_t file = cbd_h5_open_read(&c);
    if (file < 0) return -1;
    cbd_checkpoint_meta meta;
    float *values = NULL, *momentum = NULL;
    expected_state expected = {&c, p};
    int rc = -1;
    if (read_meta(&c, file, &meta) != 0) goto cleanup;
    if (model && check_model(&c, &meta, model) != 0) goto cleanup;
    values = cbd_calloc(p->total, sizeof(float));
    momentum = cbd_calloc(p->total, sizeof(float));
    if (read_entries(&c, file, p, values, momentum) != 0) goto cleanup;
    if (cbd_h5_for_each_dataset(&c, file, check_expected, &expected) != 0) goto cleanup;
    if (meta.params_digest && digest_of_values(p, values) != meta.params_digest) {
        cbd_h5_fail(&c, "the parameter values do not give the recorded params_digest: the file was changed after "
                        "it was written");
        goto cleanup;
    }
    p->be->ops.upload(p->be, p->values, values, p->total * sizeof(float));
    p->be->ops.upload(p->be, p->momentum, momentum, p->total * sizeof(float));
    p->be->ops.synchronize(p->be);
    if (meta_out) *meta_out = meta;
    rc = 0;
cleanup:
    free(values);
    free(momentum);
    return cbd_h5_close_checked(&c, file, rc, path);
}

/* ---- listing --------------------------------------------------------------------- */

typedef struct {
    cbd_h5_ctx *c;
    hid_t file;
    cbd_checkpoint_dataset *items;
    int count, capacity;
} list_state;

static cbd_checkpoint_dataset *list_push(list_state *s) {
    if (s->count == s->capacity) {
        int cap = s->capacity ? 2 * s->capacity : 64;
        cbd_checkpoint_dataset *grown = cbd_calloc((size_t)cap, sizeof *grown);
        if (s->items) memcpy(grown, s->items, (size_t)s->count * sizeof *grown);
        free(s->items);
        s->items = grown;
        s->capacity = cap;
    }
    cbd_checkpoint_dataset *d = &s->items[s->count];
    memset(d, 0, sizeof *d);
    return d;
}

static int list_one(const char *name, void *arg) {
    list_state *s = arg;
    cbd_checkpoint_dataset *d = list_push(s);
    hsize_t dims[CBD_PARAM_MAX_DIMS];
    if (strlen(name) >= sizeof d->name) {
        cbd_h5_fail(s->c, "dataset name '%s' is too long", name);
        return -1;
    }
    snprintf(d->name, sizeof d->name, "%s", name);
    if (cbd_h5_dataset_shape(s->c, s->file, name, CBD_PARAM_MAX_DIMS, &d->ndim, dims) != 0) return -1;
    /* No model tensor comes near 2^40 values: a shape beyond that is a corrupt
     * header, and its product could overflow the count. */
    const int64_t max_count = (int64_t)1 << 40;
    d->count = 1;
    for (int k = 0; k < d->ndim; k++) {
        if (dims[k] > (hsize_t)max_count || (dims[k] && d->count > max_count / (int64_t)dims[k])) {
            cbd_h5_fail(s->c, "dataset '%s' claims more than 2^40 values: the file is corrupt", name);
            return -1;
        }
        d->shape[k] = (int64_t)dims[k];
        d->count *= (int64_t)dims[k];
    }
    int has_kind = cbd_h5_attr_exists(s->c, s->file, name, "kind");
    if (has_kind < 0) return -1;
    if (has_kind && cbd_h5_attr_read_string(s->c, s->file, name, "kind", d->kind, sizeof d->kind) != 0)
        return -1;
    s->count++;
    return 0;
}

int cbd_checkpoint_list(const char *path, cbd_checkpoint_dataset **list, int *count, char *err,
                        size_t err_len) {
    cbd_h5_ctx c;
    cbd_h5_ctx_init(&c, path, err, err_len);
    *list = NULL;
    *count = 0;
    list_state s = {&c, -1, NULL, 0, 0};
    if ((s.file = cbd_h5_open_read(&c)) < 0) return -1;
    int rc = cbd_h5_for_each_dataset(&c, s.file, list_one, &s);
    rc = cbd_h5_close_checked(&c, s.file, rc, path);
    if (rc != 0) {
        free(s.items);
        return -1;
    }
    *list = s.items;
    *count = s.count;
    return 0;
}

/* ---- digests and run texts ---------------------------------------------------------- */

int cbd_checkpoint_weights_digest(const char *path, uint64_t *digest, char *err, size_t err_len) {
    cbd_checkpoint_meta meta;
    if (cbd_checkpoint_read_meta(path, &meta, err, err_len) != 0) return -1;
    if (meta.params_digest) {
        *digest = meta.params_digest;
        return 0;
    }
    cbd_backend *be = cbd_backend_create("cpu", err, err_len);
    if (!be) return -1;
    cbd_model_config cfg;
    cbd_checkpoint_meta_to_config(&meta, &cfg);
    cbd_model m;
    int rc = -1;
    if (cbd_model_create(&m, be, &cfg, err, err_len) == 0) {
        rc = cbd_checkpoint_load(path, &cfg, &m.params, NULL, err, err_len);
        if (rc == 0) *digest = cbd_checkpoint_params_digest(&m.params);
        cbd_model_free(&m);
    }
    cbd_backend_destroy(be);
    return rc;
}

int cbd_checkpoint_read_run_text(const char *path, const char *name, char **text, char *err, size_t err_len) {
    cbd_h5_ctx c;
    cbd_h5_ctx_init(&c, path, err, err_len);
    *text = NULL;
    hid_t file = cbd_h5_open_read(&c);
    if (file < 0) return -1;
    char dataset[32];
    snprintf(dataset, sizeof dataset, RUN_GROUP "%s", name);
    int found = cbd_h5_exists(&c, file, dataset), rc = found < 0 ? -1 : 0;
    if (found > 0) rc = cbd_h5_read_text(&c, file, dataset, text);
    return cbd_h5_close_checked(&c, file, rc, path);
}
