#include "store/h5util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn/log.h"

/* ---- messages -------------------------------------------------------------- */

void cbd_h5_library_init(void) {
    static int done = 0;
    if (done) return;
    done = 1;
    /* Every file is closed explicitly on the paths that succeed. After a write
     * that failed (a full disk), HDF5 1.10 keeps the file half-closed, and its
     * own clean-up at exit() would crash on it instead of letting the stage
     * exit with its message. Must come before any other HDF5 call to count. */
    H5dont_atexit();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void cbd_h5_ctx_init(cbd_h5_ctx *c, const char *path, char *err, size_t err_len) {
    cbd_h5_library_init();
    c->path = path;
    c->err = err;
    c->err_len = err_len;
    c->detail[0] = '\0';
    if (err && err_len) err[0] = '\0';
}

/* The innermost entry comes first when walking upward. */
static herr_t keep_innermost(unsigned n, const H5E_error2_t *e, void *arg) {
    cbd_h5_ctx *c = arg;
    (void)n;
    if (c->detail[0] == '\0' && e->desc && e->desc[0])
        snprintf(c->detail, sizeof c->detail, "%s", e->desc);
    return 0;
}

static void capture_detail(cbd_h5_ctx *c) {
    c->detail[0] = '\0';
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, keep_innermost, c);
    H5Eclear2(H5E_DEFAULT);
}

static void write_message(cbd_h5_ctx *c, const char *detail, const char *fmt, va_list ap) {
    if (!c->err || c->err_len == 0) return;
    char msg[768];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (detail && detail[0])
        snprintf(c->err, c->err_len, "%s: %s (%s)", c->path, msg, detail);
    else
        snprintf(c->err, c->err_len, "%s: %s", c->path, msg);
}

void cbd_h5_error(cbd_h5_ctx *c, const char *fmt, ...) {
    capture_detail(c);
    va_list ap;
    va_start(ap, fmt);
    write_message(c, c->detail, fmt, ap);
    va_end(ap);
}

void cbd_h5_fail(cbd_h5_ctx *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    write_message(c, NULL, fmt, ap);
    va_end(ap);
}

/* How messages name an object: "." is the root group. */
static const char *label(const char *obj) { return strcmp(obj, ".") == 0 ? "/" : obj; }

herr_t cbd_h5_close(hid_t id) {
    if (id < 0) return 0;
    switch (H5Iget_type(id)) {
    case H5I_FILE: return H5Fclose(id);
    case H5I_GROUP: return H5Gclose(id);
    case H5I_DATASET: return H5Dclose(id);
    case H5I_DATASPACE: return H5Sclose(id);
    case H5I_DATATYPE: return H5Tclose(id);
    case H5I_ATTR: return H5Aclose(id);
    case H5I_GENPROP_LST: return H5Pclose(id);
    default: return -1;
    }
}

int cbd_h5_close_checked(cbd_h5_ctx *c, hid_t id, int rc, const char *name) {
    if (cbd_h5_close(id) >= 0) return rc;
    if (rc == 0) cbd_h5_error(c, "cannot close '%s'", name);
    return -1;
}

/* ---- files ----------------------------------------------------------------- */

/* Closing a file while one of its objects is still open fails (H5F_CLOSE_SEMI):
 * a leaked identifier is an error, never a file silently kept open. */
static hid_t file_access_properties(cbd_h5_ctx *c) {
    hid_t fapl = -1;
    CBD_H5_CHECK(c, fapl = H5Pcreate(H5P_FILE_ACCESS), "cannot create file access properties");
    CBD_H5_CHECK(c, H5Pset_fclose_degree(fapl, H5F_CLOSE_SEMI), "cannot set the file close degree");
    return fapl;
cleanup:
    cbd_h5_close(fapl);
    return -1;
}

/* Missing, unreadable, a directory or empty: said in plain words before HDF5
 * sees the file. */
