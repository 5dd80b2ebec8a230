/* h5inspect: looks inside any HDF5 file (groups, datasets, types, storage,
 * attributes) and understands the project's stores: feature stores
 * ("cbd-feature-store"), checkpoints ("cbd-checkpoint") and image stores
 * ("cbd-image-store"). Feature stores' rows are read, and feature stores
 * verified, by the library (store/feature_store.h). This file: the options,
 * and which command runs; the commands are in the files that h5inspect.h
 * lists. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nn/log.h"
#include "tools/cli.h"
#include "tools/h5inspect/h5inspect.h"

static const char usage_text[] =
    "usage: h5inspect [--json] FILE\n"
    "       h5inspect --stats [--json] FILE\n"
    "       h5inspect --verify [--json] FILE\n"
    "       h5inspect --row I [--seed S] [--json] FILE\n"
    "       h5inspect --help\n"
    "\n"
    "Prints every group and dataset of any HDF5 file (recursive, sorted by name)\n"
    "with its shape, type, layout, filters and attributes. Files of this project\n"
    "(root attribute 'format') then get a summary: feature stores\n"
    "(cbd-feature-store), checkpoints (cbd-checkpoint), image stores\n"
    "(cbd-image-store).\n"
    "\n"
    "options:\n"
    "  --stats     feature stores: per view the mean, min and max l2 norm of the\n"
    "              feature rows and their NaN/Inf counts; per class the mean cosine\n"
    "              of the center features to their class centroid; the mean cosine\n"
    "              between the views of an image; the NCM accuracy of the center\n"
    "              features on the training labels. Reads one view at a time.\n"
    "  --verify    exit 0 only for a complete, clean store: a feature store with\n"
    "              every view done, no NaN/Inf (in the views and center marked\n"
    "              done), 4-byte labels in range and shapes that agree with the\n"
    "              attributes (the checks of the stages' reader); a checkpoint\n"
    "              whose datasets are all readable and finite; a complete image\n"
    "              store. Prints each defect on its own line and exits 1 when\n"
    "              there is any.\n"
    "  --row I     feature stores: the feature vector (and logits) of image I\n"
    "              with its label\n"
    "  --seed S    with --row: view S (0..views-1); default: the center view\n"
    "              (--view is the same option)\n"
    "  --json      the same information as JSON; float32 and float16 values are\n"
    "              written with the fewest digits that read back as the same\n"
    "              float32, non-finite numbers as the strings \"NaN\", \"Infinity\"\n"
    "              and \"-Infinity\"\n"
    "\n"
    "exit status: 0 ok; 1 --verify found defects; 2 bad usage, a file that cannot\n"
    "be read (missing, not HDF5, truncated or corrupt) or an option that does not\n"
    "apply to the file\n";

int main(int argc, char **argv) {
    cbd_cli_init(argv[0]);
    const char *path = NULL, *row = NULL, *seed = NULL;
    int stats = 0, verify = 0, json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage_text, stdout);
            return CBD_EXIT_OK;
        } else if (strcmp(a, "--stats") == 0) {
            stats = 1;
        } else if (strcmp(a, "--verify") == 0) {
            verify = 1;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--row") == 0 || strcmp(a, "--seed") == 0 || strcmp(a, "--view") == 0) {
            if (i + 1 >= argc) cbd_usage_error("%s needs a value", a);
            if (strcmp(a, "--row") == 0) row = argv[++i];
            else seed = argv[++i];
        } else if (a[0] == '-' && a[1] != '\0') {
            cbd_usage_error("unknown option '%s'", a);
        } else if (path) {
            cbd_usage_error("more than one FILE ('%s' and '%s')", path, a);
        } else {
            path = a;
        }
    }
    if (!path) cbd_usage_error("missing FILE");
    if (stats + verify + (row != NULL) > 1) cbd_usage_error("--stats, --verify and --row go one at a time");
    if (seed && !row) cbd_usage_error("--seed selects the view of --row");

    inspector in = {.path = path, .file = -1};
    cbd_h5_ctx_init(&in.h5, path, in.err, sizeof in.err);
    if ((in.file = cbd_h5_open_read(&in.h5)) < 0) die_h5(&in);
    json_out jw = {.f = stdout};
    json_out *w = json ? &jw : NULL;
    int rc;
    if (stats) rc = cmd_stats(&in, w);
    else if (verify) rc = cmd_verify(&in, w);
    else if (row) rc = cmd_row(&in, row, seed, w);
    else rc = cmd_tree(&in, w);
    jw_free(&jw);
    close_id(&in, in.file, "the file");
    if (fflush(stdout) != 0 || ferror(stdout))
        cbd_fail(CBD_EXIT_FAILURE, "cannot write the output: %s", strerror(errno));
    return rc;
}
