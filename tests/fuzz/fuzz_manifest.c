/* Manifests and class-names files (store/manifest.h): the same bytes are read
 * as both. A manifest that reads must round-trip: cbd_manifest_write's file
 * reads back to the same entries, classes and digest. */
#include <string.h>

#include "store/manifest.h"
#include "tests/fuzz/fuzz_util.h"

static const char *input_path, *copy_path;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    input_path = fuzz_scratch(0, "manifest", ".txt");
    copy_path = fuzz_scratch(1, "manifest", ".copy.txt");
    return 0;
}

static void check_round_trip(const cbd_manifest *m) {
    char err[1024];
    FUZZ_REQUIRE(m->digest == cbd_manifest_digest(m->entries, m->count), "digest differs from the entries'");
    FUZZ_REQUIRE(cbd_manifest_write(copy_path, m->entries, m->count, "fuzz\ncopy", err, sizeof err) == 0,
                 "a manifest that reads does not write: %s", err);
    cbd_manifest again;
    FUZZ_REQUIRE(cbd_manifest_read(copy_path, m->classes, &again, err, sizeof err) == 0,
                 "the written manifest does not read back: %s", err);
    FUZZ_REQUIRE(again.count == m->count && again.classes == m->classes && again.digest == m->digest,
                 "the written manifest reads back as another one");
    for (int64_t i = 0; i < m->count; i++)
        FUZZ_REQUIRE(!strcmp(again.entries[i].path, m->entries[i].path) && again.entries[i].label == m->entries[i].label,
                     "entry %lld differs", (long long)i);
    cbd_manifest_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 256 * 1024) return 0;
    fuzz_write_file(input_path, data, size);
    char err[1024];
    cbd_manifest m;
    if (cbd_manifest_read(input_path, 0, &m, err, sizeof err) == 0) {
        FUZZ_REQUIRE(m.count > 0 && m.classes > 0, "%lld entries, %d classes", (long long)m.count, m.classes);
        check_round_trip(&m);
        cbd_manifest_free(&m);
    } else {
        FUZZ_REQUIRE(err[0] != '\0' && m.entries == NULL && m.text == NULL, "refused without a message or left entries");
    }
    char **names = NULL;
    const int n = cbd_class_names_read(input_path, 0, &names, err, sizeof err);
    if (n > 0) cbd_class_names_free(names, n);
    else FUZZ_REQUIRE(n < 0 && err[0] != '\0', "class names: %d without a message", n);
    return 0;
}
