/* Datasets: what the tree shows of one (shape, type, layout, chunks,
 * filters, bytes on disk), and the shape and type of one looked up by name
 * for the summaries and checks of the stores. */
#include "tools/h5inspect/h5inspect.h"

#include <string.h>

#include "nn/log.h"

static void describe_space(inspector *in, hid_t space, const char *path, int *ndim, hsize_t *dims) {
    H5S_class_t cls;
    TRY(in, cls = H5Sget_simple_extent_type(space), "cannot get the dataspace of '%s'", path);
    if (cls == H5S_NULL) {
        *ndim = -1;
        return;
    }
    TRY(in, *ndim = H5Sget_simple_extent_dims(space, dims, NULL), "cannot get the shape of '%s'", path);
}

static void describe_filters(inspector *in, hid_t dcpl, const char *path, dset_info *d) {
    int n;
    TRY(in, n = H5Pget_nfilters(dcpl), "cannot count the filters of '%s'", path);
    d->nfilters = n < 16 ? n : 16;
    for (int k = 0; k < d->nfilters; k++) {
        filter_info *f = &d->filters[k];
        unsigned flags = 0, config = 0, cd[8] = {0};
        size_t ncd = 8;
        TRY(in, f->id = H5Pget_filter2(dcpl, (unsigned)k, &flags, &ncd, cd, sizeof f->name, f->name, &config),
            "cannot get filter %d of '%s'", k, path);
        f->level = ncd > 0 ? cd[0] : 0;
        switch (f->id) {
        case H5Z_FILTER_DEFLATE: snprintf(f->name, sizeof f->name, "deflate"); break;
        case H5Z_FILTER_SHUFFLE: snprintf(f->name, sizeof f->name, "shuffle"); break;
        case H5Z_FILTER_FLETCHER32: snprintf(f->name, sizeof f->name, "fletcher32"); break;
        case H5Z_FILTER_SZIP: snprintf(f->name, sizeof f->name, "szip"); break;
        case H5Z_FILTER_NBIT: snprintf(f->name, sizeof f->name, "nbit"); break;
        case H5Z_FILTER_SCALEOFFSET: snprintf(f->name, sizeof f->name, "scaleoffset"); break;
        default: if (!f->name[0]) snprintf(f->name, sizeof f->name, "filter %d", (int)f->id); break;
        }
    }
}

void describe_dataset(inspector *in, hid_t dset, const char *path, dset_info *d) {
    hid_t space = -1, type = -1, dcpl = -1;
    memset(d, 0, sizeof *d);
    TRY(in, space = H5Dget_space(dset), "cannot get the dataspace of '%s'", path);
    describe_space(in, space, path, &d->ndim, d->dims);
    TRY(in, type = H5Dget_type(dset), "cannot get the type of '%s'", path);
    type_words(in, type, &d->dtype);
    TRY(in, dcpl = H5Dget_create_plist(dset), "cannot get the creation properties of '%s'", path);
    TRY(in, d->layout = H5Pget_layout(dcpl), "cannot get the layout of '%s'", path);
    if (d->layout == H5D_CHUNKED)
        TRY(in, d->chunk_ndim = H5Pget_chunk(dcpl, MAX_RANK, d->chunk), "cannot get the chunk shape of '%s'", path);
    describe_filters(in, dcpl, path, d);
    d->storage = H5Dget_storage_size(dset);
    close_id(in, dcpl, "dataset properties");
    close_id(in, type, "a dataset type");
    close_id(in, space, "a dataspace");
}

static const char *layout_name(H5D_layout_t layout) {
    switch (layout) {
    case H5D_COMPACT: return "compact";
    case H5D_CONTIGUOUS: return "contiguous";
    case H5D_CHUNKED: return "chunked";
    case H5D_VIRTUAL: return "virtual";
    default: return "unknown layout";
    }
}

void dataset_text(const dset_info *d, cbd_text *b) {
    cbd_text_printf(b, "%s ", cbd_text_str(&d->dtype));
    if (d->ndim < 0) cbd_text_printf(b, "null");
    else if (d->ndim == 0) cbd_text_printf(b, "scalar");
    else text_shape(b, d->ndim, d->dims);
    cbd_text_printf(b, ", %s", layout_name(d->layout));
    if (d->layout == H5D_CHUNKED) {
        cbd_text_printf(b, " ");
        text_shape(b, d->chunk_ndim, d->chunk);
    }
    for (int k = 0; k < d->nfilters; k++) {
        cbd_text_printf(b, ", %s", d->filters[k].name);
        if (d->filters[k].id == H5Z_FILTER_DEFLATE) cbd_text_printf(b, " %u", d->filters[k].level);
    }
}

