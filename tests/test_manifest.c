/* Manifests: parsing (comments, blank lines, CRLF, spacing), every refusal
 * with FILE:LINE in its message, the digest's independence from formatting,
 * writing and reading back, class-names files and the counts CSV.
 * usage: test_manifest WORK_DIR (an empty folder) */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/digest.h"
#include "store/manifest.h"
#include "test_util.h"



static void write_text(const char *name, const char *text, size_t len) {
    FILE *f = fopen(test_path(name), "wb");
    if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", test_path(name));
        exit(1);
    }
}

static void write_string(const char *name, const char *text) { write_text(name, text, strlen(text)); }

static char *read_whole(const char *name) {
    FILE *f = fopen(test_path(name), "rb");
    static char buf[8192];
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    buf[n] = '\0';
    return buf;
}

/* Reads a manifest that must be refused with a message holding `expected`. */
static void expect_refused(const char *name, const char *text, int classes, const char *expected) {
    char err[1024] = "", want[1200];
    cbd_manifest m;
    write_string(name, text);
    snprintf(want, sizeof want, "%s%s", test_path(name), expected);
    int rc = cbd_manifest_read(test_path(name), classes, &m, err, sizeof err);
    CHECK(rc == -1, "%s was accepted", name);
    CHECK(strstr(err, want) != NULL, "%s: message '%s' lacks '%s'", name, err, want);
    CHECK(m.entries == NULL && m.count == 0 && m.text == NULL, "refused manifest not emptied");
}

static void test_parse(void) {
    const char *text = "# ImageNet-LT style list\n"
                       "\n"
                       "train/a/1.jpg 0\n"
                       "   train/a/2.jpg\t\t3   \n"
                       "  # indented comment\n"
                       "train/b/1.jpg 1\r\n"
                       "train/b/2.jpg 2";  /* no final newline */
    char err[1024];
    cbd_manifest m;
    write_string("good.txt", text);
    CHECK(cbd_manifest_read(test_path("good.txt"), 0, &m, err, sizeof err) == 0, "%s", err);
    CHECK(m.count == 4, "count %lld", (long long)m.count);
    CHECK(m.classes == 4, "classes %d (largest label + 1)", m.classes);
    if (m.count == 4) {
        CHECK(strcmp(m.entries[1].path, "train/a/2.jpg") == 0 && m.entries[1].label == 3 &&
                  m.entries[1].line == 4,
              "entry 1: '%s' %d line %d", m.entries[1].path, m.entries[1].label, m.entries[1].line);
        CHECK(strcmp(m.entries[2].path, "train/b/1.jpg") == 0 && m.entries[2].label == 1, "CRLF line: '%s'",
              m.entries[2].path);
        CHECK(m.entries[3].line == 7 && m.entries[3].label == 2, "last line without newline");
    }
    cbd_manifest_free(&m);
    CHECK(cbd_manifest_read(test_path("good.txt"), 10, &m, err, sizeof err) == 0 && m.classes == 10,
          "classes given: %d", m.classes);
    cbd_manifest_free(&m);
}

static void test_digest(void) {
    char err[1024];
    cbd_manifest lf, crlf, other;
    write_string("lf.txt", "a.jpg 0\nb.jpg 1\nc.jpg 1\n");
    write_string("crlf.txt", "# header\r\n\r\na.jpg   0\r\n  b.jpg\t1\r\n# middle\r\nc.jpg 1\r\n");
    write_string("other.txt", "a.jpg 0\nb.jpg 1\nc.jpg 2\n");
    CHECK(cbd_manifest_read(test_path("lf.txt"), 0, &lf, err, sizeof err) == 0, "%s", err);
    CHECK(cbd_manifest_read(test_path("crlf.txt"), 0, &crlf, err, sizeof err) == 0, "%s", err);
    CHECK(cbd_manifest_read(test_path("other.txt"), 0, &other, err, sizeof err) == 0, "%s", err);
    CHECK(lf.digest == crlf.digest, "CRLF, comments and spacing changed the digest");
    CHECK(lf.digest != other.digest, "a changed label kept the digest");
    const char *normalised = "a.jpg\t0\nb.jpg\t1\nc.jpg\t1\n";
    CHECK(lf.digest == cbd_fnv1a64_str(normalised), "digest is not FNV-1a of the normalised entries");
    CHECK(lf.digest == cbd_manifest_digest(lf.entries, lf.count), "digest of entries differs");
    cbd_manifest_free(&lf);
    cbd_manifest_free(&crlf);
    cbd_manifest_free(&other);
}

