/* Checkpoint store: bit-exact round trip (values, momentum, running
 * statistics, eval logits), refusals that say what differs (architecture,
 * classes, shapes, extra datasets, truncation, flipped bytes), and atomic
 * saving (no temporary file left, an older file replaced whole). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn/log.h"
#include "nn/losses/losses.h"
#include "nn/model.h"
#include "nn/optim/sgd.h"
#include "store/checkpoint.h"
#include "store/digest.h"
#include "test_util.h"

enum { BATCH = 8, SIDE = 16, CLASSES = 10 };

static char dir[256];

static void path_in_dir(char *out, size_t out_len, const char *name) {
    snprintf(out, out_len, "%s/%s", dir, name);
}

static void make_model(cbd_model *m, cbd_backend *be, const char *arch, int classes,
                       cbd_head_kind head, uint64_t seed) {
    cbd_model_config cfg;
    char err[512];
    cbd_model_config_default(&cfg);
    snprintf(cfg.arch, sizeof cfg.arch, "%s", arch);
    cfg.in_channels = 1;
    cfg.classes = classes;
    cfg.head = head;
    if (cbd_model_create(m, be, &cfg, err, sizeof err) != 0) {
        fprintf(stderr, "cannot create %s: %s\n", arch, err);
        exit(1);
    }
    cbd_model_initialize(m, seed);
}

/* A fixed batch in backend memory. */
typedef struct {
    cbd_tensor x;
    int *labels;
} batch;

static batch make_batch(cbd_backend *be) {
    cbd_shape4 s = {BATCH, 1, SIDE, SIDE};
    float *host = cbd_malloc(cbd_shape4_count(s) * sizeof(float));
    int labels[BATCH];
    test_fill_normal(host, cbd_shape4_count(s), 1.0f, 11);
    for (int i = 0; i < BATCH; i++) labels[i] = (i * 3) % CLASSES;
    batch b;
    b.x = cbd_tensor_make(be->ops.alloc(be, cbd_shape4_count(s) * sizeof(float)), s);
    be->ops.upload(be, b.x.data, host, cbd_shape4_count(s) * sizeof(float));
    b.labels = be->ops.alloc(be, sizeof labels);
    be->ops.upload(be, b.labels, labels, sizeof labels);
    free(host);
    return b;
}

static void train_steps(cbd_model *m, const batch *b, int steps) {
    const cbd_sgd_config sgd = {.momentum = 0.9f, .weight_decay = 5e-4f, .nesterov = 0,
                                .decay_norm_and_bias = 0};
    for (int s = 0; s < steps; s++) {
        cbd_model_forward(m, &b->x, 1);
        cbd_cross_entropy(m->be, m->logits, b->labels, BATCH, m->cfg.classes, 1.0f, m->d_logits);
        cbd_model_backward(m);
        cbd_sgd_step(m->be, &m->params, &sgd, 0.1f);
    }
}

/* Host copy of a whole backend buffer of the table. */
static float *host_copy(const cbd_params *p, const float *src) {
    float *h = cbd_malloc(p->total * sizeof(float));
    p->be->ops.download(p->be, h, src, p->total * sizeof(float));
    return h;
}

static float *eval_logits(cbd_model *m, const batch *b) {
    size_t n = (size_t)BATCH * m->cfg.classes;
    float *h = cbd_malloc(n * sizeof(float));
    cbd_model_forward(m, &b->x, 0);
    m->be->ops.download(m->be, h, m->logits, n * sizeof(float));
    return h;
}

static int any_nonzero(const float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (x[i] != 0.0f) return 1;
    return 0;
}

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Number of "*.tmp.*" entries left in the test directory. */
static int temporaries_left(void) {
    int n = 0;
    DIR *d = opendir(dir);
    if (!d) return -1;
    for (struct dirent *e; (e = readdir(d));)
        if (strstr(e->d_name, ".tmp.")) n++;
    closedir(d);
    return n;
}

static void copy_prefix(const char *from, const char *to, long bytes) {
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    CBD_ASSERT(in && out, "cannot copy %s to %s", from, to);
    for (long i = 0; i < bytes; i++) {
        int ch = fgetc(in);
        if (ch == EOF) break;
        fputc(ch, out);
    }
    fclose(in);
    fclose(out);
}

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Every store call closes the files it opened, on success and on every
 * refusal (files are opened with H5F_CLOSE_SEMI, so an object left open
 * inside a file would also have made its close fail). */
static void check_no_open_files(const char *after) {
    ssize_t open_objects = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
    CHECK(open_objects == 0, "after %s: %zd HDF5 objects still open", after, open_objects);
}

