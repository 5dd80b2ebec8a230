/* cbd-ckpt: inspect, verify and create checkpoints (store/checkpoint.h). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/backend.h"
#include "nn/log.h"
#include "tools/cli.h"
#include "nn/model.h"
#include "store/checkpoint.h"
#include "store/digest.h"
#include "store/fsutil.h"
#include "store/torch_export.h"

static const char usage_text[] =
    "usage: cbd-ckpt info FILE\n"
    "       cbd-ckpt verify FILE\n"
    "       cbd-ckpt diff FILE_A FILE_B\n"
    "       cbd-ckpt init --arch NAME --classes N --in-channels N [options] OUT\n"
    "       cbd-ckpt export FILE OUT.safetensors\n"
    "       cbd-ckpt logits [--size S] FILE IMAGES\n"
    "       cbd-ckpt --help\n"
    "\n"
    "commands:\n"
    "  info    print the metadata and every dataset (name, kind, shape, values)\n"
    "  verify  build the model the file describes (cpu), load the checkpoint into it\n"
    "          and check that every value and momentum is finite\n"
    "  diff    compare two checkpoints of the same model value by value (weights,\n"
    "          buffers, momentum); exit 0 when every bit is equal, 1 otherwise\n"
    "  init    save a freshly initialised model to OUT\n"
    "  export  write the weights and batch-norm statistics as safetensors with\n"
    "          PyTorch's names: an ImageNet-style ResNet (resnet18..152) with a linear\n"
    "          head loads into torchvision.models.resnetNN(num_classes=C) with\n"
    "          load_state_dict(strict=True) and gives the same logits; CIFAR ResNets\n"
    "          use the same names (conv1, bn1, layerS.B.convK/bnK, fc), the cosine\n"
    "          head is cosine.weight + cosine.scale, the projection projection.*;\n"
    "          cosine logits in PyTorch, with model.fc = Identity() giving e:\n"
    "            cosine.scale * F.normalize(e) @ F.normalize(cosine.weight).T\n"
    "          (names and the PyTorch code for each case: docs/export.md)\n"
    "  logits  run the model on IMAGES (raw float32 little-endian, N x C x S x S,\n"
    "          already normalised; C the model's input channels, S from --size or\n"
    "          the checkpoint's recorded input size) and print one line of logits\n"
    "          per image\n"
    "\n"
    "options of init:\n"
    "  --arch NAME            one of: %s\n"
    "  --classes N            number of classes (at least 2)\n"
    "  --in-channels N        channels of the input images\n"
    "  --seed N               initialisation seed (default 1)\n"
    "  --head cosine|linear   classifier head (default cosine)\n"
    "  --projection-dim N     projection h: d -> N before the head (default 0: none)\n"
    "\n"
    "options of logits:\n"
    "  --size S               side of the square input images\n"
    "\n"
    "exit status: 0 ok; 1 failure (non-finite values, cannot write); 2 bad usage or a\n"
    "file that is refused (missing, not HDF5, truncated or corrupt, inconsistent)\n";

/* ---- info ---------------------------------------------------------------------- */

static void print_meta(const char *path, const cbd_checkpoint_meta *m) {
    char model[192], digest[17];
    cbd_checkpoint_describe(model, sizeof model, m);
    cbd_digest_hex(m->config_digest, digest);
    printf("file            %s\n", path);
    printf("format          %s version %d, written by cbd %s\n", CBD_CHECKPOINT_FORMAT,
           CBD_CHECKPOINT_FORMAT_VERSION, m->program_version);
    printf("model           %s\n", model);
    printf("arch            %s\n", m->arch);
    printf("in_channels     %d\n", m->in_channels);
    printf("classes         %d\n", m->classes);
    printf("head            %s (cosine scale %g)\n", m->head == CBD_HEAD_LINEAR ? "linear" : "cosine",
           (double)m->cosine_scale);
    printf("projection_dim  %d%s\n", m->projection_dim,
           m->projection_dim > 0 ? (m->projection_relu ? " (relu)" : " (no relu)") : "");
    printf("epoch           %" PRId64 "\n", m->epoch);
    printf("step            %" PRId64 "\n", m->step);
    printf("seed            %" PRIu64 "\n", m->seed);
    printf("config_digest   %s\n", digest);
    cbd_digest_hex(m->params_digest, digest);
    printf("params_digest   %s\n", m->params_digest ? digest : "(not recorded)");
    if (m->input_size > 0) {
        printf("input           %d x %d, mean", m->input_size, m->input_size);
        for (int k = 0; k < m->in_channels && k < 3; k++) printf(" %g", (double)m->input_mean[k]);
        printf(", std");
        for (int k = 0; k < m->in_channels && k < 3; k++) printf(" %g", (double)m->input_std[k]);
        printf("\n");
    }
}