static void test_refusals(void) {
    char err[1024] = "";
    cbd_manifest m;
    CHECK(cbd_manifest_read(test_path("missing.txt"), 0, &m, err, sizeof err) == -1, "missing file accepted");
    CHECK(strstr(err, test_path("missing.txt")) != NULL, "message '%s' does not name the file", err);
    CHECK(cbd_manifest_read(test_dir, 0, &m, err, sizeof err) == -1, "a folder was accepted");
    CHECK(strstr(err, test_dir) != NULL, "message '%s' does not name the folder", err);
    expect_refused("nolabel.txt", "a.jpg 0\n# c\nb.jpg\n", 0, ":3: missing label after 'b.jpg'");
    expect_refused("extra.txt", "a.jpg 0\nmy file.jpg 1\n", 0, ":2: unexpected field '1'");
    expect_refused("extra2.txt", "a.jpg 0 # note\n", 0, ":1: unexpected field '#'");
    expect_refused("word.txt", "a.jpg zero\n", 0, ":1: label 'zero' is not an integer");
    expect_refused("real.txt", "\n\na.jpg 1.5\n", 0, ":3: label '1.5' is not an integer");
    expect_refused("negative.txt", "a.jpg 0\nb.jpg -1\n", 0, ":2: label -1 is negative");
    expect_refused("range.txt", "a.jpg 0\r\nb.jpg 9\r\nc.jpg 10\r\n", 10,
                   ":3: label 10 is out of range: 10 classes");
    expect_refused("huge.txt", "a.jpg 99999999999999999999\n", 0,
                   ":1: label 99999999999999999999 is too large");
    expect_refused("duplicate.txt", "a.jpg 0\nb.jpg 1\nc.jpg 1\nb.jpg 1\n", 0,
                   ":4: duplicate path 'b.jpg' (already listed at line 2)");
    expect_refused("comments.txt", "# only\n\n   \n# comments\n", 0, ": no entries");
    expect_refused("empty.txt", "", 0, ": no entries");
    write_text("binary.txt", "a.jpg 0\nb.j\0pg 1\n", 16);
    CHECK(cbd_manifest_read(test_path("binary.txt"), 0, &m, err, sizeof err) == -1, "NUL byte accepted");
    CHECK(strstr(err, "binary.txt:2: NUL byte") != NULL, "message '%s'", err);
}

static int has_temporary(void) {
    DIR *d = opendir(test_dir);
    struct dirent *e;
    int found = 0;
    while (d && (e = readdir(d)) != NULL) found |= strstr(e->d_name, ".tmp.") != NULL;
    if (d) closedir(d);
    return found;
}

static void test_write(void) {
    char err[1024];
    cbd_manifest m;
    const cbd_manifest_entry entries[] = {{"x/1.jpg", 2, 0}, {"x/2.jpg", 0, 0}, {"y/3.jpg", 1, 0}};
    CHECK(cbd_manifest_write(test_path("written.txt"), entries, 3, "made by a test\nsecond line", err,
                             sizeof err) == 0,
          "%s", err);
    CHECK(strcmp(read_whole("written.txt"),
                 "# made by a test\n# second line\nx/1.jpg 2\nx/2.jpg 0\ny/3.jpg 1\n") == 0,
          "written text:\n%s", read_whole("written.txt"));
    CHECK(cbd_manifest_read(test_path("written.txt"), 0, &m, err, sizeof err) == 0, "%s", err);
    CHECK(m.count == 3 && m.digest == cbd_manifest_digest(entries, 3), "read back differs");
    cbd_manifest_free(&m);
    const cbd_manifest_entry bad[] = {{"has space.jpg", 0, 0}};
    CHECK(cbd_manifest_write(test_path("bad.txt"), bad, 1, NULL, err, sizeof err) == -1,
          "whitespace path written");
    CHECK(strstr(err, "has space.jpg") != NULL, "message '%s'", err);
    CHECK(cbd_manifest_write("/nonexistent-folder/m.txt", entries, 3, NULL, err, sizeof err) == -1,
          "write into a missing folder succeeded");
    CHECK(!has_temporary(), "a temporary file was left");
}

