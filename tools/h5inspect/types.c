/* HDF5 types in words: "float32", "int64", "string[12]", "compound {a:
 * int32}", "array [3] of float16 big-endian", ... */
#include "tools/h5inspect/h5inspect.h"

/* True for the IEEE binary16 layout (sign 15, exponent 10..14, mantissa 0..9, bias 15). */
int is_half_type(inspector *in, hid_t type) {
    H5T_class_t cls;
    size_t size, spos, epos, esize, mpos, msize;
    TRY(in, cls = H5Tget_class(type), "cannot get a type class");
    if (cls != H5T_FLOAT) return 0;
    if ((size = H5Tget_size(type)) == 0) {
        cbd_h5_error(&in->h5, "cannot get a type size");
        die_h5(in);
    }
    if (size != 2) return 0;
    TRY(in, H5Tget_fields(type, &spos, &epos, &esize, &mpos, &msize), "cannot get the fields of a float type");
    return spos == 15 && epos == 10 && esize == 5 && mpos == 0 && msize == 10 && H5Tget_ebias(type) == 15;
}

static void integer_words(inspector *in, hid_t type, size_t size, cbd_text *b) {
    H5T_sign_t sign;
    TRY(in, sign = H5Tget_sign(type), "cannot get the sign of an integer type");
    cbd_text_printf(b, "%sint%zu", sign == H5T_SGN_NONE ? "u" : "", 8 * size);
}

static void float_words(inspector *in, hid_t type, size_t size, cbd_text *b) {
    size_t spos, epos, esize, mpos, msize;
    TRY(in, H5Tget_fields(type, &spos, &epos, &esize, &mpos, &msize), "cannot get the fields of a float type");
    if (is_half_type(in, type)) cbd_text_printf(b, "float16");
    else if (size == 2 && esize == 8 && msize == 7) cbd_text_printf(b, "bfloat16");
    else if (size == 4 && esize == 8 && msize == 23) cbd_text_printf(b, "float32");
    else if (size == 8 && esize == 11 && msize == 52) cbd_text_printf(b, "float64");
    else cbd_text_printf(b, "float (%zu bytes, %zu exponent bits, %zu mantissa bits)", size, esize, msize);
}

static void compound_words(inspector *in, hid_t type, cbd_text *b) {
    int n;
    TRY(in, n = H5Tget_nmembers(type), "cannot count the members of a compound type");
    cbd_text_printf(b, "compound {");
    for (int k = 0; k < n; k++) {
        char *name = H5Tget_member_name(type, (unsigned)k);
        hid_t member = -1;
        if (!name) {
            cbd_h5_error(&in->h5, "cannot get a member name of a compound type");
            die_h5(in);
        }
        TRY(in, member = H5Tget_member_type(type, (unsigned)k), "cannot get member '%s' of a compound type", name);
        cbd_text_printf(b, "%s%s: ", k ? ", " : "", name);
        type_words(in, member, b);
        close_id(in, member, "a member type");
        TRY(in, H5free_memory(name), "cannot free a member name");
    }
    cbd_text_printf(b, "}");
}

/* The base type of an enum, array or vlen in words. */
static void super_words(inspector *in, hid_t type, cbd_text *b) {
    hid_t super = -1;
    TRY(in, super = H5Tget_super(type), "cannot get the base of a derived type");
    type_words(in, super, b);
    close_id(in, super, "a base type");
}

void type_words(inspector *in, hid_t type, cbd_text *b) {
    H5T_class_t cls;
    H5T_order_t order = H5T_ORDER_NONE;
    size_t size;
    TRY(in, cls = H5Tget_class(type), "cannot get a type class");
    if ((size = H5Tget_size(type)) == 0) {
        cbd_h5_error(&in->h5, "cannot get a type size");
        die_h5(in);
    }
    switch (cls) {
    case H5T_INTEGER:
        integer_words(in, type, size, b);
        TRY(in, order = H5Tget_order(type), "cannot get a byte order");
        break;
    case H5T_FLOAT:
        float_words(in, type, size, b);
        TRY(in, order = H5Tget_order(type), "cannot get a byte order");
        break;
    case H5T_STRING: {
        htri_t variable;
        TRY(in, variable = H5Tis_variable_str(type), "cannot inspect a string type");
        if (variable) cbd_text_printf(b, "string (variable length)");
        else cbd_text_printf(b, "string[%zu]", size);
        break;
    }
    case H5T_COMPOUND: compound_words(in, type, b); break;
    case H5T_ENUM:
        cbd_text_printf(b, "enum of ");
        super_words(in, type, b);
        break;
    case H5T_VLEN:
        cbd_text_printf(b, "vlen of ");
        super_words(in, type, b);
        break;
    case H5T_ARRAY: {
        hsize_t dims[MAX_RANK];
        int rank;
        TRY(in, rank = H5Tget_array_ndims(type), "cannot get the rank of an array type");
        TRY(in, H5Tget_array_dims2(type, dims), "cannot get the shape of an array type");
        cbd_text_printf(b, "array ");
        text_shape(b, rank, dims);
        cbd_text_printf(b, " of ");
        super_words(in, type, b);
        break;
    }
    case H5T_OPAQUE: cbd_text_printf(b, "opaque (%zu bytes)", size); break;
    case H5T_BITFIELD: cbd_text_printf(b, "bitfield%zu", 8 * size); break;
    case H5T_REFERENCE: cbd_text_printf(b, "reference"); break;
    case H5T_TIME: cbd_text_printf(b, "time"); break;
    default: cbd_text_printf(b, "unknown type (%zu bytes)", size); break;
    }
    if (order == H5T_ORDER_BE) cbd_text_printf(b, " big-endian");
}