static void format_shape(char *out, size_t out_len, const cbd_checkpoint_dataset *d) {
    size_t used = (size_t)snprintf(out, out_len, "[");
    for (int k = 0; k < d->ndim && used < out_len; k++)
        used += (size_t)snprintf(out + used, out_len - used, "%s%" PRId64, k ? ", " : "", d->shape[k]);
    if (used < out_len) snprintf(out + used, out_len - used, "]");
}

static int is_optimizer_state(const cbd_checkpoint_dataset *d) {
    return strcmp(d->kind, "momentum") == 0 ||
           strncmp(d->name, CBD_CHECKPOINT_MOMENTUM_GROUP "/", strlen(CBD_CHECKPOINT_MOMENTUM_GROUP "/")) == 0;
}

static int is_buffer(const cbd_checkpoint_dataset *d) {
    return strcmp(d->kind, "running_mean") == 0 || strcmp(d->kind, "running_var") == 0;
}

static void print_table(const cbd_checkpoint_dataset *list, int n) {
    int width = 4;
    for (int i = 0; i < n; i++)
        if ((int)strlen(list[i].name) > width) width = (int)strlen(list[i].name);
    int64_t trainable = 0, buffers = 0, optimizer = 0;
    printf("\n%-*s  %-12s  %-18s  %10s\n", width, "name", "kind", "shape", "count");
    for (int i = 0; i < n; i++) {
        const cbd_checkpoint_dataset *d = &list[i];
        char shape[96];
        format_shape(shape, sizeof shape, d);
        printf("%-*s  %-12s  %-18s  %10" PRId64 "\n", width, d->name, d->kind[0] ? d->kind : "-", shape,
               d->count);
        if (strcmp(d->kind, "run") == 0) continue; /* the run's texts */
        if (is_optimizer_state(d)) optimizer += d->count;
        else if (is_buffer(d)) buffers += d->count;
        else trainable += d->count;
    }
    printf("\ndatasets          %d\n", n);
    printf("parameters        %" PRId64 " trainable + %" PRId64 " buffer values = %" PRId64 "\n",
           trainable, buffers, trainable + buffers);
    printf("optimizer state   %" PRId64 " values\n", optimizer);
}

static int cmd_info(const char *path) {
    char err[1024];
    cbd_checkpoint_meta meta;
    cbd_checkpoint_dataset *list = NULL;
    int n = 0;
    if (cbd_checkpoint_read_meta(path, &meta, err, sizeof err) != 0 ||
        cbd_checkpoint_list(path, &list, &n, err, sizeof err) != 0)
        cbd_fail(CBD_EXIT_USAGE, "%s", err);
    print_meta(path, &meta);
    print_table(list, n);
    free(list);
    return CBD_EXIT_OK;
}

/* ---- verify -------------------------------------------------------------------- */

/* Counts non-finite values of one tensor; reports the tensor when any. */
static size_t check_finite(const char *path, const char *what, const char *name, const float *x,
                           size_t n) {
    size_t bad = 0, first = 0;
    for (size_t k = 0; k < n; k++)
        if (!isfinite(x[k]) && bad++ == 0) first = k;
    if (bad)
        fprintf(stderr, "cbd: error: %s: %s of '%s' has %zu non-finite value%s (first at index %zu: %g)\n",
                path, what, name, bad, bad == 1 ? "" : "s", first, (double)x[first]);
    return bad;
}

static size_t check_table_finite(const char *path, const cbd_params *p) {
    float *values = cbd_malloc(p->total * sizeof(float));
    float *momentum = cbd_malloc(p->total * sizeof(float));
    p->be->ops.download(p->be, values, p->values, p->total * sizeof(float));
    p->be->ops.download(p->be, momentum, p->momentum, p->total * sizeof(float));
    size_t bad = 0;
    for (int i = 0; i < p->count; i++) {
        const cbd_param_entry *e = &p->entries[i];
        bad += check_finite(path, "value", e->name, values + e->offset, e->count);
        if (cbd_param_is_trainable(e->kind))
            bad += check_finite(path, "momentum", e->name, momentum + e->offset, e->count);
    }
    free(values);
    free(momentum);
    return bad;
}

/* Builds the model a checkpoint describes on be and loads the file into it
 * (exit 2 when the file is refused). */
