/* Attributes of any object: read whatever their type (numbers, strings,
 * enums; the first KEEP values of long arrays), written as "name = value"
 * lines and as JSON members. */
#include "tools/h5inspect/h5inspect.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"
#include "store/half.h"

enum { KEEP = 64, TEXT_VALUES = 8 };

typedef enum { AV_INT, AV_UINT, AV_FLOAT, AV_STRING, AV_ENUM, AV_OTHER } av_kind;

struct attr_value {
    char *name;
    cbd_text words;
    av_kind kind;
    int single;          /* floats of 4 bytes or less: printed as float */
    int ndim;            /* -1: null dataspace, 0: scalar */
    hsize_t dims[MAX_RANK];
    hsize_t count;       /* values */
    hsize_t kept;        /* values held below: min(count, KEEP) */
    int64_t i[KEEP];
    uint64_t u[KEEP];
    double f[KEEP];
    char *s[KEEP];       /* strings and enum names */
};

static void attr_free(attr_value *a) {
    free(a->name);
    cbd_text_free(&a->words);
    for (hsize_t k = 0; k < a->kept; k++)
        if (a->kind == AV_STRING || a->kind == AV_ENUM) free(a->s[k]);
}

static void read_attr_strings(inspector *in, hid_t attr, hid_t type, attr_value *a) {
    htri_t variable;
    TRY(in, variable = H5Tis_variable_str(type), "cannot inspect the type of attribute '%s'", a->name);
    if (variable) {
        H5T_cset_t cset;
        hid_t mem = -1;
        char **v = cbd_calloc(a->count, sizeof *v);
        TRY(in, cset = H5Tget_cset(type), "cannot get the character set of attribute '%s'", a->name);
        TRY(in, mem = H5Tcopy(H5T_C_S1), "cannot create a string type");
        TRY(in, H5Tset_size(mem, H5T_VARIABLE), "cannot size a string type");
        TRY(in, H5Tset_cset(mem, cset), "cannot set a character set");
        TRY(in, H5Aread(attr, mem, v), "cannot read attribute '%s'", a->name);
        for (hsize_t k = 0; k < a->count; k++) {
            if (k < a->kept) a->s[k] = cbd_strdup(v[k] ? v[k] : "");
            if (v[k]) TRY(in, H5free_memory(v[k]), "cannot free the value of attribute '%s'", a->name);
        }
        free(v);
        close_id(in, mem, "a string type");
        return;
    }
    size_t size = H5Tget_size(type);
    H5T_str_t pad;
    if (size == 0) {
        cbd_h5_error(&in->h5, "cannot get the size of attribute '%s'", a->name);
        die_h5(in);
    }
    TRY(in, pad = H5Tget_strpad(type), "cannot get the padding of attribute '%s'", a->name);
    char *raw = cbd_malloc(a->count * size);
    TRY(in, H5Aread(attr, type, raw), "cannot read attribute '%s'", a->name);
    for (hsize_t k = 0; k < a->kept; k++) {
        char *s = cbd_malloc(size + 1);
        memcpy(s, raw + k * size, size);
        s[size] = '\0';
        if (pad == H5T_STR_SPACEPAD)
            for (size_t e = strlen(s); e > 0 && s[e - 1] == ' '; e--) s[e - 1] = '\0';
        a->s[k] = s;
    }
    free(raw);
}

static void read_attr_enum(inspector *in, hid_t attr, hid_t type, attr_value *a) {
    hid_t native = -1;
    size_t size;
    TRY(in, native = H5Tget_native_type(type, H5T_DIR_ASCEND), "cannot get the native type of attribute '%s'",
        a->name);
    if ((size = H5Tget_size(native)) == 0) {
        cbd_h5_error(&in->h5, "cannot get the size of attribute '%s'", a->name);
        die_h5(in);
    }
    unsigned char *raw = cbd_malloc(a->count * size);
    TRY(in, H5Aread(attr, native, raw), "cannot read attribute '%s'", a->name);
    for (hsize_t k = 0; k < a->kept; k++) {
        char name[256];
        if (H5Tenum_nameof(native, raw + k * size, name, sizeof name) < 0) {
            H5Eclear2(H5E_DEFAULT);
            snprintf(name, sizeof name, "?");
        }
        a->s[k] = cbd_strdup(name);
    }
    free(raw);
    close_id(in, native, "an enum type");
}

