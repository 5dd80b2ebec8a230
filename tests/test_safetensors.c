/* Export to safetensors (store/torch_export.h), read back by this test's own
 * small reader: the header length, the JSON header (names, dtypes, shapes,
 * offsets, metadata) and the data bytes.
 *
 *   - resnet18 with a linear head: exactly torchvision's resnet18 state_dict
 *     (the 122 names and shapes of torchvision 0.14's
 *     resnet18(num_classes=10).state_dict(), written out below), every
 *     tensor's bytes equal to the checkpoint's, num_batches_tracked = step;
 *   - resnet20 (1 input channel) with a projection and a cosine head: the
 *     documented CIFAR names (docs/export.md), cosine.scale;
 *   - the file's layout: header padded with spaces to a multiple of 8, data
 *     offsets contiguous from 0 to the end of the file, I64 data 8-aligned;
 *   - that these checks fail on a tensor missing, mis-shaped or misplaced;
 *   - the writer's refusals (repeated name, folder that does not exist).
 * usage: test_safetensors WORK_DIR */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"
#include "nn/model.h"
#include "store/checkpoint.h"
#include "store/digest.h"
#include "store/fsutil.h"
#include "store/safetensors.h"
#include "store/torch_export.h"
#include "test_util.h"

/* ---- the expected names ---------------------------------------------------- */

typedef struct {
    char name[96];
    int ndim;
    int64_t shape[4];
} expected_tensor;