void dataset_json(json_out *w, const dset_info *d) {
    jw_str(w, "dtype", cbd_text_str(&d->dtype));
    if (d->ndim < 0) jw_null(w, "shape");
    else jw_shape(w, "shape", d->ndim, d->dims);
    jw_str(w, "layout", layout_name(d->layout));
    if (d->layout == H5D_CHUNKED) jw_shape(w, "chunks", d->chunk_ndim, d->chunk);
    else jw_null(w, "chunks");
    jw_open(w, "filters", '[', 1);
    for (int k = 0; k < d->nfilters; k++) {
        jw_open(w, NULL, '{', 1);
        jw_str(w, "name", d->filters[k].name);
        if (d->filters[k].id == H5Z_FILTER_DEFLATE) jw_u64(w, "level", d->filters[k].level);
        else if (d->filters[k].id >= 256) jw_i64(w, "id", d->filters[k].id);
        jw_end_object(w);
    }
    jw_end_array(w);
    jw_u64(w, "storage_bytes", d->storage);
}

void describe(inspector *in, const char *name, ds_desc *d) {
    hid_t obj = -1, dset = -1, type = -1, space = -1;
    memset(d, 0, sizeof *d);
    int found = cbd_h5_exists(&in->h5, in->file, name);
    if (found < 0) die_h5(in);
    if (!found) return;
    d->exists = 1;
    H5I_type_t t;
    TRY(in, obj = H5Oopen(in->file, name, H5P_DEFAULT), "cannot open '%s'", name);
    TRY(in, t = H5Iget_type(obj), "cannot get the kind of '%s'", name);
    close_id(in, obj, name);
    if (t != H5I_DATASET) return;
    d->is_dataset = 1;
    TRY(in, dset = H5Dopen2(in->file, name, H5P_DEFAULT), "cannot open dataset '%s'", name);
    TRY(in, space = H5Dget_space(dset), "cannot get the dataspace of '%s'", name);
    describe_space(in, space, name, &d->ndim, d->dims);
    TRY(in, type = H5Dget_type(dset), "cannot get the type of '%s'", name);
    TRY(in, d->cls = H5Tget_class(type), "cannot get the type class of '%s'", name);
    d->size = H5Tget_size(type);
    d->half = is_half_type(in, type);
    type_words(in, type, &d->words);
    close_id(in, type, name);
    close_id(in, space, name);
    close_id(in, dset, name);
}

int desc_is(const ds_desc *d, int ndim, const hsize_t *dims) {
    if (!d->is_dataset || d->ndim != ndim) return 0;
    for (int k = 0; k < ndim; k++)
        if (d->dims[k] != dims[k]) return 0;
    return 1;
}

void desc_free(ds_desc *d) { cbd_text_free(&d->words); }

const char *desc_shape(const ds_desc *d, char *out, size_t out_len) {
    if (!d->exists) snprintf(out, out_len, "missing");
    else if (!d->is_dataset) snprintf(out, out_len, "not a dataset");
    else if (d->ndim < 0) snprintf(out, out_len, "null");
    else cbd_h5_format_shape(out, out_len, d->ndim, d->dims);
    return out;
}

hsize_t element_count(int ndim, const hsize_t *dims) {
    hsize_t n = 1;
    for (int k = 0; k < ndim; k++) n *= dims[k];
    return ndim < 0 ? 0 : n;
}

int read_int64s(inspector *in, const char *name, hsize_t n, int64_t *out) {
    hid_t dset = -1;
    int rc = -1;
    CBD_H5_CHECK(&in->h5, dset = H5Dopen2(in->file, name, H5P_DEFAULT), "cannot open dataset '%s'", name);
    if (n > 0)
        CBD_H5_CHECK(&in->h5, H5Dread(dset, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, out),
                     "cannot read dataset '%s'", name);
    rc = 0;
cleanup:
    return cbd_h5_close_checked(&in->h5, dset, rc, name);
}
