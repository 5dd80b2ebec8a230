/* Damages an HDF5 file in one place, for the bad-input cases of
 * tests/bad_inputs.sh: each command changes one thing of a valid feature
 * store or checkpoint, in place.
 *
 * usage: bad-inputs-h5edit set-int FILE ATTR VALUE     an integer attribute of /
 *        bad-inputs-h5edit set-uint64 FILE ATTR VALUE  an unsigned attribute of /
 *        bad-inputs-h5edit nan FILE DATASET ROW        NaN in every value of one row
 *                                                      (of the first view of a 3-D set)
 *        bad-inputs-h5edit delete FILE DATASET         unlink a dataset
 *        bad-inputs-h5edit labels-int64 FILE           rewrite /labels (int32) as 8-byte
 *                                                      integers, same values and shape
 *
 * exit status: 0 done; 1 an HDF5 call failed; 2 bad usage. */
#include <hdf5.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void) {
    fprintf(stderr, "usage: bad-inputs-h5edit set-int|set-uint64 FILE ATTR VALUE\n"
                    "       bad-inputs-h5edit nan FILE DATASET ROW\n"
                    "       bad-inputs-h5edit delete FILE DATASET\n"
                    "       bad-inputs-h5edit labels-int64 FILE\n");
    return 2;
}

static int fail(const char *file, const char *what) {
    fprintf(stderr, "bad-inputs-h5edit: %s: cannot %s\n", file, what);
    return 1;
}

static int set_attr(hid_t f, const char *file, const char *name, hid_t mem_type, const void *value) {
    hid_t a = H5Aopen(f, name, H5P_DEFAULT);
    if (a < 0) return fail(file, "open the attribute");
    herr_t rc = H5Awrite(a, mem_type, value);
    H5Aclose(a);
    return rc < 0 ? fail(file, "write the attribute") : 0;
}

static int nan_row(hid_t f, const char *file, const char *name, hsize_t row) {
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT), space = d < 0 ? -1 : H5Dget_space(d);
    int rc = 1;
    hsize_t dims[3] = {0}, start[3] = {0}, count[3] = {1, 1, 1};
    const int ndim = space < 0 ? -1 : H5Sget_simple_extent_dims(space, dims, NULL);
    if (ndim == 2 || ndim == 3) {
        const int r = ndim - 2; /* the row axis */
        if (row >= dims[r]) {
            fprintf(stderr, "bad-inputs-h5edit: %s: row %llu of '%s' beyond %llu rows\n", file,
                    (unsigned long long)row, name, (unsigned long long)dims[r]);
            goto done;
        }
        start[r] = row;
        count[r + 1] = dims[r + 1];
        float *values = malloc(dims[r + 1] * sizeof *values);
        for (hsize_t k = 0; k < dims[r + 1]; k++) values[k] = NAN;
        hid_t mem = H5Screate_simple(1, &dims[r + 1], NULL);
        if (mem >= 0 && H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
            H5Dwrite(d, H5T_NATIVE_FLOAT, mem, space, H5P_DEFAULT, values) >= 0)
            rc = 0;
        H5Sclose(mem);
        free(values);
    }
done:
    if (space >= 0) H5Sclose(space);
    if (d >= 0) H5Dclose(d);
    return rc ? fail(file, "write NaN into the dataset") : 0;
}

/* /labels read as int32, unlinked, and written again as a new int64 dataset of the same shape. */
static int labels_int64(hid_t f, const char *file) {
    hid_t d = H5Dopen2(f, "labels", H5P_DEFAULT), space = d < 0 ? -1 : H5Dget_space(d), created = -1;
    int32_t *values = NULL;
    int rc = 1;
    const hssize_t n = space < 0 ? -1 : H5Sget_simple_extent_npoints(space);
    if (n < 0 || !(values = malloc((size_t)(n ? n : 1) * sizeof *values)) ||
        (n && H5Dread(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, values) < 0) || H5Dclose(d) < 0)
        goto done;
    d = -1;
    if (H5Ldelete(f, "labels", H5P_DEFAULT) < 0 ||
        (created = H5Dcreate2(f, "labels", H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        (n && H5Dwrite(created, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, values) < 0) || H5Dclose(created) < 0)
        goto done;
    created = -1;
    rc = 0;
done:
    free(values);
    if (created >= 0) H5Dclose(created);
    if (space >= 0) H5Sclose(space);
    if (d >= 0) H5Dclose(d);
    return rc ? fail(file, "rewrite /labels as int64") : 0;
}

int main(int argc, char **argv) {
    if (argc < 3) return usage();
    const char *cmd = argv[1], *file = argv[2], *name = argc > 3 ? argv[3] : NULL;
    const int want = !strcmp(cmd, "labels-int64") ? 3 : !strcmp(cmd, "delete") ? 4 : 5;
    if (argc != want) return usage();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(file, H5F_ACC_RDWR, H5P_DEFAULT);
    if (f < 0) return fail(file, "open");
    int rc;
    if (!strcmp(cmd, "set-int")) {
        int64_t v = strtoll(argv[4], NULL, 10);
        rc = set_attr(f, file, name, H5T_NATIVE_INT64, &v);
    } else if (!strcmp(cmd, "set-uint64")) {
        uint64_t v = strtoull(argv[4], NULL, 10);
        rc = set_attr(f, file, name, H5T_NATIVE_UINT64, &v);
    } else if (!strcmp(cmd, "nan")) {
        rc = nan_row(f, file, name, strtoull(argv[4], NULL, 10));
    } else if (!strcmp(cmd, "delete")) {
        rc = H5Ldelete(f, name, H5P_DEFAULT) < 0 ? fail(file, "delete the dataset") : 0;
    } else if (!strcmp(cmd, "labels-int64")) {
        rc = labels_int64(f, file);
    } else {
        rc = usage();
    }
    if (H5Fclose(f) < 0 && rc == 0) rc = fail(file, "close");
    return rc;
}