/* torchvision.models.resnet18(num_classes=10).state_dict(), in its order */
static const expected_tensor resnet18_c10[] = {
    {"conv1.weight", 4, {64, 3, 7, 7}},
    {"bn1.weight", 1, {64}},
    {"bn1.bias", 1, {64}},
    {"bn1.running_mean", 1, {64}},
    {"bn1.running_var", 1, {64}},
    {"bn1.num_batches_tracked", 0, {0}},
    {"layer1.0.conv1.weight", 4, {64, 64, 3, 3}},
    {"layer1.0.bn1.weight", 1, {64}},
    {"layer1.0.bn1.bias", 1, {64}},
    {"layer1.0.bn1.running_mean", 1, {64}},
    {"layer1.0.bn1.running_var", 1, {64}},
    {"layer1.0.bn1.num_batches_tracked", 0, {0}},
    {"layer1.0.conv2.weight", 4, {64, 64, 3, 3}},
    {"layer1.0.bn2.weight", 1, {64}},
    {"layer1.0.bn2.bias", 1, {64}},
    {"layer1.0.bn2.running_mean", 1, {64}},
    {"layer1.0.bn2.running_var", 1, {64}},
    {"layer1.0.bn2.num_batches_tracked", 0, {0}},
    {"layer1.1.conv1.weight", 4, {64, 64, 3, 3}},
    {"layer1.1.bn1.weight", 1, {64}},
    {"layer1.1.bn1.bias", 1, {64}},
    {"layer1.1.bn1.running_mean", 1, {64}},
    {"layer1.1.bn1.running_var", 1, {64}},
    {"layer1.1.bn1.num_batches_tracked", 0, {0}},
    {"layer1.1.conv2.weight", 4, {64, 64, 3, 3}},
    {"layer1.1.bn2.weight", 1, {64}},
    {"layer1.1.bn2.bias", 1, {64}},
    {"layer1.1.bn2.running_mean", 1, {64}},
    {"layer1.1.bn2.running_var", 1, {64}},
    {"layer1.1.bn2.num_batches_tracked", 0, {0}},
    {"layer2.0.conv1.weight", 4, {128, 64, 3, 3}},
    {"layer2.0.bn1.weight", 1, {128}},
    {"layer2.0.bn1.bias", 1, {128}},
    {"layer2.0.bn1.running_mean", 1, {128}},
    {"layer2.0.bn1.running_var", 1, {128}},
    {"layer2.0.bn1.num_batches_tracked", 0, {0}},
    {"layer2.0.conv2.weight", 4, {128, 128, 3, 3}},
    {"layer2.0.bn2.weight", 1, {128}},
    {"layer2.0.bn2.bias", 1, {128}},
    {"layer2.0.bn2.running_mean", 1, {128}},
    {"layer2.0.bn2.running_var", 1, {128}},
    {"layer2.0.bn2.num_batches_tracked", 0, {0}},
    {"layer2.0.downsample.0.weight", 4, {128, 64, 1, 1}},
    {"layer2.0.downsample.1.weight", 1, {128}},
    {"layer2.0.downsample.1.bias", 1, {128}},
    {"layer2.0.downsample.1.running_mean", 1, {128}},
    {"layer2.0.downsample.1.running_var", 1, {128}},
    {"layer2.0.downsample.1.num_batches_tracked", 0, {0}},
    {"layer2.1.conv1.weight", 4, {128, 128, 3, 3}},
    {"layer2.1.bn1.weight", 1, {128}},
    {"layer2.1.bn1.bias", 1, {128}},
    {"layer2.1.bn1.running_mean", 1, {128}},
    {"layer2.1.bn1.running_var", 1, {128}},
    {"layer2.1.bn1.num_batches_tracked", 0, {0}},
    {"layer2.1.conv2.weight", 4, {128, 128, 3, 3}},
    {"layer2.1.bn2.weight", 1, {128}},
    {"layer2.1.bn2.bias", 1, {128}},
    {"layer2.1.bn2.running_mean", 1, {128}},
    {"layer2.1.bn2.running_var", 1, {128}},
    {"layer2.1.bn2.num_batches_tracked", 0, {0}},
    {"layer3.0.conv1.weight", 4, {256, 128, 3, 3}},
    {"layer3.0.bn1.weight", 1, {256}},
    {"layer3.0.bn1.bias", 1, {256}},
    {"layer3.0.bn1.running_mean", 1, {256}},
    {"layer3.0.bn1.running_var", 1, {256}},
    {"layer3.0.bn1.num_batches_tracked", 0, {0}},
    {"layer3.0.conv2.weight", 4, {256, 256, 3, 3}},
    {"layer3.0.bn2.weight", 1, {256}},
    {"layer3.0.bn2.bias", 1, {256}},
    {"layer3.0.bn2.running_mean", 1, {256}},
    {"layer3.0.bn2.running_var", 1, {256}},
    {"layer3.0.bn2.num_batches_tracked", 0, {0}},
    {"layer3.0.downsample.0.weight", 4, {256, 128, 1, 1}},
    {"layer3.0.downsample.1.weight", 1, {256}},
    {"layer3.0.downsample.1.bias", 1, {256}},
    {"layer3.0.downsample.1.running_mean", 1, {256}},
    {"layer3.0.downsample.1.running_var", 1, {256}},
    {"layer3.0.downsample.1.num_batches_tracked", 0, {0}},
    {"layer3.1.conv1.weight", 4, {256, 256, 3, 3}},
    {"layer3.1.bn1.weight", 1, {256}},
    {"layer3.1.bn1.bias", 1, {256}},
    {"layer3.1.bn1.running_mean", 1, {256}},
    {"layer3.1.bn1.running_var", 1, {256}},
    {"layer3.1.bn1.num_batches_tracked", 0, {0}},
    {"layer3.1.conv2.weight", 4, {256, 256, 3, 3}},
    {"layer3.1.bn2.weight", 1, {256}},
    {"layer3.1.bn2.bias", 1, {256}},
    {"layer3.1.bn2.running_mean", 1, {256}},
    {"layer3.1.bn2.running_var", 1, {256}},
    {"layer3.1.bn2.num_batches_tracked", 0, {0}},
    {"layer4.0.conv1.weight", 4, {512, 256, 3, 3}},
    {"layer4.0.bn1.weight", 1, {512}},
    {"layer4.0.bn1.bias", 1, {512}},
    {"layer4.0.bn1.running_mean", 1, {512}},
    {"layer4.0.bn1.running_var", 1, {512}},
    {"layer4.0.bn1.num_batches_tracked", 0, {0}},
    {"layer4.0.conv2.weight", 4, {512, 512, 3, 3}},
    {"layer4.0.bn2.weight", 1, {512}},
    {"layer4.0.bn2.bias", 1, {512}},
    {"layer4.0.bn2.running_mean", 1, {512}},
    {"layer4.0.bn2.running_var", 1, {512}},
    {"layer4.0.bn2.num_batches_tracked", 0, {0}},
    {"layer4.0.downsample.0.weight", 4, {512, 256, 1, 1}},
    {"layer4.0.downsample.1.weight", 1, {512}},
    {"layer4.0.downsample.1.bias", 1, {512}},
    {"layer4.0.downsample.1.running_mean", 1, {512}},
    {"layer4.0.downsample.1.running_var", 1, {512}},
    {"layer4.0.downsample.1.num_batches_tracked", 0, {0}},
    {"layer4.1.conv1.weight", 4, {512, 512, 3, 3}},
    {"layer4.1.bn1.weight", 1, {512}},
    {"layer4.1.bn1.bias", 1, {512}},
    {"layer4.1.bn1.running_mean", 1, {512}},
    {"layer4.1.bn1.running_var", 1, {512}},
    {"layer4.1.bn1.num_batches_tracked", 0, {0}},
    {"layer4.1.conv2.weight", 4, {512, 512, 3, 3}},
    {"layer4.1.bn2.weight", 1, {512}},
    {"layer4.1.bn2.bias", 1, {512}},
    {"layer4.1.bn2.running_mean", 1, {512}},
    {"layer4.1.bn2.running_var", 1, {512}},
    {"layer4.1.bn2.num_batches_tracked", 0, {0}},
    {"fc.weight", 2, {10, 512}},
    {"fc.bias", 1, {10}},
};
#define RESNET18_COUNT ((int)(sizeof resnet18_c10 / sizeof resnet18_c10[0]))