static void read_attr_numbers(inspector *in, hid_t attr, hid_t type, H5T_class_t cls, attr_value *a) {
    if (cls == H5T_INTEGER) {
        H5T_sign_t sign;
        TRY(in, sign = H5Tget_sign(type), "cannot get the sign of attribute '%s'", a->name);
        a->kind = sign == H5T_SGN_NONE ? AV_UINT : AV_INT;
        void *v = cbd_malloc(a->count * sizeof(int64_t));
        TRY(in, H5Aread(attr, a->kind == AV_UINT ? H5T_NATIVE_UINT64 : H5T_NATIVE_INT64, v),
            "cannot read attribute '%s'", a->name);
        for (hsize_t k = 0; k < a->kept; k++) {
            if (a->kind == AV_UINT) a->u[k] = ((uint64_t *)v)[k];
            else a->i[k] = ((int64_t *)v)[k];
        }
        free(v);
        return;
    }
    a->kind = AV_FLOAT;
    a->single = H5Tget_size(type) <= 4;
    if (is_half_type(in, type)) {
        H5T_order_t order;
        uint16_t *h = cbd_malloc(a->count * sizeof *h);
        TRY(in, order = H5Tget_order(type), "cannot get the byte order of attribute '%s'", a->name);
        TRY(in, H5Aread(attr, type, h), "cannot read attribute '%s'", a->name);
        for (hsize_t k = 0; k < a->kept; k++)
            a->f[k] = cbd_half_to_float(order == H5T_ORDER_BE ? (uint16_t)(h[k] >> 8 | h[k] << 8) : h[k]);
        free(h);
        return;
    }
    double *v = cbd_malloc(a->count * sizeof *v);
    TRY(in, H5Aread(attr, H5T_NATIVE_DOUBLE, v), "cannot read attribute '%s'", a->name);
    for (hsize_t k = 0; k < a->kept; k++) a->f[k] = v[k];
    free(v);
}

static void read_attr(inspector *in, hid_t obj, const char *name, attr_value *a) {
    hid_t attr = -1, space = -1, type = -1;
    H5S_class_t space_class;
    H5T_class_t cls;
    memset(a, 0, sizeof *a);
    a->name = cbd_strdup(name);
    TRY(in, attr = H5Aopen(obj, name, H5P_DEFAULT), "cannot open attribute '%s'", name);
    TRY(in, space = H5Aget_space(attr), "cannot get the dataspace of attribute '%s'", name);
    TRY(in, type = H5Aget_type(attr), "cannot get the type of attribute '%s'", name);
    TRY(in, space_class = H5Sget_simple_extent_type(space), "cannot get the dataspace of attribute '%s'", name);
    type_words(in, type, &a->words);
    if (space_class == H5S_NULL) {
        a->ndim = -1;
    } else {
        hssize_t points;
        TRY(in, a->ndim = H5Sget_simple_extent_dims(space, a->dims, NULL), "cannot get the shape of attribute '%s'",
            name);
        TRY(in, points = H5Sget_simple_extent_npoints(space), "cannot count the values of attribute '%s'", name);
        a->count = (hsize_t)points;
    }
    a->kept = a->count < KEEP ? a->count : KEEP;
    TRY(in, cls = H5Tget_class(type), "cannot get the type class of attribute '%s'", name);
    a->kind = AV_OTHER;
    if (a->count > 0) {
        if (cls == H5T_INTEGER || cls == H5T_FLOAT) read_attr_numbers(in, attr, type, cls, a);
        else if (cls == H5T_STRING) a->kind = AV_STRING, read_attr_strings(in, attr, type, a);
        else if (cls == H5T_ENUM) a->kind = AV_ENUM, read_attr_enum(in, attr, type, a);
    }
    if (a->kind == AV_OTHER) a->kept = 0;
    close_id(in, type, "an attribute type");
    close_id(in, space, "an attribute dataspace");
    close_id(in, attr, "an attribute");
}

typedef struct {
    char **names;
    int count, cap;
} name_list;

static herr_t collect_attr_name(hid_t loc, const char *name, const H5A_info_t *info, void *data) {
    name_list *l = data;
    (void)loc;
    (void)info;
    if (l->count == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->names = grow(l->names, (size_t)l->cap * sizeof *l->names);
    }
    l->names[l->count++] = cbd_strdup(name);
    return 0;
}

attr_value *read_attributes(inspector *in, hid_t obj, const char *label, int *count) {
    name_list names = {0};
    TRY(in, H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, NULL, collect_attr_name, &names),
        "cannot list the attributes of %s", label);
    attr_value *list = cbd_calloc((size_t)names.count, sizeof *list);
    for (int k = 0; k < names.count; k++) {
        read_attr(in, obj, names.names[k], &list[k]);
        free(names.names[k]);
    }
    free(names.names);
    *count = names.count;
    return list;
}