static int save(const char *path, const cbd_model *m, int64_t epoch, char *err, size_t err_len) {
    cbd_checkpoint_meta meta;
    cbd_checkpoint_meta_init(&meta, &m->cfg);
    meta.epoch = epoch;
    meta.step = 2 * epoch;
    meta.seed = 1;
    meta.config_digest = cbd_fnv1a64_str("test config");
    return cbd_checkpoint_save(path, &m->params, &meta, err, err_len);
}

/* ---- (1) round trip ---------------------------------------------------------- */

static void compare_tables(const cbd_params *a, const cbd_params *b) {
    CHECK(a->count == b->count && a->total == b->total, "tables differ in layout");
    float *va = host_copy(a, a->values), *vb = host_copy(b, b->values);
    float *ma = host_copy(a, a->momentum), *mb = host_copy(b, b->momentum);
    int value_diffs = 0, momentum_diffs = 0;
    for (int i = 0; i < a->count; i++) {
        const cbd_param_entry *e = &a->entries[i];
        if (memcmp(va + e->offset, vb + e->offset, e->count * sizeof(float)) != 0 && value_diffs++ < 3)
            fprintf(stderr, "  values of %s differ\n", e->name);
        if (cbd_param_is_trainable(e->kind) &&
            memcmp(ma + e->offset, mb + e->offset, e->count * sizeof(float)) != 0 && momentum_diffs++ < 3)
            fprintf(stderr, "  momentum of %s differs\n", e->name);
    }
    CHECK(value_diffs == 0, "%d entries differ in value after the round trip", value_diffs);
    CHECK(momentum_diffs == 0, "%d entries differ in momentum after the round trip", momentum_diffs);
    free(va);
    free(vb);
    free(ma);
    free(mb);
}

/* The trained model's state is not trivial: momentum and running stats moved. */
static void check_nontrivial(const cbd_model *m) {
    int mean = cbd_params_find(&m->params, "stage1/block1/bn1/running_mean");
    CHECK(mean >= 0, "no entry stage1/block1/bn1/running_mean");
    float *v = host_copy(&m->params, m->params.values);
    float *mom = host_copy(&m->params, m->params.momentum);
    if (mean >= 0) {
        const cbd_param_entry *e = &m->params.entries[mean];
        CHECK(any_nonzero(v + e->offset, e->count), "running mean is still zero after training");
    }
    CHECK(any_nonzero(mom, m->params.total), "momentum is still zero after training");
    free(v);
    free(mom);
}

static void test_round_trip(cbd_backend *be, const batch *b, const char *path) {
    char err[1024];
    cbd_model a, fresh;
    make_model(&a, be, "resnet20", CLASSES, CBD_HEAD_COSINE, 1);
    train_steps(&a, b, 2);
    check_nontrivial(&a);
    CHECK(save(path, &a, 3, err, sizeof err) == 0, "save failed: %s", err);

    make_model(&fresh, be, "resnet20", CLASSES, CBD_HEAD_COSINE, 2);
    cbd_checkpoint_meta meta;
    int loaded = cbd_checkpoint_load(path, &fresh.cfg, &fresh.params, &meta, err, sizeof err);
    CHECK(loaded == 0, "load failed: %s", err);
    CHECK(meta.epoch == 3 && meta.step == 6 && meta.seed == 1, "meta epoch/step/seed %lld/%lld/%llu",
          (long long)meta.epoch, (long long)meta.step, (unsigned long long)meta.seed);
    CHECK(meta.config_digest == cbd_fnv1a64_str("test config"), "config digest changed");
    CHECK(strcmp(meta.arch, "resnet20") == 0 && meta.classes == CLASSES && meta.in_channels == 1 &&
              meta.head == CBD_HEAD_COSINE && meta.projection_dim == 0,
          "model description changed: %s %d %d", meta.arch, meta.classes, meta.in_channels);
    CHECK(strcmp(meta.program_version, CBD_VERSION) == 0, "program_version '%s'", meta.program_version);
    compare_tables(&a.params, &fresh.params);

    float *la = eval_logits(&a, b), *lb = eval_logits(&fresh, b);
    CHECK(memcmp(la, lb, (size_t)BATCH * CLASSES * sizeof(float)) == 0,
          "eval logits differ after the round trip (first: %.9g vs %.9g)", (double)la[0], (double)lb[0]);
    free(la);
    free(lb);

    cbd_checkpoint_meta only;
    CHECK(cbd_checkpoint_read_meta(path, &only, err, sizeof err) == 0 && only.epoch == 3,
          "read_meta: %s", err);
    cbd_model_free(&a);
    cbd_model_free(&fresh);
}

/* ---- (2) mismatched models ------------------------------------------------------- */