static void expect_add(expected_tensor *list, int *n, const char *name, int ndim, int64_t a, int64_t b,
                       int64_t c, int64_t d) {
    expected_tensor *e = &list[(*n)++];
    snprintf(e->name, sizeof e->name, "%s", name);
    e->ndim = ndim;
    e->shape[0] = a, e->shape[1] = b, e->shape[2] = c, e->shape[3] = d;
}

static void expect_bn(expected_tensor *list, int *n, const char *prefix, int channels) {
    const char *fields[4] = {"weight", "bias", "running_mean", "running_var"};
    char name[96];
    for (int f = 0; f < 4; f++) {
        snprintf(name, sizeof name, "%s.%s", prefix, fields[f]);
        expect_add(list, n, name, 1, channels, 0, 0, 0);
    }
    snprintf(name, sizeof name, "%s.num_batches_tracked", prefix);
    expect_add(list, n, name, 0, 0, 0, 0, 0);
}

/* resnet20 with `in` input channels, a projection 64 -> proj and a cosine
 * head of `classes`: the names of docs/export.md. Returns the count. */
static int resnet20_names(expected_tensor *list, int in, int proj, int classes) {
    int n = 0;
    char name[96];
    expect_add(list, &n, "conv1.weight", 4, 16, in, 3, 3);
    expect_bn(list, &n, "bn1", 16);
    for (int s = 1; s <= 3; s++)
        for (int b = 0; b < 3; b++) {
            const int planes = 16 << (s - 1), in_c = b > 0 ? planes : (s == 1 ? 16 : planes / 2);
            for (int k = 1; k <= 2; k++) {
                snprintf(name, sizeof name, "layer%d.%d.conv%d.weight", s, b, k);
                expect_add(list, &n, name, 4, planes, k == 1 ? in_c : planes, 3, 3);
                snprintf(name, sizeof name, "layer%d.%d.bn%d", s, b, k);
                expect_bn(list, &n, name, planes);
            }
        }
    expect_add(list, &n, "projection.weight", 2, proj, 64, 0, 0);
    expect_add(list, &n, "projection.bias", 1, proj, 0, 0, 0);
    expect_add(list, &n, "cosine.weight", 2, classes, proj, 0, 0);
    expect_add(list, &n, "cosine.scale", 0, 0, 0, 0, 0);
    return n;
}

/* ---- a small safetensors reader of its own --------------------------------- */

typedef struct {
    char name[160];
    char dtype[8];
    int ndim;
    int64_t shape[8];
    uint64_t begin, end;
} st_tensor;

#define ST_MAX_TENSORS 1024
#define ST_MAX_META 64

typedef struct {
    unsigned char *bytes;
    size_t size;
    uint64_t header_len;
    const unsigned char *data; /* after the header */
    size_t data_len;
    st_tensor tensors[ST_MAX_TENSORS];
    int count;
    char meta_key[ST_MAX_META][64], meta_value[ST_MAX_META][192];
    int meta_count;
} st_file;

typedef struct {
    const char *p, *end;
    int bad;
} cursor;

static void skip_space(cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\t' || *c->p == '\r')) c->p++;
}