static int check_readable(cbd_h5_ctx *c) {
    int fd = open(c->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cbd_h5_fail(c, "cannot open: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    int rc = fstat(fd, &st);
    int saved = errno;
    close(fd);
    if (rc != 0) {
        cbd_h5_fail(c, "cannot stat: %s", strerror(saved));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        cbd_h5_fail(c, "is a directory, not a file");
        return -1;
    }
    if (st.st_size == 0) {
        cbd_h5_fail(c, "empty file: truncated or corrupt");
        return -1;
    }
    return 0;
}

/* Closes the access properties of a file just opened or created; returns the
 * file, or -1 (file closed) when that fails. */
static hid_t release_fapl(cbd_h5_ctx *c, hid_t fapl, hid_t file) {
    if (cbd_h5_close_checked(c, fapl, file < 0 ? -1 : 0, "file access properties") == 0) return file;
    cbd_h5_close(file);
    return -1;
}

hid_t cbd_h5_open_read(cbd_h5_ctx *c) {
    if (check_readable(c) != 0) return -1;
    htri_t is_hdf5 = H5Fis_hdf5(c->path);
    if (is_hdf5 == 0) {
        cbd_h5_fail(c, "not an HDF5 file");
        return -1;
    }
    if (is_hdf5 < 0) {
        cbd_h5_error(c, "cannot read the HDF5 signature: truncated or corrupt");
        return -1;
    }
    hid_t fapl = -1, file = -1;
    if ((fapl = file_access_properties(c)) < 0) return -1;
    file = H5Fopen(c->path, H5F_ACC_RDONLY, fapl);
    if (file < 0) {
        cbd_h5_error(c, "truncated or corrupt HDF5 file");
        if (strstr(c->detail, "unable to lock"))
            cbd_h5_fail(c, "cannot lock the file (%s): another process may be writing it; on a "
                           "file system without locks set HDF5_USE_FILE_LOCKING=FALSE", c->detail);
    }
    return release_fapl(c, fapl, file);
}

hid_t cbd_h5_create(cbd_h5_ctx *c, const char *file_path) {
    hid_t fapl = -1, file = -1;
    if ((fapl = file_access_properties(c)) < 0) return -1;
    file = H5Fcreate(file_path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (file < 0) cbd_h5_error(c, "cannot create HDF5 file '%s'", file_path);
    return release_fapl(c, fapl, file);
}

int cbd_h5_exists(cbd_h5_ctx *c, hid_t loc, const char *path) {
    char prefix[512];
    const size_t n = strlen(path);
    if (n == 0 || n >= sizeof prefix) {
        cbd_h5_fail(c, "object name '%s' is empty or too long", path);
        return -1;
    }
    const char *s = path;
    for (;;) {
        const char *slash = strchr(s, '/');
        const size_t len = slash ? (size_t)(slash - path) : n;
        memcpy(prefix, path, len);
        prefix[len] = '\0';
        htri_t found = H5Lexists(loc, prefix, H5P_DEFAULT);
        if (found < 0) {
            cbd_h5_error(c, "cannot look up '%s'", prefix);
            return -1;
        }
        if (found == 0) return 0;
        if (!slash) return 1;
        s = slash + 1;
    }
}

/* ---- attributes -------------------------------------------------------------- */

static int attr_write(cbd_h5_ctx *c, hid_t loc, const char *obj, const char *name,
                      hid_t file_type, hid_t mem_type, const void *value) {
    hid_t space = -1, attr = -1;
    int rc = -1;
    CBD_H5_CHECK(c, space = H5Screate(H5S_SCALAR), "cannot create a dataspace for attribute '%s' of %s",
                 name, label(obj));
    CBD_H5_CHECK(c, attr = H5Acreate_by_name(loc, obj, name, file_type, space, H5P_DEFAULT,
                                             H5P_DEFAULT, H5P_DEFAULT),
                 "cannot create attribute '%s' of %s", name, label(obj));
    CBD_H5_CHECK(c, H5Awrite(attr, mem_type, value), "cannot write attribute '%s' of %s", name,
                 label(obj));
    rc = 0;
cleanup:
    rc = cbd_h5_close_checked(c, attr, rc, name);
    return cbd_h5_close_checked(c, space, rc, name);
}

int cbd_h5_attr_write_string(cbd_h5_ctx *c, hid_t loc, const char *obj, const char *name,
                             const char *value) {
    hid_t type = -1;
    int rc = -1;
    CBD_H5_CHECK(c, type = H5Tcopy(H5T_C_S1), "cannot create a string type for attribute '%s'", name);
    CBD_H5_CHECK(c, H5Tset_size(type, strlen(value) + 1), "cannot size the string type for attribute '%s'",
                 name);
    CBD_H5_CHECK(c, H5Tset_strpad(type, H5T_STR_NULLTERM), "cannot set string padding for attribute '%s'",
                 name);
    CBD_H5_CHECK(c, H5Tset_cset(type, H5T_CSET_ASCII), "cannot set the character set for attribute '%s'",
                 name);
    rc = attr_write(c, loc, obj, name, type, type, value);
cleanup:
    return cbd_h5_close_checked(c, type, rc, name);
}

int cbd_h5_attr_write_int64(cbd_h5_ctx *c, hid_t loc, const char *obj, const char *name,
                            int64_t value) {
    return attr_write(c, loc, obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value);
}

int cbd_h5_attr_write_uint64(cbd_h5_ctx *c, hid_t loc, const char *obj, const char *name,
                             uint64_t value) {
    return attr_write(c, loc, obj, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, &value);
}

int cbd_h5_attr_write_double(cbd_h5_ctx *c, hid_t loc, const char *obj, const char *name,
                             double value) {
    return attr_write(c, loc, obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

int cbd_h5_attr_write_doubles(cbd_h5_ctx *c, hid_t loc, const char *obj, const char *name, const double *values,
                              int n) {
    const hsize_t dims[1] = {(hsize_t)n};
    hid_t space = -1, attr = -1;
    int rc = -1;
    CBD_H5_CHECK(c, space = H5Screate_simple(1, dims, NULL), "cannot create a dataspace for attribute '%s' of %s",
                 name, label(obj));
    CBD_H5_CHECK(c, attr = H5Acreate_by_name(loc, obj, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT,
                                             H5P_DEFAULT),
                 "cannot create attribute '%s' of %s", name, label(obj));
    CBD_H5_CHECK(c, H5Awrite(attr, H5T_NATIVE_DOUBLE, values), "cannot write attribute '%s' of %s", name,
                 label(obj));
    rc = 0;
cleanup:
    rc = cbd_h5_close_checked(c, attr, rc, name);
    return cbd_h5_close_checked(c, space, rc, name);
}

int cbd_h5_attr_read_doubles(cbd_h5_ctx *c, hid_t loc, const char *obj, const char *name, double *out, int n) {
    hid_t attr = -1, space = -1;
    hssize_t points = -1;
    int rc = -1;
    CBD_H5_CHECK(c, attr = H5Aopen_by_name(loc, obj, name, H5P_DEFAULT, H5P_DEFAULT),
                 "cannot open attribute '%s' of %s", name, label(obj));
    CBD_H5_CHECK(c, space = H5Aget_space(attr), "cannot get the dataspace of attribute '%s' of %s", name,
                 label(obj));
    CBD_H5_CHECK(c, points = H5Sget_simple_extent_npoints(space), "cannot count the values of attribute '%s' of %s",
                 name, label(obj));
    if (points != n) {
        cbd_h5_fail(c, "attribute '%s' of %s holds %lld values, expected %d", name, label(obj), (long long)points, n);
        goto cleanup;
    }
    CBD_H5_CHECK(c, H5Aread(attr, H5T_NATIVE_DOUBLE, out), "cannot read attribute '%s' of %s", name, label(obj));
    rc = 0;
cleanup:
    rc = cbd_h5_close_checked(c, space, rc, name);
    return cbd_h5_close_checked(c, attr, rc, name);
}

int cbd_h5_attr_exists(cbd_h5_ctx *c, hid_t loc, const char *obj, const char *name) {
    htri_t found = H5Aexists_by_name(loc, obj, name, H5P_DEFAULT);
    if (found < 0) {
        cbd_h5_error(c, "cannot look up attribute '%s' of %s", name, label(obj));
        return -1;
    }
    return found > 0;
}

/* Opens an attribute that must exist and hold exactly one value. */
static hid_t attr_open_single(cbd_h5_ctx *c, hid_t loc, const char *obj, const char *name) {
    hid_t attr = -1, space = -1;
    hssize_t points = -1;
    int found = cbd_h5_attr_exists(c, loc, obj, name);
    if (found < 0) return -1;
    if (found == 0) {
        cbd_h5_fail(c, "missing attribute '%s' of %s", name, label(obj));
        return -1;
    }
    CBD_H5_CHECK(c, attr = H5Aopen_by_name(loc, obj, name, H5P_DEFAULT, H5P_DEFAULT),
                 "cannot open attribute '%s' of %s", name, label(obj));
    CBD_H5_CHECK(c, space = H5Aget_space(attr), "cannot get the dataspace of attribute '%s' of %s",
                 name, label(obj));
    CBD_H5_CHECK(c, points = H5Sget_simple_extent_npoints(space),
                 "cannot count the values of attribute '%s' of %s", name, label(obj));
    if (points != 1) {
        cbd_h5_fail(c, "attribute '%s' of %s holds %lld values, expected one", name, label(obj),
                    (long long)points);
        goto cleanup;
    }
    if (cbd_h5_close_checked(c, space, 0, name) != 0) {
        cbd_h5_close(attr);
        return -1;
    }
    return attr;
cleanup:
    cbd_h5_close(space);
    cbd_h5_close(attr);
    return -1;
}

static int attr_read(cbd_h5_ctx *c, hid_t loc, const char *obj, const char *name, hid_t mem_type,
                     void *out) {
    int rc = -1;
    hid_t attr = attr_open_single(c, loc, obj, name);
    if (attr < 0) return -1;
    CBD_H5_CHECK(c, H5Aread(attr, mem_type, out), "cannot read attribute '%s' of %s", name,
                 label(obj));
    rc = 0;
cleanup:
    return cbd_h5_close_checked(c, attr, rc, name);
}

static int read_variable_string(cbd_h5_ctx *c, hid_t attr, hid_t file_type, const char *obj,
                                const char *name, char *out, size_t out_len) {
    hid_t mem = -1;
    char *s = NULL;
    H5T_cset_t cset;
    int rc = -1;
    CBD_H5_CHECK(c, cset = H5Tget_cset(file_type), "cannot get the character set of attribute '%s'",
                 name);
    CBD_H5_CHECK(c, mem = H5Tcopy(H5T_C_S1), "cannot create a string type for attribute '%s'", name);
    CBD_H5_CHECK(c, H5Tset_size(mem, H5T_VARIABLE), "cannot size the string type for attribute '%s'",
                 name);
    CBD_H5_CHECK(c, H5Tset_cset(mem, cset), "cannot set the character set for attribute '%s'", name);
    CBD_H5_CHECK(c, H5Aread(attr, mem, &s), "cannot read attribute '%s' of %s", name, label(obj));
    if (!s || strlen(s) >= out_len) {
        cbd_h5_fail(c, "attribute '%s' of %s is %s", name, label(obj), s ? "too long" : "null");
        goto cleanup;
    }
    memcpy(out, s, strlen(s) + 1);
    rc = 0;
cleanup:
    if (s && H5free_memory(s) < 0 && rc == 0) {
        cbd_h5_error(c, "cannot free the value of attribute '%s'", name);
        rc = -1;
    }
    return cbd_h5_close_checked(c, mem, rc, name);
}

static int read_fixed_string(cbd_h5_ctx *c, hid_t attr, hid_t file_type, const char *obj,
                             const char *name, char *out, size_t out_len) {
    size_t size = H5Tget_size(file_type);
    if (size == 0) {
        cbd_h5_error(c, "cannot get the size of attribute '%s' of %s", name, label(obj));
        return -1;
    }
    if (size >= out_len) {
        cbd_h5_fail(c, "attribute '%s' of %s is too long (%zu bytes)", name, label(obj), size);
        return -1;
    }
    if (H5Aread(attr, file_type, out) < 0) {
        cbd_h5_error(c, "cannot read attribute '%s' of %s", name, label(obj));
        return -1;
    }
    out[size] = '\0';
    return 0;
}

int cbd_h5_attr_read_string(cbd_h5_ctx *c, hid_t loc, const char *obj, const char *name,
                            char *out, size_t out_len) {
    hid_t type = -1;
    htri_t variable;
    int rc = -1;
    hid_t attr = attr_open_single(c, loc, obj, name);
    if (attr < 0) return -1;
    CBD_H5_CHECK(c, type = H5Aget_type(attr), "cannot get the type of attribute '%s' of %s", name,
                 label(obj));
    if (H5Tget_class(type) != H5T_STRING) {
        cbd_h5_fail(c, "attribute '%s' of %s is not a string", name, label(obj));
        goto cleanup;
    }
    CBD_H5_CHECK(c, variable = H5Tis_variable_str(type), "cannot inspect the type of attribute '%s'",
                 name);
    rc = variable ? read_variable_string(c, attr, type, obj, name, out, out_len)
                  : read_fixed_string(c, attr, type, obj, name, out, out_len);
cleanup:
    rc = cbd_h5_close_checked(c, type, rc, name);
    return cbd_h5_close_checked(c, attr, rc, name);
}

int cbd_h5_attr_read_int64(cbd_h5_ctx *c, hid_t loc, const char *obj, const char *name,
                           int64_t *out) {
    return attr_read(c, loc, obj, name, H5T_NATIVE_INT64, out);
}

int cbd_h5_attr_read_uint64(cbd_h5_ctx *c, hid_t loc, const char *obj, const char *name,
                            uint64_t *out) {
    return attr_read(c, loc, obj, name, H5T_NATIVE_UINT64, out);
}

int cbd_h5_attr_read_double(cbd_h5_ctx *c, hid_t loc, const char *obj, const char *name,
                            double *out) {
    return attr_read(c, loc, obj, name, H5T_NATIVE_DOUBLE, out);
}

/* ---- datasets ---------------------------------------------------------------- */

int cbd_h5_write_f32(cbd_h5_ctx *c, hid_t loc, const char *path, int ndim, const hsize_t *dims,
                     const float *data) {
    hid_t space = -1, lcpl = -1, dcpl = -1, dset = -1;
    int rc = -1;
    CBD_H5_CHECK(c, space = H5Screate_simple(ndim, dims, NULL),
                 "cannot create the dataspace of dataset '%s'", path);
    CBD_H5_CHECK(c, lcpl = H5Pcreate(H5P_LINK_CREATE), "cannot create link properties for '%s'", path);
    CBD_H5_CHECK(c, H5Pset_create_intermediate_group(lcpl, 1),
                 "cannot request intermediate groups for '%s'", path);
    CBD_H5_CHECK(c, dcpl = H5Pcreate(H5P_DATASET_CREATE), "cannot create dataset properties for '%s'",
                 path);
    CBD_H5_CHECK(c, H5Pset_chunk(dcpl, ndim, dims), "cannot set the chunk shape of dataset '%s'", path);
    CBD_H5_CHECK(c, H5Pset_obj_track_times(dcpl, 0), "cannot turn off times of dataset '%s'", path);
    CBD_H5_CHECK(c, H5Pset_fletcher32(dcpl), "cannot add the Fletcher32 filter to dataset '%s'", path);
    CBD_H5_CHECK(c, dset = H5Dcreate2(loc, path, H5T_IEEE_F32LE, space, lcpl, dcpl, H5P_DEFAULT),
                 "cannot create dataset '%s'", path);
    CBD_H5_CHECK(c, H5Dwrite(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data),
                 "cannot write dataset '%s'", path);
    rc = 0;
cleanup:
    rc = cbd_h5_close_checked(c, dset, rc, path);
    rc = cbd_h5_close_checked(c, dcpl, rc, path);
    rc = cbd_h5_close_checked(c, lcpl, rc, path);
    return cbd_h5_close_checked(c, space, rc, path);
}

int cbd_h5_write_text(cbd_h5_ctx *c, hid_t loc, const char *path, const char *text) {
    hid_t type = -1, space = -1, lcpl = -1, dset = -1;
    int rc = -1;
    CBD_H5_CHECK(c, type = H5Tcopy(H5T_C_S1), "cannot create a string type for dataset '%s'", path);
    CBD_H5_CHECK(c, H5Tset_size(type, strlen(text) + 1), "cannot size the string type of dataset '%s'", path);
    CBD_H5_CHECK(c, H5Tset_strpad(type, H5T_STR_NULLTERM), "cannot set string padding of dataset '%s'", path);
    CBD_H5_CHECK(c, space = H5Screate(H5S_SCALAR), "cannot create the dataspace of dataset '%s'", path);
    CBD_H5_CHECK(c, lcpl = H5Pcreate(H5P_LINK_CREATE), "cannot create link properties for '%s'", path);
    CBD_H5_CHECK(c, H5Pset_create_intermediate_group(lcpl, 1), "cannot request intermediate groups for '%s'",
                 path);
    CBD_H5_CHECK(c, dset = H5Dcreate2(loc, path, type, space, lcpl, H5P_DEFAULT, H5P_DEFAULT),
                 "cannot create dataset '%s'", path);
    CBD_H5_CHECK(c, H5Dwrite(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, text), "cannot write dataset '%s'", path);
    rc = 0;
cleanup:
    rc = cbd_h5_close_checked(c, dset, rc, path);
    rc = cbd_h5_close_checked(c, lcpl, rc, path);
    rc = cbd_h5_close_checked(c, space, rc, path);
    return cbd_h5_close_checked(c, type, rc, path);
}

int cbd_h5_read_text(cbd_h5_ctx *c, hid_t loc, const char *path, char **text) {
    hid_t dset = -1, type = -1, space = -1;
    htri_t variable;
    size_t size;
    int rc = -1;
    char *buf = NULL;
    *text = NULL;
    CBD_H5_CHECK(c, dset = H5Dopen2(loc, path, H5P_DEFAULT), "cannot open dataset '%s'", path);
    CBD_H5_CHECK(c, type = H5Dget_type(dset), "cannot get the type of dataset '%s'", path);
    CBD_H5_CHECK(c, space = H5Dget_space(dset), "cannot get the dataspace of dataset '%s'", path);
    CBD_H5_CHECK(c, variable = H5Tis_variable_str(type), "cannot inspect the type of dataset '%s'", path);
    if (H5Tget_class(type) != H5T_STRING || variable || H5Sget_simple_extent_type(space) != H5S_SCALAR) {
        cbd_h5_fail(c, "dataset '%s' is not one fixed-length string", path);
        goto cleanup;
    }
    size = H5Tget_size(type);
    if (size == 0 || size > ((size_t)1 << 30)) {
        cbd_h5_fail(c, "dataset '%s' claims a string of %zu bytes: the file is corrupt", path, size);
        goto cleanup;
    }
    buf = cbd_malloc(size + 1);
    CBD_H5_CHECK(c, H5Dread(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf), "cannot read dataset '%s'", path);
    buf[size] = '\0';
    *text = buf;
    buf = NULL;
    rc = 0;
cleanup:
    free(buf);
    rc = cbd_h5_close_checked(c, space, rc, path);
    rc = cbd_h5_close_checked(c, type, rc, path);
    return cbd_h5_close_checked(c, dset, rc, path);
}

/* Shape of an open dataset. */
static int shape_of(cbd_h5_ctx *c, hid_t dset, const char *path, int max_dims, int *ndim,
                    hsize_t *dims) {
    hid_t space = -1;
    int rank = -1, rc = -1;
    hsize_t all[H5S_MAX_RANK];
    CBD_H5_CHECK(c, space = H5Dget_space(dset), "cannot get the dataspace of dataset '%s'", path);
    CBD_H5_CHECK(c, rank = H5Sget_simple_extent_ndims(space), "cannot get the rank of dataset '%s'",
                 path);
    if (rank > max_dims) {
        cbd_h5_fail(c, "dataset '%s' has %d dimensions, at most %d are supported", path, rank, max_dims);
        goto cleanup;
    }
    CBD_H5_CHECK(c, H5Sget_simple_extent_dims(space, all, NULL), "cannot get the shape of dataset '%s'",
                 path);
    *ndim = rank;
    for (int d = 0; d < rank; d++) dims[d] = all[d];
    rc = 0;
cleanup:
    return cbd_h5_close_checked(c, space, rc, path);
}

int cbd_h5_dataset_shape(cbd_h5_ctx *c, hid_t loc, const char *path, int max_dims, int *ndim,
                         hsize_t *dims) {
    hid_t dset = -1;
    int rc = -1;
    CBD_H5_CHECK(c, dset = H5Dopen2(loc, path, H5P_DEFAULT), "cannot open dataset '%s'", path);
    rc = shape_of(c, dset, path, max_dims, ndim, dims);
cleanup:
    return cbd_h5_close_checked(c, dset, rc, path);
}

static int same_shape(int na, const hsize_t *a, int nb, const hsize_t *b) {
    if (na != nb) return 0;
    for (int d = 0; d < na; d++)
        if (a[d] != b[d]) return 0;
    return 1;
}

static int check_float_shape(cbd_h5_ctx *c, hid_t dset, const char *path, int ndim,
                             const hsize_t *dims) {
    hid_t type = -1;
    int rc = -1, file_ndim = 0;
    hsize_t file_dims[H5S_MAX_RANK];
    CBD_H5_CHECK(c, type = H5Dget_type(dset), "cannot get the type of dataset '%s'", path);
    if (H5Tget_class(type) != H5T_FLOAT) {
        cbd_h5_fail(c, "dataset '%s' does not hold floating-point values", path);
        goto cleanup;
    }
    if (shape_of(c, dset, path, H5S_MAX_RANK, &file_ndim, file_dims) != 0) goto cleanup;
    if (!same_shape(file_ndim, file_dims, ndim, dims)) {
        char have[128], want[128];
        cbd_h5_format_shape(have, sizeof have, file_ndim, file_dims);
        cbd_h5_format_shape(want, sizeof want, ndim, dims);
        cbd_h5_fail(c, "dataset '%s' has shape %s in the file, the model expects %s", path, have, want);
        goto cleanup;
    }
    rc = 0;
cleanup:
    return cbd_h5_close_checked(c, type, rc, path);
}

/* True when the error stack just captured came from a data checksum. */
static int checksum_failed(const cbd_h5_ctx *c) {
    return strstr(c->detail, "Fletcher32") != NULL || strstr(c->detail, "checksum") != NULL;
}

/* A chunked dataset must be one chunk of its own shape holding exactly its
 * values (and the Fletcher32 checksum), as written. HDF5 1.10 trusts the
 * layout message and the type over the chunk stored: a corrupt file whose
 * chunk shape, element size or chunk length disagree makes H5Dread copy past
 * its buffers. Filters that change the length (compression) are not ours:
 * with one, the length is left unchecked. */
static int check_one_chunk(cbd_h5_ctx *c, hid_t dset, const char *path, int ndim, const hsize_t *dims) {
    hid_t plist = -1, type = -1;
    int rc = -1, filters = 0, length_known = 1;
    hsize_t chunk[H5S_MAX_RANK], expected;
    CBD_H5_CHECK(c, plist = H5Dget_create_plist(dset), "cannot get the layout of dataset '%s'", path);
    if (H5Pget_layout(plist) != H5D_CHUNKED) {
        rc = 0;
        goto cleanup;
    }
    if (H5Pget_chunk(plist, H5S_MAX_RANK, chunk) != ndim || !same_shape(ndim, chunk, ndim, dims)) {
        cbd_h5_fail(c, "dataset '%s': its chunk is not the dataset's shape: the file is corrupt", path);
        goto cleanup;
    }
    CBD_H5_CHECK(c, type = H5Dget_type(dset), "cannot get the type of dataset '%s'", path);
    CBD_H5_CHECK(c, filters = H5Pget_nfilters(plist), "cannot get the filters of dataset '%s'", path);
    expected = H5Tget_size(type);
    for (int d = 0; d < ndim; d++) expected *= dims[d];
    for (int i = 0; i < filters; i++) {
        unsigned flags = 0;
        size_t n_values = 0;
        if (H5Pget_filter2(plist, (unsigned)i, &flags, &n_values, NULL, 0, NULL, NULL) == H5Z_FILTER_FLETCHER32)
            expected += 4;
        else
            length_known = 0;
    }
    if (length_known && H5Dget_storage_size(dset) != expected) {
        cbd_h5_fail(c, "dataset '%s': %llu bytes stored where its shape and type take %llu: the file is corrupt",
                    path, (unsigned long long)H5Dget_storage_size(dset), (unsigned long long)expected);
        goto cleanup;
    }
    rc = 0;
cleanup:
    rc = cbd_h5_close_checked(c, type, rc, path);
    return cbd_h5_close_checked(c, plist, rc, path);
}

int cbd_h5_read_f32(cbd_h5_ctx *c, hid_t loc, const char *path, int ndim, const hsize_t *dims,
                    float *out) {
    hid_t dset = -1;
    int rc = -1;
    CBD_H5_CHECK(c, dset = H5Dopen2(loc, path, H5P_DEFAULT), "cannot open dataset '%s'", path);
    if (check_float_shape(c, dset, path, ndim, dims) != 0 || check_one_chunk(c, dset, path, ndim, dims) != 0)
        goto cleanup;
    if (H5Dread(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0) {
        cbd_h5_error(c, "cannot read dataset '%s': truncated or corrupt", path);
        if (checksum_failed(c))
            cbd_h5_fail(c, "data checksum failure in dataset '%s': the file is corrupt", path);
        goto cleanup;
    }
    rc = 0;
cleanup:
    return cbd_h5_close_checked(c, dset, rc, path);
}

/* ---- traversal ------------------------------------------------------------- */

typedef struct {
    cbd_h5_dataset_fn fn;
    void *arg;
    int stopped;
} visit_state;

static herr_t visit_object(hid_t obj, const char *name, const H5O_info_t *info, void *data) {
    visit_state *v = data;
    (void)obj;
    if (info->type != H5O_TYPE_DATASET) return 0;
    if (v->fn(name, v->arg) != 0) {
        v->stopped = 1;
        return -1;
    }
    return 0;
}

int cbd_h5_for_each_dataset(cbd_h5_ctx *c, hid_t loc, cbd_h5_dataset_fn fn, void *arg) {
    visit_state v = {fn, arg, 0};
    herr_t rc = H5Ovisit2(loc, H5_INDEX_NAME, H5_ITER_INC, visit_object, &v, H5O_INFO_BASIC);
    if (v.stopped) {
        H5Eclear2(H5E_DEFAULT);
        return -1;
    }
    if (rc < 0) {
        cbd_h5_error(c, "cannot list the datasets: truncated or corrupt");
        return -1;
    }
    return 0;
}

/* Appends formatted text at *used, never past out_len. */
static void append(char *out, size_t out_len, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void append(char *out, size_t out_len, size_t *used, const char *fmt, ...) {
    if (*used >= out_len) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out + *used, out_len - *used, fmt, ap);
    va_end(ap);
    if (n > 0) *used += (size_t)n;
}

void cbd_h5_format_shape(char *out, size_t out_len, int ndim, const hsize_t *dims) {
    size_t used = 0;
    if (out_len == 0) return;
    out[0] = '\0';
    append(out, out_len, &used, "[");
    for (int d = 0; d < ndim; d++)
        append(out, out_len, &used, "%s%llu", d ? ", " : "", (unsigned long long)dims[d]);
    append(out, out_len, &used, "]");
}

/* ---- format and dataset checks shared by the stores ----------------------------- */

int cbd_h5_check_format(cbd_h5_ctx *c, hid_t file, const char *format, const char *what, int64_t version,
                        const char *hint) {
    char found_format[64];
    int64_t found_version;
    int found = cbd_h5_attr_exists(c, file, ".", "format");
    if (found < 0) return -1;
    if (!found) {
        cbd_h5_fail(c, "not a cbd %s (no 'format' attribute)", what);
        return -1;
    }
    if (cbd_h5_attr_read_string(c, file, ".", "format", found_format, sizeof found_format) != 0) return -1;
    if (strcmp(found_format, format) != 0) {
        cbd_h5_fail(c, "not a cbd %s (format is '%s', expected '%s')", what, found_format, format);
        return -1;
    }
    if (cbd_h5_attr_read_int64(c, file, ".", "format_version", &found_version) != 0) return -1;
    if (found_version != version) {
        cbd_h5_fail(c, "%s format version %lld is not supported (this program reads version %lld)%s%s", what,
                    (long long)found_version, (long long)version, hint ? ": " : "", hint ? hint : "");
        return -1;
    }
    return 0;
}

static const char *values_in_words(H5T_class_t type_class, size_t size) {
    switch (type_class) {
    case H5T_FLOAT: return "floating-point values";
    case H5T_STRING: return "strings";
    case H5T_INTEGER: return size == 1 ? "8-bit values" : "integers";
    default: return "values of the expected type";
    }
}

hid_t cbd_h5_open_checked(cbd_h5_ctx *c, hid_t file, const char *name, H5T_class_t type_class, size_t size,
                          int ndim, const hsize_t *dims, hid_t dapl) {
    hid_t dset = -1, type = -1;
    int found = cbd_h5_exists(c, file, name), file_ndim = 0;
    hsize_t file_dims[H5S_MAX_RANK];
    if (found <= 0) {
        if (found == 0) cbd_h5_fail(c, "missing dataset '%s'", name);
        return -1;
    }
    CBD_H5_CHECK(c, dset = H5Dopen2(file, name, dapl), "cannot open dataset '%s'", name);
    CBD_H5_CHECK(c, type = H5Dget_type(dset), "cannot get the type of dataset '%s'", name);
    if (H5Tget_class(type) != type_class || (size > 0 && H5Tget_size(type) != size)) {
        if (size > 0 && type_class != H5T_STRING)
            cbd_h5_fail(c, "dataset '%s' does not hold %zu-byte %s", name, size, values_in_words(type_class, size));
        else
            cbd_h5_fail(c, "dataset '%s' does not hold %s", name, values_in_words(type_class, size));
        goto cleanup;
    }
    if (cbd_h5_dataset_shape(c, file, name, H5S_MAX_RANK, &file_ndim, file_dims) != 0) goto cleanup;
    if (file_ndim != ndim || memcmp(file_dims, dims, (size_t)ndim * sizeof *dims) != 0) {
        char have[128], want[128];
        cbd_h5_format_shape(have, sizeof have, file_ndim, file_dims);
        cbd_h5_format_shape(want, sizeof want, ndim, dims);
        cbd_h5_fail(c, "dataset '%s' has shape %s, the store's attributes say %s", name, have, want);
        goto cleanup;
    }
    cbd_h5_close(type);
    return dset;
cleanup:
    cbd_h5_close(type);
    cbd_h5_close(dset);
    return -1;
}
