/* Feature stores (store/feature_store.h) from untrusted bytes: verify, then
 * open as the student stage does and read rows, both from the file (no
 * memory budget) and, when small, loaded into memory. */
#include <stdlib.h>

#include "store/feature_store.h"
#include "tests/fuzz/fuzz_util.h"

/* A store that claims more than this is left unread: honest ones that large
 * exist, and allocating for them only measures the machine. */
#define READ_CAP_BYTES ((int64_t)64 << 20)

static const char *store_path;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    store_path = fuzz_scratch(0, "feature-store", ".h5");
    return 0;
}

/* The first and the last image, a stored view and the center. */
static void read_rows(cbd_feature_store *fs) {
    const cbd_feature_store_spec *s = cbd_feature_store_spec_of(fs);
    if (((int64_t)s->d + s->classes) * 2 * (int64_t)sizeof(float) > READ_CAP_BYTES) return;
    const int64_t images[2] = {0, s->n - 1};
    const uint32_t views[2] = {(uint32_t)(s->views - 1), CBD_FEATURE_CENTER};
    float *features = malloc(2 * (size_t)s->d * sizeof(float));
    float *logits = s->has_logits ? malloc(2 * (size_t)s->classes * sizeof(float)) : NULL;
    char err[1024];
    if (cbd_feature_store_read(fs, images, views, 2, features, logits, err, sizeof err) != 0)
        FUZZ_REQUIRE(err[0] != '\0', "read refused without a message");
    free(features);
    free(logits);
}

static void open_and_read(int64_t memory_cap) {
    char err[1024];
    cbd_feature_store *fs = cbd_feature_store_open(store_path, NULL, memory_cap, err, sizeof err);
    if (!fs) {
        FUZZ_REQUIRE(err[0] != '\0', "refused without a message");
        return;
    }
    const cbd_feature_store_spec *s = cbd_feature_store_spec_of(fs);
    FUZZ_REQUIRE(s->n > 0 && s->d > 0 && s->classes > 0 && s->views > 0, "opened with n %lld d %d C %d S %d",
                 (long long)s->n, s->d, s->classes, s->views);
    const int32_t *labels = cbd_feature_store_labels(fs);
    FUZZ_REQUIRE(labels[0] >= 0 && labels[0] < s->classes && labels[s->n - 1] >= 0 && labels[s->n - 1] < s->classes,
                 "label out of range");
    read_rows(fs);
    const int64_t bytes = cbd_feature_store_float_bytes(s);
    cbd_feature_store_close(fs);
    if (memory_cap == 0 && bytes <= READ_CAP_BYTES) open_and_read(READ_CAP_BYTES);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 1024 * 1024) return 0;
    fuzz_write_file(store_path, data, size);
    (void)cbd_feature_store_verify(store_path, NULL, NULL, NULL, 0);
    open_and_read(0);
    return 0;
}