static void test_class_names(void) {
    char err[1024], **names = NULL;
    write_string("names.txt", "T-shirt/top\r\n  Ankle boot  \r\n\r\n# comment\r\nBag\r\n");
    CHECK(cbd_class_names_read(test_path("names.txt"), 3, &names, err, sizeof err) == 3, "%s", err);
    if (names) {
        CHECK(strcmp(names[0], "T-shirt/top") == 0 && strcmp(names[1], "Ankle boot") == 0 &&
                  strcmp(names[2], "Bag") == 0,
              "names '%s' '%s' '%s'", names[0], names[1], names[2]);
        cbd_class_names_free(names, 3);
    }
    names = NULL;
    CHECK(cbd_class_names_read(test_path("names.txt"), 0, &names, err, sizeof err) == 3, "any count: %s", err);
    cbd_class_names_free(names, 3);
    CHECK(cbd_class_names_read(test_path("names.txt"), 4, &names, err, sizeof err) == -1,
          "3 names for 4 classes");
    CHECK(strstr(err, "names.txt: 3 class names, expected one per class (4)") != NULL, "message '%s'", err);
    CHECK(cbd_class_names_read(test_path("names.txt"), 2, &names, err, sizeof err) == -1,
          "3 names for 2 classes");
    CHECK(strstr(err, "names.txt:5: more class names than the 2 classes") != NULL, "message '%s'", err);
    write_string("nonames.txt", "\n# nothing\n");
    CHECK(cbd_class_names_read(test_path("nonames.txt"), 0, &names, err, sizeof err) == -1, "empty names file");
    CHECK(strstr(err, "nonames.txt: no class names") != NULL, "message '%s'", err);
    CHECK(cbd_class_names_read(test_path("absent.txt"), 3, &names, err, sizeof err) == -1,
          "missing names file");
    CHECK(strstr(err, "absent.txt") != NULL, "message '%s'", err);

    const char *const written[] = {"a", "b c", "d"};
    CHECK(cbd_class_names_write(test_path("out_names.txt"), written, 3, err, sizeof err) == 0, "%s", err);
    CHECK(strcmp(read_whole("out_names.txt"), "a\nb c\nd\n") == 0, "names file:\n%s",
          read_whole("out_names.txt"));
}

static void test_counts(void) {
    char err[1024];
    const char *const names[] = {"plain", "with, comma", "say \"hi\""};
    const int64_t counts[] = {10, 5, 1};
    CHECK(cbd_class_counts_write(test_path("counts.csv"), names, counts, 3, err, sizeof err) == 0, "%s", err);
    CHECK(strcmp(read_whole("counts.csv"),
                 "class,name,count\n0,plain,10\n1,\"with, comma\",5\n2,\"say \"\"hi\"\"\",1\n") == 0,
          "counts:\n%s", read_whole("counts.csv"));
    CHECK(cbd_class_counts_write(test_path("counts2.csv"), NULL, counts, 2, err, sizeof err) == 0, "%s", err);
    CHECK(strcmp(read_whole("counts2.csv"), "class,name,count\n0,0,10\n1,1,5\n") == 0,
          "counts without names:\n%s", read_whole("counts2.csv"));
}

int main(int argc, char **argv) {
    test_dir = test_work_dir(argc, argv);
    test_parse();
    test_digest();
    test_refusals();
    test_write();
    test_class_names();
    test_counts();
    return test_finish("manifest");
}