static void attr_value_text(const attr_value *a, hsize_t k, cbd_text *b) {
    char num[40];
    switch (a->kind) {
    case AV_INT: cbd_text_printf(b, "%" PRId64, a->i[k]); break;
    case AV_UINT: cbd_text_printf(b, "%" PRIu64, a->u[k]); break;
    case AV_FLOAT:
        if (a->single) format_float(num, (float)a->f[k]);
        else format_double(num, a->f[k]);
        cbd_text_printf(b, "%s", num);
        break;
    case AV_STRING: text_quote(b, a->s[k]); break;
    case AV_ENUM: cbd_text_printf(b, "%s", a->s[k]); break;
    case AV_OTHER: break;
    }
}

void attr_text(const attr_value *list, int index, cbd_text *b) {
    const attr_value *a = &list[index];
    cbd_text_printf(b, "%s = ", a->name);
    if (a->ndim < 0) {
        cbd_text_printf(b, "null (%s)", cbd_text_str(&a->words));
        return;
    }
    if (a->kind == AV_OTHER) {
        cbd_text_printf(b, "<%s", cbd_text_str(&a->words));
        if (a->ndim > 0) {
            cbd_text_printf(b, ", shape ");
            text_shape(b, a->ndim, a->dims);
        }
        cbd_text_printf(b, ">");
        return;
    }
    if (a->ndim == 0) {
        attr_value_text(a, 0, b);
        if (a->kind == AV_UINT && strstr(a->name, "digest")) cbd_text_printf(b, " (0x%016" PRIx64 ")", a->u[0]);
        return;
    }
    hsize_t shown = a->count <= TEXT_VALUES ? a->count : TEXT_VALUES - 2;
    cbd_text_printf(b, "[");
    for (hsize_t k = 0; k < shown; k++) {
        if (k) cbd_text_printf(b, ", ");
        attr_value_text(a, k, b);
    }
    if (shown < a->count) {
        cbd_text_printf(b, ", ...] (%llu values", (unsigned long long)a->count);
        if (a->ndim > 1) {
            cbd_text_printf(b, ", shape ");
            text_shape(b, a->ndim, a->dims);
        }
        cbd_text_printf(b, ")");
    } else {
        cbd_text_printf(b, "]");
        if (a->ndim > 1) {
            cbd_text_printf(b, " (shape ");
            text_shape(b, a->ndim, a->dims);
            cbd_text_printf(b, ")");
        }
    }
}

static void attr_value_json(json_out *w, const char *key, const attr_value *a, hsize_t k) {
    switch (a->kind) {
    case AV_INT: jw_i64(w, key, a->i[k]); break;
    case AV_UINT: jw_u64(w, key, a->u[k]); break;
    case AV_FLOAT:
        if (a->single) jw_f32(w, key, (float)a->f[k]);
        else jw_f64(w, key, a->f[k]);
        break;
    case AV_STRING:
    case AV_ENUM: jw_str(w, key, a->s[k]); break;
    case AV_OTHER: jw_null(w, key); break;
    }
}

/* Dimension `dim` of an array attribute as nested lists; *next: the next value. */
static void attr_values_json(json_out *w, const char *key, const attr_value *a, int dim, hsize_t *next) {
    jw_flat_array(w, key);
    for (hsize_t k = 0; k < a->dims[dim]; k++) {
        if (dim + 1 < a->ndim) attr_values_json(w, NULL, a, dim + 1, next);
        else attr_value_json(w, NULL, a, (*next)++);
    }
    jw_end_array(w);
}

/* Scalars as values, arrays as (nested) lists; arrays longer than KEEP and types
 * without a JSON form as {"dtype", "shape", "count", "head"}. */
void attr_json(json_out *w, const attr_value *list, int index) {
    const attr_value *a = &list[index];
    if (a->ndim < 0) {
        jw_null(w, a->name);
    } else if (a->kind != AV_OTHER && a->ndim == 0) {
        attr_value_json(w, a->name, a, 0);
    } else if (a->kind != AV_OTHER && a->count <= KEEP) {
        hsize_t next = 0;
        attr_values_json(w, a->name, a, 0, &next);
    } else {
        jw_open(w, a->name, '{', 1);
        jw_str(w, "dtype", cbd_text_str(&a->words));
        jw_shape(w, "shape", a->ndim, a->dims);
        jw_u64(w, "count", a->count);
        if (a->kind != AV_OTHER) {
            jw_flat_array(w, "head");
            for (hsize_t k = 0; k < a->kept; k++) attr_value_json(w, NULL, a, k);
            jw_end_array(w);
        }
        jw_end_object(w);
    }
}

void attributes_free(attr_value *list, int count) {
    for (int k = 0; k < count; k++) attr_free(&list[k]);
    free(list);
}