static void load_described_model(const char *path, cbd_backend *be, cbd_model *m, cbd_checkpoint_meta *meta,
                                 char *model_text, size_t text_len) {
    char err[1024];
    cbd_model_config cfg;
    if (cbd_checkpoint_read_meta(path, meta, err, sizeof err) != 0) cbd_fail(CBD_EXIT_USAGE, "%s", err);
    cbd_checkpoint_meta_to_config(meta, &cfg);
    cbd_checkpoint_describe(model_text, text_len, meta);
    if (cbd_model_create(m, be, &cfg, err, sizeof err) != 0)
        cbd_fail(CBD_EXIT_USAGE, "%s: cannot build the model it describes (%s): %s", path, model_text, err);
    if (cbd_checkpoint_load(path, &cfg, &m->params, NULL, err, sizeof err) != 0)
        cbd_fail(CBD_EXIT_USAGE, "%s", err);
}

static cbd_backend *cpu_backend(void) {
    char err[256];
    cbd_backend *be = cbd_backend_create("cpu", err, sizeof err);
    if (!be) cbd_fail(CBD_EXIT_FAILURE, "cannot create the cpu backend: %s", err);
    return be;
}

static int cmd_diff(const char *path_a, const char *path_b) {
    char text_a[192], text_b[192];
    cbd_checkpoint_meta meta_a, meta_b;
    cbd_model a, b;
    cbd_backend *be = cpu_backend();
    load_described_model(path_a, be, &a, &meta_a, text_a, sizeof text_a);
    load_described_model(path_b, be, &b, &meta_b, text_b, sizeof text_b);
    if (strcmp(text_a, text_b) != 0)
        cbd_fail(CBD_EXIT_USAGE, "%s is %s, %s is %s: not the same model", path_a, text_a, path_b, text_b);
    int differing = 0;
    for (int i = 0; i < a.params.count; i++) {
        const cbd_param_entry *e = &a.params.entries[i];
        const float *tables[2][2] = {{cbd_param_value(&a.params, i), cbd_param_value(&b.params, i)},
                                     {cbd_param_momentum(&a.params, i), cbd_param_momentum(&b.params, i)}};
        for (int t = 0; t < 2; t++) {
            if (t == 1 && !cbd_param_is_trainable(e->kind)) continue;
            if (memcmp(tables[t][0], tables[t][1], e->count * sizeof(float)) == 0) continue;
            double worst = 0.0;
            for (size_t k = 0; k < e->count; k++)
                worst = fmax(worst, fabs((double)tables[t][0][k] - tables[t][1][k]));
            if (differing < 20)
                printf("differs: %s%s (max |a - b| %.3g)\n", t ? "optimizer/momentum/" : "", e->name, worst);
            differing++;
        }
    }
    if (meta_a.epoch != meta_b.epoch || meta_a.step != meta_b.step)
        printf("note: epoch/step %lld/%lld vs %lld/%lld\n", (long long)meta_a.epoch, (long long)meta_a.step,
               (long long)meta_b.epoch, (long long)meta_b.step);
    cbd_model_free(&a);
    cbd_model_free(&b);
    cbd_backend_destroy(be);
    if (differing) {
        printf("%d datasets differ\n", differing);
        return CBD_EXIT_FAILURE;
    }
    printf("identical: every weight, buffer and momentum of %s\n", text_a);
    return CBD_EXIT_OK;
}

static int cmd_verify(const char *path) {
    char model_text[192];
    cbd_checkpoint_meta meta;
    cbd_model m;
    cbd_backend *be = cpu_backend();
    load_described_model(path, be, &m, &meta, model_text, sizeof model_text);
    size_t bad = check_table_finite(path, &m.params);
    size_t trainable = cbd_params_trainable_count(&m.params);
    cbd_model_free(&m);
    cbd_backend_destroy(be);
    if (bad) {
        fprintf(stderr, "cbd: error: %s: %zu non-finite values\n", path, bad);
        return CBD_EXIT_FAILURE;
    }
    printf("ok: %s: %s, %zu trainable parameters, every value and momentum finite\n", path, model_text,
           trainable);
    return CBD_EXIT_OK;
}

/* ---- init ------------------------------------------------------------------------ */

typedef struct {
    cbd_model_config cfg;
    uint64_t seed;
    const char *out;
} init_args;

/* The value of an option at argv[*i]; moves *i past it. */
static const char *option_value(int argc, char **argv, int *i) {
    if (*i + 1 >= argc) cbd_usage_error("%s needs a value", argv[*i]);
    *i += 1;
    return argv[*i];
}