/* Loads `path` into a fresh model; the load must fail with every needle in err. */
static void expect_refused(cbd_backend *be, const char *path, const char *arch, int classes,
                           cbd_head_kind head, int check_config, const char *const *needles) {
    char err[1024] = "";
    cbd_model m;
    make_model(&m, be, arch, classes, head, 5);
    float *before = host_copy(&m.params, m.params.values);
    int rc = cbd_checkpoint_load(path, check_config ? &m.cfg : NULL, &m.params, NULL, err, sizeof err);
    CHECK(rc != 0, "loading %s into %s/%d classes succeeded", path, arch, classes);
    CHECK(strncmp(err, path, strlen(path)) == 0, "message does not begin with the path: %s", err);
    for (int i = 0; needles[i]; i++)
        CHECK(strstr(err, needles[i]) != NULL, "message lacks '%s': %s", needles[i], err);
    check_no_open_files(path);
    float *after = host_copy(&m.params, m.params.values);
    CHECK(memcmp(before, after, m.params.total * sizeof(float)) == 0,
          "a refused load changed the model's values");
    free(before);
    free(after);
    cbd_model_free(&m);
}

static void test_mismatch(cbd_backend *be, const char *path) {
    const char *arch[] = {"checkpoint is resnet20", "this model is resnet32", NULL};
    expect_refused(be, path, "resnet32", CLASSES, CBD_HEAD_COSINE, 1, arch);
    const char *classes[] = {"with 10 classes", "with 7 classes", NULL};
    expect_refused(be, path, "resnet20", 7, CBD_HEAD_COSINE, 1, classes);
    /* Without the configuration check the table itself still refuses. */
    const char *missing[] = {"missing dataset 'stage1/block4/", NULL};
    expect_refused(be, path, "resnet32", CLASSES, CBD_HEAD_COSINE, 0, missing);
    const char *shape[] = {"classifier/weight", "[10, 64]", "[7, 64]", NULL};
    expect_refused(be, path, "resnet20", 7, CBD_HEAD_COSINE, 0, shape);
}

static void test_extra_dataset(cbd_backend *be, const char *path) {
    char err[1024];
    cbd_model linear;
    make_model(&linear, be, "resnet20", CLASSES, CBD_HEAD_LINEAR, 3);
    CHECK(save(path, &linear, 1, err, sizeof err) == 0, "save failed: %s", err);
    cbd_model_free(&linear);
    const char *extra[] = {"unexpected dataset 'classifier/bias'", NULL};
    expect_refused(be, path, "resnet20", CLASSES, CBD_HEAD_COSINE, 0, extra);
    const char *head[] = {"linear head", "cosine head", NULL};
    expect_refused(be, path, "resnet20", CLASSES, CBD_HEAD_COSINE, 1, head);
}

/* ---- (3), (4) damaged files ---------------------------------------------------------- */

static void test_truncated(cbd_backend *be, const char *good, const char *cut) {
    char err[1024];
    cbd_checkpoint_meta meta;
    copy_prefix(good, cut, file_size(good) / 2);
    const char *needles[] = {"truncated or corrupt", NULL};
    expect_refused(be, cut, "resnet20", CLASSES, CBD_HEAD_COSINE, 1, needles);
    CHECK(cbd_checkpoint_read_meta(cut, &meta, err, sizeof err) != 0 &&
              strstr(err, "truncated or corrupt"),
          "read_meta of a truncated file: %s", err);
}

/* File offset and size of the single chunk of dataset `name`. */
static int chunk_location(const char *path, const char *name, haddr_t *addr, hsize_t *size) {
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t dset = file >= 0 ? H5Dopen2(file, name, H5P_DEFAULT) : -1;
    unsigned mask = 0;
    const hsize_t origin[CBD_PARAM_MAX_DIMS] = {0};
    herr_t rc = dset >= 0 ? H5Dget_chunk_info_by_coord(dset, origin, &mask, addr, size) : -1;
    if (dset >= 0) H5Dclose(dset);
    if (file >= 0) H5Fclose(file);
    return rc < 0 ? -1 : 0;
}

static void flip_bytes(const char *path, long at, int count) {
    int fd = open(path, O_RDWR);
    CBD_ASSERT(fd >= 0, "cannot open %s", path);
    for (int i = 0; i < count; i++) {
        unsigned char byte;
        CBD_ASSERT(pread(fd, &byte, 1, at + i) == 1, "cannot read %s", path);
        byte ^= 0x5a;
        CBD_ASSERT(pwrite(fd, &byte, 1, at + i) == 1, "cannot write %s", path);
    }
    close(fd);
}

static void test_flipped(cbd_backend *be, const char *good, const char *bad) {
    const char *name = "stage3/block2/conv1/weight";
    haddr_t addr = 0;
    hsize_t size = 0;
    copy_prefix(good, bad, file_size(good));
    CHECK(chunk_location(bad, name, &addr, &size) == 0 && size > 64, "cannot locate the chunk of %s",
          name);
    flip_bytes(bad, (long)(addr + size / 2), 4);
    const char *needles[] = {"checksum", name, NULL};
    expect_refused(be, bad, "resnet20", CLASSES, CBD_HEAD_COSINE, 1, needles);
}

