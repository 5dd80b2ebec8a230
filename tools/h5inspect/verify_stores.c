/* --verify of checkpoints (every dataset readable and finite, every tensor
 * of the model it describes present) and image stores (complete, shapes that
 * agree with the attributes, labels in range). */
#include "tools/h5inspect/h5inspect.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#include "nn/backend.h"
#include "nn/log.h"
#include "store/checkpoint.h"

/* Reads a whole dataset; float data is checked for NaN/Inf. */
static void verify_dataset(inspector *in, const char *path, defect_list *d, hsize_t *values) {
    ds_desc desc;
    describe(in, path + 1, &desc);
    const hsize_t n = element_count(desc.ndim, desc.dims);
    *values += n;
    if (n == 0) {
        desc_free(&desc);
        return;
    }
    hid_t dset = -1, type = -1;
    void *buf = NULL;
    int rc = -1;
    CBD_H5_CHECK(&in->h5, dset = H5Dopen2(in->file, path, H5P_DEFAULT), "cannot open '%s'", path);
    if (desc.cls == H5T_FLOAT && !desc.half) {
        float *x = buf = cbd_malloc(n * sizeof *x);
        CBD_H5_CHECK(&in->h5, H5Dread(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x), "cannot read");
        hsize_t nan = 0, inf = 0, first = 0;
        for (hsize_t k = 0; k < n; k++) {
            if (isfinite(x[k])) continue;
            if (nan + inf == 0) first = k;
            if (isnan(x[k])) nan++;
            else inf++;
        }
        if (nan || inf)
            defect(d, "non-finite values in %s: %llu NaN, %llu Inf, first at index %llu", path,
                   (unsigned long long)nan, (unsigned long long)inf, (unsigned long long)first);
    } else {
        htri_t variable;
        CBD_H5_CHECK(&in->h5, type = H5Dget_type(dset), "cannot get the type");
        CBD_H5_CHECK(&in->h5, variable = H5Tdetect_class(type, H5T_VLEN), "cannot inspect the type");
        if (!variable && desc.cls != H5T_STRING) {
            buf = cbd_malloc(n * desc.size);
            CBD_H5_CHECK(&in->h5, H5Dread(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf), "cannot read");
            if (desc.half) {
                hsize_t bad = 0, first = 0;
                for (hsize_t k = 0; k < n; k++)
                    if ((((const uint16_t *)buf)[k] & 0x7c00u) == 0x7c00u && bad++ == 0) first = k;
                if (bad)
                    defect(d, "non-finite values in %s: %llu NaN or Inf, first at index %llu", path,
                           (unsigned long long)bad, (unsigned long long)first);
            }
        }
    }
    rc = 0;
cleanup:
    if (rc != 0) defect(d, "cannot read %s: %s", path, err_text(in));
    free(buf);
    if (cbd_h5_close(type) < 0 || cbd_h5_close(dset) < 0) {
        cbd_h5_error(&in->h5, "cannot close '%s'", path);
        die_h5(in);
    }
    desc_free(&desc);
}

/* Every tensor the model the checkpoint describes needs is there with its
 * shape: load it into that model, as the stages would (cbd-ckpt verify). */
static void verify_checkpoint_complete(inspector *in, defect_list *d) {
    char err[1024];
    cbd_checkpoint_meta meta;
    if (cbd_checkpoint_read_meta(in->path, &meta, err, sizeof err) != 0) {
        defect(d, "%s", err);
        return;
    }
    cbd_model_config cfg;
    cbd_checkpoint_meta_to_config(&meta, &cfg);
    cbd_backend *be = cbd_backend_create("cpu", err, sizeof err);
    if (!be) cbd_fail(CBD_EXIT_FAILURE, "cannot create the cpu backend: %s", err);
    cbd_model m;
    if (cbd_model_create(&m, be, &cfg, err, sizeof err) != 0) {
        defect(d, "cannot build the model it describes: %s", err);
    } else {
        if (cbd_checkpoint_load(in->path, &cfg, &m.params, NULL, err, sizeof err) != 0) defect(d, "%s", err);
        cbd_model_free(&m);
    }
    cbd_backend_destroy(be);
}