static void parse_init(int argc, char **argv, init_args *a) {
    int have_arch = 0, have_classes = 0, have_channels = 0;
    cbd_model_config_default(&a->cfg);
    a->seed = 1;
    a->out = NULL;
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--arch") == 0) {
            snprintf(a->cfg.arch, sizeof a->cfg.arch, "%s", option_value(argc, argv, &i));
            have_arch = 1;
        } else if (strcmp(arg, "--classes") == 0) {
            a->cfg.classes = (int)cbd_parse_integer(arg, option_value(argc, argv, &i), 2, 1 << 24);
            have_classes = 1;
        } else if (strcmp(arg, "--in-channels") == 0) {
            a->cfg.in_channels = (int)cbd_parse_integer(arg, option_value(argc, argv, &i), 1, 1 << 16);
            have_channels = 1;
        } else if (strcmp(arg, "--seed") == 0) {
            a->seed = (uint64_t)cbd_parse_integer(arg, option_value(argc, argv, &i), 0, INT64_MAX);
        } else if (strcmp(arg, "--projection-dim") == 0) {
            a->cfg.projection_dim = (int)cbd_parse_integer(arg, option_value(argc, argv, &i), 0, 1 << 20);
        } else if (strcmp(arg, "--head") == 0) {
            const char *head = option_value(argc, argv, &i);
            if (strcmp(head, "cosine") == 0) a->cfg.head = CBD_HEAD_COSINE;
            else if (strcmp(head, "linear") == 0) a->cfg.head = CBD_HEAD_LINEAR;
            else cbd_usage_error("--head: expected 'cosine' or 'linear', got '%s'", head);
        } else if (arg[0] == '-' && arg[1] != '\0') {
            cbd_usage_error("init: unknown option '%s'", arg);
        } else if (a->out) {
            cbd_usage_error("init: more than one output file ('%s' and '%s')", a->out, arg);
        } else {
            a->out = arg;
        }
    }
    if (!have_arch || !have_classes || !have_channels)
        cbd_usage_error("init needs --arch, --classes and --in-channels");
    if (!a->out) cbd_usage_error("init needs an output file");
}

static int cmd_init(int argc, char **argv) {
    init_args a;
    char err[1024], model_text[192], settings[256];
    cbd_model m;
    cbd_checkpoint_meta meta;
    parse_init(argc, argv, &a);
    cbd_backend *be = cbd_backend_create("cpu", err, sizeof err);
    if (!be) cbd_fail(CBD_EXIT_FAILURE, "cannot create the cpu backend: %s", err);
    if (cbd_model_create(&m, be, &a.cfg, err, sizeof err) != 0) cbd_usage_error("init: %s", err);
    cbd_model_initialize(&m, a.seed);
    cbd_checkpoint_meta_init(&meta, &a.cfg);
    meta.seed = a.seed;
    cbd_checkpoint_describe(model_text, sizeof model_text, &meta);
    snprintf(settings, sizeof settings, "cbd-ckpt init: %s, seed %" PRIu64, model_text, a.seed);
    meta.config_digest = cbd_fnv1a64_str(settings);
    int rc = cbd_checkpoint_save(a.out, &m.params, &meta, err, sizeof err);
    size_t trainable = cbd_params_trainable_count(&m.params);
    cbd_model_free(&m);
    cbd_backend_destroy(be);
    if (rc != 0) cbd_fail(CBD_EXIT_FAILURE, "%s", err);
    printf("wrote %s: %s, %zu trainable parameters, seed %" PRIu64 "\n", a.out, model_text, trainable,
           a.seed);
    return CBD_EXIT_OK;
}

/* ---- export ------------------------------------------------------------------------ */

static int cmd_export(const char *path, const char *out) {
    char model_text[192], err[1024];
    cbd_checkpoint_meta meta;
    cbd_model m;
    cbd_backend *be = cpu_backend();
    load_described_model(path, be, &m, &meta, model_text, sizeof model_text);
    int rc = cbd_torch_export(out, &m.params, &meta, err, sizeof err);
    cbd_model_free(&m);
    cbd_backend_destroy(be);
    if (rc == CBD_TORCH_EXPORT_REFUSED) cbd_fail(CBD_EXIT_USAGE, "%s (exporting %s)", err, path);
    if (rc != 0) cbd_fail(CBD_EXIT_FAILURE, "%s", err);
    printf("wrote %s: %s, PyTorch names (%s)\n", out, model_text,
           cbd_resnet_arch_find(meta.arch)->family == CBD_RESNET_IMAGENET ? "torchvision's" : "CIFAR layout");
    return CBD_EXIT_OK;
}