static void test_not_hdf5(cbd_backend *be) {
    char text[300], missing[300];
    path_in_dir(text, sizeof text, "notes.txt");
    path_in_dir(missing, sizeof missing, "missing.ckpt.h5");
    FILE *f = fopen(text, "w");
    CBD_ASSERT(f, "cannot write %s", text);
    fputs("this is not a checkpoint\n", f);
    fclose(f);
    const char *not_hdf5[] = {"not an HDF5 file", NULL};
    expect_refused(be, text, "resnet20", CLASSES, CBD_HEAD_COSINE, 1, not_hdf5);
    const char *absent[] = {"No such file", NULL};
    expect_refused(be, missing, "resnet20", CLASSES, CBD_HEAD_COSINE, 1, absent);
}

/* ---- (5), (6) atomic saving --------------------------------------------------------- */

static void test_save_failures(cbd_backend *be) {
    char err[1024], nowhere[300], blocked[300];
    cbd_model m;
    make_model(&m, be, "resnet20", CLASSES, CBD_HEAD_COSINE, 4);

    path_in_dir(nowhere, sizeof nowhere, "no/such/dir/a.ckpt.h5");
    CHECK(save(nowhere, &m, 1, err, sizeof err) != 0, "saving into a missing directory succeeded");
    CHECK(strstr(err, nowhere) && strstr(err, "No such file or directory"), "message: %s", err);

    /* The rename fails (the target is a directory): the temporary must go. */
    path_in_dir(blocked, sizeof blocked, "blocked.ckpt.h5");
    CHECK(mkdir(blocked, 0755) == 0, "cannot create %s: %s", blocked, strerror(errno));
    CHECK(save(blocked, &m, 1, err, sizeof err) != 0, "saving over a directory succeeded");
    CHECK(strstr(err, "cannot rename") != NULL, "message: %s", err);
    CHECK(temporaries_left() == 0, "%d temporary files left after failed saves", temporaries_left());
    rmdir(blocked);
    cbd_model_free(&m);
}

static void test_atomic_replace(cbd_backend *be, const char *path) {
    char err[1024], tmp[400];
    struct stat old_st, new_st;
    cbd_model m;
    cbd_checkpoint_meta meta;
    make_model(&m, be, "resnet20", CLASSES, CBD_HEAD_COSINE, 6);
    CHECK(save(path, &m, 1, err, sizeof err) == 0, "first save: %s", err);
    CHECK(stat(path, &old_st) == 0, "no file after the first save");
    CHECK(save(path, &m, 2, err, sizeof err) == 0, "second save: %s", err);
    CHECK(stat(path, &new_st) == 0, "no file after the second save");
    CHECK(old_st.st_ino != new_st.st_ino, "the second save rewrote the file in place");
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    CHECK(!file_exists(tmp), "temporary file %s left behind", tmp);
    CHECK(temporaries_left() == 0, "temporary files left in %s", dir);
    CHECK(cbd_checkpoint_read_meta(path, &meta, err, sizeof err) == 0 && meta.epoch == 2,
          "the replaced file does not hold the second save (epoch %lld): %s", (long long)meta.epoch, err);
    cbd_model_free(&m);
}

/* ---- main ------------------------------------------------------------------------ */

static void remove_dir(void) {
    DIR *d = opendir(dir);
    if (!d) return;
    char path[600];
    for (struct dirent *e; (e = readdir(d));) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

int main(void) {
    const char *base = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/cbd_test_checkpoint.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir)) {
        fprintf(stderr, "cannot create a temporary directory: %s\n", strerror(errno));
        return 1;
    }
    char good[300], other[300], cut[300], flipped[300], replaced[300];
    path_in_dir(good, sizeof good, "a.ckpt.h5");
    path_in_dir(other, sizeof other, "linear.ckpt.h5");
    path_in_dir(cut, sizeof cut, "cut.ckpt.h5");
    path_in_dir(flipped, sizeof flipped, "flipped.ckpt.h5");
    path_in_dir(replaced, sizeof replaced, "replaced.ckpt.h5");

    cbd_backend *be = test_cpu_backend();
    batch b = make_batch(be);
    test_round_trip(be, &b, good);
    check_no_open_files("the round trip");
    test_mismatch(be, good);
    test_extra_dataset(be, other);
    test_truncated(be, good, cut);
    test_flipped(be, good, flipped);
    test_not_hdf5(be);
    test_save_failures(be);
    check_no_open_files("failed saves");
    test_atomic_replace(be, replaced);
    check_no_open_files("the atomic replace");

    be->ops.release(be, b.x.data);
    be->ops.release(be, b.labels);
    cbd_backend_destroy(be);
    remove_dir();
    return test_finish("checkpoint");
}