void verify_checkpoint(inspector *in, const obj_list *objs, defect_list *d, cbd_text *ok) {
    meta_i64 version, classes, in_channels, epoch, step;
    meta_str arch;
    meta_read_i64(in, "format_version", &version, d);
    if (version.state == 1 && version.v != 1)
        defect(d, "format_version is %" PRId64 ", this tool reads version 1", version.v);
    meta_read_str(in, "arch", &arch, d);
    meta_read_i64(in, "classes", &classes, d);
    meta_read_i64(in, "in_channels", &in_channels, d);
    meta_read_i64(in, "epoch", &epoch, d);
    meta_read_i64(in, "step", &step, d);
    int datasets = 0;
    hsize_t values = 0;
    for (int k = 0; k < objs->count; k++)
        if (objs->items[k].kind == OBJ_DATASET) {
            verify_dataset(in, objs->items[k].path, d, &values);
            datasets++;
        }
    if (datasets == 0) defect(d, "no datasets: a checkpoint holds at least one parameter");
    else verify_checkpoint_complete(in, d);
    cbd_text_printf(ok, "checkpoint %s, %d datasets (%llu values) readable and finite, every tensor of its model present",
              meta_text(&arch), datasets, (unsigned long long)values);
}

void verify_image_store(inspector *in, defect_list *d, cbd_text *ok) {
    meta_i64 version, classes, channels, height, width, complete;
    ds_desc images, labels;
    meta_read_i64(in, "format_version", &version, d);
    if (version.state == 1 && version.v != 1)
        defect(d, "format_version is %" PRId64 ", this tool reads version 1", version.v);
    meta_read_i64(in, "classes", &classes, d);
    meta_read_i64(in, "channels", &channels, d);
    meta_read_i64(in, "height", &height, d);
    meta_read_i64(in, "width", &width, d);
    meta_read_i64(in, "complete", &complete, d);
    if (complete.state == 1 && complete.v != 1) defect(d, "incomplete: complete = %" PRId64, complete.v);
    describe(in, "images", &images);
    describe(in, "labels", &labels);
    char have[128];
    hsize_t n = 0;
    if (!images.is_dataset || images.ndim != 4) {
        defect(d, "shape: /images must be [n, height, width, channels], it is %s",
               desc_shape(&images, have, sizeof have));
    } else {
        n = images.dims[0];
        const struct {
            const char *name;
            const meta_i64 *m;
            int dim;
        } sizes[] = {{"height", &height, 1}, {"width", &width, 2}, {"channels", &channels, 3}};
        for (int k = 0; k < 3; k++)
            if (sizes[k].m->state == 1 && (sizes[k].m->v < 0 || (hsize_t)sizes[k].m->v != images.dims[sizes[k].dim]))
                defect(d, "shape: attribute %s = %" PRId64 " but /images dimension %d is %llu", sizes[k].name,
                       sizes[k].m->v, sizes[k].dim, (unsigned long long)images.dims[sizes[k].dim]);
        hsize_t values = 0;
        verify_dataset(in, "/images", d, &values);
    }
    const hsize_t ndims[1] = {n};
    if (images.is_dataset && images.ndim == 4 && !desc_is(&labels, 1, ndims)) {
        defect(d, "shape: /labels is %s, /images needs [%llu]", desc_shape(&labels, have, sizeof have),
               (unsigned long long)n);
    } else if (images.is_dataset && images.ndim == 4) {
        int64_t *l = cbd_calloc(n, sizeof *l);
        if (read_int64s(in, "labels", n, l) != 0) {
            defect(d, "cannot read /labels: %s", err_text(in));
        } else if (classes.state == 1) {
            hsize_t bad = 0, first = 0;
            for (hsize_t i = 0; i < n; i++)
                if ((l[i] < 0 || l[i] >= classes.v) && bad++ == 0) first = i;
            if (bad)
                defect(d, "labels out of range: %llu label%s outside 0..%" PRId64 ", first at row %llu (%" PRId64 ")",
                       (unsigned long long)bad, bad == 1 ? "" : "s", classes.v - 1, (unsigned long long)first,
                       l[first]);
        }
        free(l);
    }
    cbd_text_printf(ok, "complete image store, %llu images", (unsigned long long)n);
    desc_free(&images);
    desc_free(&labels);
}