static int take(cursor *c, char ch) {
    skip_space(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

static void need(cursor *c, char ch) {
    if (!take(c, ch)) c->bad = 1;
}

/* A JSON string (escapes \" \\ \/ \n \t and \u00XX). */
static void read_string(cursor *c, char *out, size_t cap) {
    size_t n = 0;
    need(c, '"');
    while (!c->bad && c->p < c->end && *c->p != '"') {
        char ch = *c->p++;
        if (ch == '\\' && c->p < c->end) {
            char e = *c->p++;
            if (e == 'n') ch = '\n';
            else if (e == 't') ch = '\t';
            else if (e == 'u' && c->end - c->p >= 4 && strncmp(c->p, "00", 2) == 0) {
                unsigned v = 0;
                sscanf(c->p + 2, "%2x", &v);
                ch = (char)v;
                c->p += 4;
            } else if (e == '"' || e == '\\' || e == '/') ch = e;
            else c->bad = 1;
        }
        if (n + 1 < cap) out[n++] = ch;
        else c->bad = 1;
    }
    if (c->p >= c->end) c->bad = 1;
    else c->p++;
    if (cap) out[n < cap ? n : cap - 1] = '\0';
}

static uint64_t read_uint(cursor *c) {
    skip_space(c);
    if (c->p >= c->end || *c->p < '0' || *c->p > '9') {
        c->bad = 1;
        return 0;
    }
    uint64_t v = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') v = v * 10 + (uint64_t)(*c->p++ - '0');
    return v;
}

/* [a, b, ...] of unsigned integers into out; returns how many. */
static int read_uints(cursor *c, int64_t *out, int cap) {
    int n = 0;
    need(c, '[');
    if (take(c, ']')) return 0;
    do {
        uint64_t v = read_uint(c);
        if (n < cap) out[n] = (int64_t)v;
        n++;
    } while (!c->bad && take(c, ','));
    need(c, ']');
    if (n > cap) c->bad = 1;
    return n;
}

static void read_tensor(cursor *c, st_tensor *t) {
    int have = 0;
    need(c, '{');
    do {
        char key[32];
        read_string(c, key, sizeof key);
        need(c, ':');
        if (strcmp(key, "dtype") == 0) {
            read_string(c, t->dtype, sizeof t->dtype);
            have |= 1;
        } else if (strcmp(key, "shape") == 0) {
            t->ndim = read_uints(c, t->shape, 8);
            have |= 2;
        } else if (strcmp(key, "data_offsets") == 0) {
            int64_t off[2];
            if (read_uints(c, off, 2) != 2) c->bad = 1;
            t->begin = (uint64_t)off[0];
            t->end = (uint64_t)off[1];
            have |= 4;
        } else {
            c->bad = 1;
        }
    } while (!c->bad && take(c, ','));
    need(c, '}');
    if (have != 7) c->bad = 1;
}

static void read_metadata(cursor *c, st_file *f) {
    need(c, '{');
    if (take(c, '}')) return;
    do {
        if (f->meta_count >= ST_MAX_META) {
            c->bad = 1;
            return;
        }
        read_string(c, f->meta_key[f->meta_count], sizeof f->meta_key[0]);
        need(c, ':');
        read_string(c, f->meta_value[f->meta_count], sizeof f->meta_value[0]);
        f->meta_count++;
    } while (!c->bad && take(c, ','));
    need(c, '}');
}

/* Reads and parses a whole file; 0 or -1 with a message on stderr. */
static int st_read(const char *path, st_file *f) {
    char err[512];
    memset(f, 0, sizeof *f);
    f->bytes = (unsigned char *)cbd_read_file(path, &f->size, err, sizeof err);
    if (!f->bytes) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    if (f->size < 8) {
        fprintf(stderr, "%s: %zu bytes, shorter than the header length\n", path, f->size);
        return -1;
    }
    for (int b = 0; b < 8; b++) f->header_len |= (uint64_t)f->bytes[b] << (8 * b);
    if (f->header_len > f->size - 8) {
        fprintf(stderr, "%s: header length %" PRIu64 " beyond the file\n", path, f->header_len);
        return -1;
    }
    cursor c = {(const char *)f->bytes + 8, (const char *)f->bytes + 8 + f->header_len, 0};
    if (c.p == c.end || *c.p != '{') c.bad = 1;
    need(&c, '{');
    if (!take(&c, '}')) {
        do {
            char key[160];
            read_string(&c, key, sizeof key);
            need(&c, ':');
            if (strcmp(key, "__metadata__") == 0) {
                read_metadata(&c, f);
            } else if (f->count < ST_MAX_TENSORS) {
                st_tensor *t = &f->tensors[f->count++];
                snprintf(t->name, sizeof t->name, "%s", key);
                read_tensor(&c, t);
            } else {
                c.bad = 1;
            }
        } while (!c.bad && take(&c, ','));
        need(&c, '}');
    }
    /* only spaces may follow the JSON */
    for (const char *q = c.p; !c.bad && q < c.end; q++)
        if (*q != ' ') c.bad = 1;
    if (c.bad) {
        fprintf(stderr, "%s: malformed header near byte %ld\n", path, (long)(c.p - (const char *)f->bytes));
        return -1;
    }
    f->data = f->bytes + 8 + f->header_len;
    f->data_len = f->size - 8 - f->header_len;
    return 0;
}

static const st_tensor *st_find(const st_file *f, const char *name) {
    for (int i = 0; i < f->count; i++)
        if (strcmp(f->tensors[i].name, name) == 0) return &f->tensors[i];
    return NULL;
}

static const char *st_meta(const st_file *f, const char *key) {
    for (int i = 0; i < f->meta_count; i++)
        if (strcmp(f->meta_key[i], key) == 0) return f->meta_value[i];
    return NULL;
}

/* ---- checks that count problems (quiet ones for the self-test) --------------- */

static int report = 1;
#define PROBLEM(...)                                               \
    do {                                                           \
        problems++;                                                \
        if (report) {                                              \
            fprintf(stderr, "  problem: " __VA_ARGS__);            \
            fputc('\n', stderr);                                   \
        }                                                          \
    } while (0)

static int64_t elements(const st_tensor *t) {
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
    return n;
}

static int dtype_bytes(const char *dtype) {
    return strcmp(dtype, "F32") == 0 ? 4 : strcmp(dtype, "I64") == 0 ? 8 : 0;
}

/* Header padded to 8; offsets contiguous from 0 to the end of the data in
 * header order; each size = elements x dtype; I64 data 8-aligned. */
static int layout_problems(const st_file *f) {
    int problems = 0;
    if ((8 + f->header_len) % 8 != 0) PROBLEM("header length %" PRIu64 " not padded to 8", f->header_len);
    uint64_t at = 0;
    for (int i = 0; i < f->count; i++) {
        const st_tensor *t = &f->tensors[i];
        const int size = dtype_bytes(t->dtype);
        if (!size) PROBLEM("%s: dtype %s", t->name, t->dtype);
        if (t->begin != at) PROBLEM("%s begins at %" PRIu64 ", expected %" PRIu64, t->name, t->begin, at);
        if (t->end < t->begin || t->end - t->begin != (uint64_t)(elements(t) * size))
            PROBLEM("%s: offsets [%" PRIu64 ", %" PRIu64 "] for %" PRId64 " elements", t->name, t->begin, t->end,
                    elements(t));
        if (size == 8 && (8 + f->header_len + t->begin) % 8 != 0) PROBLEM("%s: I64 data not 8-aligned", t->name);
        at = t->end;
    }
    if (at != f->data_len) PROBLEM("tensors end at %" PRIu64 ", the data has %zu bytes", at, f->data_len);
    return problems;
}

/* Exactly the expected names and shapes, I64 for num_batches_tracked, F32 else. */
static int name_problems(const st_file *f, const expected_tensor *want, int n) {
    int problems = 0;
    for (int i = 0; i < n; i++) {
        const st_tensor *t = st_find(f, want[i].name);
        if (!t) {
            PROBLEM("missing %s", want[i].name);
            continue;
        }
        int same = t->ndim == want[i].ndim;
        for (int d = 0; same && d < t->ndim; d++) same = t->shape[d] == want[i].shape[d];
        if (!same) PROBLEM("%s has another shape (%d dimensions)", t->name, t->ndim);
        const char *dtype = strstr(want[i].name, "num_batches_tracked") ? "I64" : "F32";
        if (strcmp(t->dtype, dtype) != 0) PROBLEM("%s is %s, expected %s", t->name, t->dtype, dtype);
    }
    if (f->count != n) PROBLEM("%d tensors, expected %d", f->count, n);
    return problems;
}

/* The cbd entry a PyTorch name comes from, by this test's own rules:
 * "layer2.0.downsample.1.running_var" -> "stage2/block1/shortcut/bn/running_var". */
static void cbd_name_of(const char *torch, char *out, size_t out_len) {
    int stage, block, used = 0;
    char rest[160];
    if (strcmp(torch, "conv1.weight") == 0) snprintf(out, out_len, "stem/conv/weight");
    else if (strncmp(torch, "bn1.", 4) == 0) snprintf(out, out_len, "stem/bn/%s", torch + 4);
    else if (strncmp(torch, "fc.", 3) == 0) snprintf(out, out_len, "classifier/%s", torch + 3);
    else if (strcmp(torch, "cosine.weight") == 0) snprintf(out, out_len, "classifier/weight");
    else if (strncmp(torch, "projection.", 11) == 0) snprintf(out, out_len, "projection/%s", torch + 11);
    else if (sscanf(torch, "layer%d.%d.%n", &stage, &block, &used) == 2 && used > 0) {
        const char *r = torch + used;
        if (strncmp(r, "downsample.0.", 13) == 0) snprintf(rest, sizeof rest, "shortcut/conv/%s", r + 13);
        else if (strncmp(r, "downsample.1.", 13) == 0) snprintf(rest, sizeof rest, "shortcut/bn/%s", r + 13);
        else {
            snprintf(rest, sizeof rest, "%s", r);
            char *dot = strchr(rest, '.');
            if (dot) *dot = '/';
        }
        snprintf(out, out_len, "stage%d/block%d/%s", stage, block + 1, rest);
    } else snprintf(out, out_len, "?");
}

/* Each tensor's bytes: the table's values (host copy), the step, the scale. */
static int data_problems(const st_file *f, const cbd_params *p, const float *values, int64_t step, float scale) {
    int problems = 0;
    for (int i = 0; i < f->count; i++) {
        const st_tensor *t = &f->tensors[i];
        const unsigned char *bytes = f->data + t->begin;
        if (t->end > f->data_len) continue; /* a layout problem */
        if (strstr(t->name, ".num_batches_tracked")) {
            int64_t v;
            memcpy(&v, bytes, 8);
            if (v != step) PROBLEM("%s = %" PRId64 ", expected the step %" PRId64, t->name, v, step);
            continue;
        }
        if (strcmp(t->name, "cosine.scale") == 0) {
            if (memcmp(bytes, &scale, 4) != 0) PROBLEM("cosine.scale differs from %g", (double)scale);
            continue;
        }
        char entry[200];
        cbd_name_of(t->name, entry, sizeof entry);
        const int k = cbd_params_find(p, entry);
        if (k < 0) {
            PROBLEM("%s: no entry %s in the model", t->name, entry);
            continue;
        }
        const cbd_param_entry *e = &p->entries[k];
        if ((uint64_t)e->count * 4 != t->end - t->begin || memcmp(bytes, values + e->offset, e->count * 4) != 0)
            PROBLEM("%s: bytes differ from %s", t->name, entry);
    }
    return problems;
}

/* ---- the round trips ----------------------------------------------------------- */

static const char *work;

static void make_model(cbd_model *m, cbd_backend *be, const char *arch, int in, int classes, cbd_head_kind head,
                       int projection) {
    cbd_model_config cfg;
    char err[512];
    cbd_model_config_default(&cfg);
    snprintf(cfg.arch, sizeof cfg.arch, "%s", arch);
    cfg.in_channels = in;
    cfg.classes = classes;
    cfg.head = head;
    cfg.projection_dim = projection;
    if (cbd_model_create(m, be, &cfg, err, sizeof err) != 0) {
        fprintf(stderr, "cannot create %s: %s\n", arch, err);
        exit(1);
    }
}

/* Every value random (running variances positive): a swapped or misplaced
 * tensor cannot go unseen. Returns the host copy. */
static float *randomize(cbd_params *p, uint64_t seed) {
    float *host = cbd_malloc(p->total * sizeof(float));
    test_fill_normal(host, p->total, 1.0f, seed);
    for (int i = 0; i < p->count; i++)
        if (p->entries[i].kind == CBD_BUFFER_RUNNING_VAR)
            for (size_t k = 0; k < p->entries[i].count; k++)
                host[p->entries[i].offset + k] = 0.1f + fabsf(host[p->entries[i].offset + k]);
    p->be->ops.upload(p->be, p->values, host, p->total * sizeof(float));
    return host;
}

/* Saves m as a checkpoint, loads it into a fresh model (as cbd-ckpt export
 * does) and exports that; returns the file read back in f. */
static int save_load_export(cbd_model *m, cbd_checkpoint_meta *meta, const char *name, st_file *f) {
    char ckpt[1024], out[1024], err[1024];
    snprintf(ckpt, sizeof ckpt, "%s/%s.ckpt.h5", work, name);
    snprintf(out, sizeof out, "%s/%s.safetensors", work, name);
    cbd_model_config cfg;
    cbd_checkpoint_meta_to_config(meta, &cfg);
    CHECK(cbd_checkpoint_save(ckpt, &m->params, meta, err, sizeof err) == 0, "%s", err);
    cbd_model loaded;
    cbd_checkpoint_meta read;
    if (cbd_model_create(&loaded, m->be, &cfg, err, sizeof err) != 0) return -1;
    int rc = cbd_checkpoint_load(ckpt, &cfg, &loaded.params, &read, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    if (rc == 0) {
        rc = cbd_torch_export(out, &loaded.params, &read, err, sizeof err);
        CHECK(rc == 0, "export: %s", err);
    }
    cbd_model_free(&loaded);
    if (rc != 0) return -1;
    rc = st_read(out, f);
    CHECK(rc == 0, "cannot read back %s", out);
    return rc;
}

static void check_meta(const st_file *f, const char *key, const char *want) {
    const char *got = st_meta(f, key);
    CHECK(got && strcmp(got, want) == 0, "__metadata__ %s = '%s', expected '%s'", key, got ? got : "(none)", want);
}

/* The checks above must see a tensor missing, mis-shaped, misplaced or with
 * other bytes. */
static void test_checks_fail(const st_file *good, const cbd_params *p, const float *values) {
    st_file *f = cbd_malloc(sizeof *f);
    report = 0;
    *f = *good;
    memmove(&f->tensors[5], &f->tensors[6], (size_t)(f->count - 6) * sizeof f->tensors[0]);
    f->count--;
    CHECK(name_problems(f, resnet18_c10, RESNET18_COUNT) > 0, "a missing tensor goes unseen");
    CHECK(layout_problems(f) > 0, "a hole in the data goes unseen");
    *f = *good;
    f->tensors[6].shape[1] = 32; /* layer1.0.conv1.weight */
    CHECK(name_problems(f, resnet18_c10, RESNET18_COUNT) > 0, "a mis-shaped tensor goes unseen");
    CHECK(layout_problems(f) > 0, "offsets that do not fit the shape go unseen");
    *f = *good;
    f->tensors[2].begin += 4;
    CHECK(layout_problems(f) > 0, "overlapping offsets go unseen");
    *f = *good;
    snprintf(f->tensors[3].name, sizeof f->tensors[3].name, "bn1.running_var");
    snprintf(f->tensors[4].name, sizeof f->tensors[4].name, "bn1.running_mean");
    CHECK(name_problems(f, resnet18_c10, RESNET18_COUNT) == 0, "(the names alone cannot tell)");
    CHECK(data_problems(f, p, values, 123, 0.0f) > 0, "swapped running statistics go unseen");
    *f = *good;
    CHECK(data_problems(f, p, values, 124, 0.0f) > 0, "another num_batches_tracked goes unseen");
    report = 1;
    free(f);
}

static void test_resnet18(cbd_backend *be, st_file *f) {
    cbd_model m;
    cbd_checkpoint_meta meta;
    make_model(&m, be, "resnet18", 3, 10, CBD_HEAD_LINEAR, 0);
    float *values = randomize(&m.params, 18);
    cbd_checkpoint_meta_init(&meta, &m.cfg);
    meta.step = 123;
    meta.epoch = 4;
    meta.input_size = 64;
    const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
    memcpy(meta.input_mean, mean, sizeof mean);
    memcpy(meta.input_std, std, sizeof std);
    if (save_load_export(&m, &meta, "resnet18", f) == 0) {
        CHECK(f->count == RESNET18_COUNT, "%d tensors", f->count);
        CHECK(name_problems(f, resnet18_c10, RESNET18_COUNT) == 0, "names and shapes differ from torchvision's");
        /* in torchvision's order too */
        for (int i = 0; i < f->count && i < RESNET18_COUNT; i++)
            CHECK(strcmp(f->tensors[i].name, resnet18_c10[i].name) == 0, "tensor %d is %s, torchvision has %s", i,
                  f->tensors[i].name, resnet18_c10[i].name);
        CHECK(layout_problems(f) == 0, "layout");
        CHECK(data_problems(f, &m.params, values, 123, 0.0f) == 0, "data");
        char digest[17];
        cbd_digest_hex(cbd_checkpoint_params_digest(&m.params), digest);
        check_meta(f, "format", "pt");
        check_meta(f, "arch", "resnet18");
        check_meta(f, "family", "imagenet");
        check_meta(f, "classes", "10");
        check_meta(f, "in_channels", "3");
        check_meta(f, "head", "linear");
        check_meta(f, "step", "123");
        check_meta(f, "params_digest", digest);
        check_meta(f, "image_size", "64");
        check_meta(f, "mean", "[0.485,0.456,0.406]");
        check_meta(f, "std", "[0.229,0.224,0.225]");
        CHECK(st_meta(f, "cosine_scale") == NULL, "a linear head has no cosine_scale");
        test_checks_fail(f, &m.params, values);
    }
    free(values);
    cbd_model_free(&m);
}

static void test_resnet20_cosine(cbd_backend *be, st_file *f) {
    enum { IN = 1, PROJ = 16, CLASSES = 5 };
    cbd_model m;
    cbd_checkpoint_meta meta;
    expected_tensor want[160];
    const int n = resnet20_names(want, IN, PROJ, CLASSES);
    make_model(&m, be, "resnet20", IN, CLASSES, CBD_HEAD_COSINE, PROJ);
    float *values = randomize(&m.params, 20);
    cbd_checkpoint_meta_init(&meta, &m.cfg);
    if (save_load_export(&m, &meta, "resnet20", f) == 0) {
        CHECK(name_problems(f, want, n) == 0, "names and shapes differ from docs/export.md");
        CHECK(layout_problems(f) == 0, "layout");
        CHECK(data_problems(f, &m.params, values, 0, m.cfg.cosine_scale) == 0, "data");
        check_meta(f, "family", "cifar");
        check_meta(f, "head", "cosine");
        check_meta(f, "cosine_scale", "20");
        check_meta(f, "projection_dim", "16");
        check_meta(f, "projection_relu", "1");
        CHECK(st_meta(f, "image_size") == NULL, "no input recorded, none exported");
    }
    free(values);
    cbd_model_free(&m);
}

static void test_writer_refusals(void) {
    char err[1024], path[1024];
    const float x[2] = {1.0f, 2.0f};
    cbd_safetensors_tensor t[2] = {{"a", CBD_SAFETENSORS_F32, 1, {2}, x}, {"a", CBD_SAFETENSORS_F32, 1, {2}, x}};
    snprintf(path, sizeof path, "%s/twice.safetensors", work);
    CHECK(cbd_safetensors_write(path, t, 2, NULL, 0, err, sizeof err) != 0 && strstr(err, "twice"),
          "a repeated name is refused: %s", err);
    CHECK(!cbd_file_exists(path), "a refused write leaves no file");
    snprintf(path, sizeof path, "%s/no/such/dir/x.safetensors", work);
    CHECK(cbd_safetensors_write(path, t, 1, NULL, 0, err, sizeof err) != 0 && strncmp(err, path, strlen(path)) == 0,
          "an impossible write names the file: %s", err);
    /* an empty file: header "{}" padded to 8, no data */
    st_file *f = cbd_malloc(sizeof *f);
    snprintf(path, sizeof path, "%s/empty.safetensors", work);
    CHECK(cbd_safetensors_write(path, t, 0, NULL, 0, err, sizeof err) == 0, "%s", err);
    CHECK(st_read(path, f) == 0 && f->count == 0 && f->size == 16 && f->header_len == 8, "empty file");
    free(f->bytes);
    free(f);
}

int main(int argc, char **argv) {
    work = test_work_dir(argc, argv);
    cbd_backend *be = test_cpu_backend();
    st_file *f = cbd_malloc(sizeof *f);
    test_resnet18(be, f);
    free(f->bytes);
    test_resnet20_cosine(be, f);
    free(f->bytes);
    free(f);
    test_writer_refusals();
    cbd_backend_destroy(be);
    return test_finish("safetensors");
}