/* ---- logits ------------------------------------------------------------------------ */

#define LOGITS_BATCH 16

static int cmd_logits(int argc, char **argv) {
    const char *path = NULL, *images_path = NULL;
    int size = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--size") == 0) size = (int)cbd_parse_integer("--size", option_value(argc, argv, &i), 16, 1 << 14);
        else if (argv[i][0] == '-' && argv[i][1] != '\0') cbd_usage_error("logits: unknown option '%s'", argv[i]);
        else if (!path) path = argv[i];
        else if (!images_path) images_path = argv[i];
        else cbd_usage_error("logits takes a checkpoint and an images file");
    }
    if (!images_path) cbd_usage_error("logits takes a checkpoint and an images file");
    char model_text[192], err[1024];
    cbd_checkpoint_meta meta;
    cbd_model m;
    cbd_backend *be = cpu_backend();
    load_described_model(path, be, &m, &meta, model_text, sizeof model_text);
    if (size == 0) size = meta.input_size;
    if (size == 0) cbd_usage_error("logits: %s records no input size; give --size", path);
    size_t bytes = 0;
    char *raw = cbd_read_file(images_path, &bytes, err, sizeof err);
    if (!raw) cbd_fail(CBD_EXIT_USAGE, "%s", err);
    const size_t image_floats = (size_t)meta.in_channels * size * size;
    if (bytes == 0 || bytes % (image_floats * sizeof(float)) != 0)
        cbd_fail(CBD_EXIT_USAGE, "%s: %zu bytes is not a whole number of %d x %d x %d float32 images", images_path,
                 bytes, meta.in_channels, size, size);
    const int count = (int)(bytes / (image_floats * sizeof(float)));
    float *images = cbd_malloc(bytes), *logits = cbd_malloc((size_t)LOGITS_BATCH * meta.classes * sizeof(float));
    memcpy(images, raw, bytes);
    free(raw);
    float *x = be->ops.alloc(be, (size_t)LOGITS_BATCH * image_floats * sizeof(float));
    for (int first = 0; first < count; first += LOGITS_BATCH) {
        const int n = count - first < LOGITS_BATCH ? count - first : LOGITS_BATCH;
        be->ops.upload(be, x, images + (size_t)first * image_floats, (size_t)n * image_floats * sizeof(float));
        cbd_tensor t = {x, n, meta.in_channels, size, size};
        cbd_model_forward(&m, &t, 0);
        be->ops.download(be, logits, m.logits, (size_t)n * meta.classes * sizeof(float));
        for (int r = 0; r < n; r++)
            for (int c = 0; c < meta.classes; c++)
                printf("%.9g%c", (double)logits[(size_t)r * meta.classes + c], c + 1 < meta.classes ? ' ' : '\n');
    }
    be->ops.release(be, x);
    free(images);
    free(logits);
    cbd_model_free(&m);
    cbd_backend_destroy(be);
    return CBD_EXIT_OK;
}

/* ---- main -------------------------------------------------------------------------- */

int main(int argc, char **argv) {
    cbd_cli_init(argv[0]);
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf(usage_text, cbd_resnet_arch_names());
            return CBD_EXIT_OK;
        }
    if (argc < 2) cbd_usage_error("missing command (info, verify, diff, init, export or logits)");
    const char *cmd = argv[1];
    if (strcmp(cmd, "init") == 0) return cmd_init(argc, argv);
    if (strcmp(cmd, "logits") == 0) return cmd_logits(argc, argv);
    if (strcmp(cmd, "export") == 0) {
        if (argc != 4) cbd_usage_error("export takes a checkpoint and an output file");
        if (argv[2][0] == '-' || argv[3][0] == '-') cbd_usage_error("export takes no options");
        return cmd_export(argv[2], argv[3]);
    }
    if (strcmp(cmd, "diff") == 0) {
        if (argc != 4) cbd_usage_error("diff takes exactly two files");
        return cmd_diff(argv[2], argv[3]);
    }
    if (strcmp(cmd, "info") != 0 && strcmp(cmd, "verify") != 0)
        cbd_usage_error("unknown command '%s' (expected info, verify, diff, init, export or logits)", cmd);
    if (argc != 3) cbd_usage_error("%s takes exactly one FILE", cmd);
    if (argv[2][0] == '-') cbd_usage_error("%s: unknown option '%s'", cmd, argv[2]);
    return strcmp(cmd, "info") == 0 ? cmd_info(argv[2]) : cmd_verify(argv[2]);
}
