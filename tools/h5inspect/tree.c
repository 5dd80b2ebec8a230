/* The view with no option: every object of the file with its shape, type,
 * storage and attributes, then a summary for the project's stores. */
#include "tools/h5inspect/h5inspect.h"

#include <string.h>

#include "nn/log.h"
#include "store/checkpoint.h"
#include "store/image_store.h"

static void print_tree(inspector *in, const obj_list *objs, json_out *w) {
    int width = 0;
    for (int k = 0; k < objs->count; k++) {
        int n = (int)strlen(objs->items[k].path);
        if (n > width) width = n;
    }
    if (width > 48) width = 48;
    if (w) jw_array(w, "objects");
    else printf("file: %s\n\n", in->path);
    for (int k = 0; k < objs->count; k++) {
        const obj_entry *o = &objs->items[k];
        cbd_text line = {0};
        dset_info d;
        hid_t obj = -1;
        int nattr = 0;
        attr_value *attrs = NULL;
        if (o->kind == OBJ_GROUP || o->kind == OBJ_DATASET || o->kind == OBJ_DATATYPE) {
            TRY(in, obj = H5Oopen(in->file, o->path, H5P_DEFAULT), "cannot open '%s'", o->path);
            attrs = read_attributes(in, obj, o->path, &nattr);
        }
        static const char *kinds[] = {"group", "dataset", "datatype", "soft link", "external link", "other"};
        if (w) {
            jw_object(w, NULL);
            jw_str(w, "path", o->path);
            jw_str(w, "kind", kinds[o->kind]);
        }
        if (o->kind == OBJ_DATASET) {
            describe_dataset(in, obj, o->path, &d);
            if (w) dataset_json(w, &d);
            else dataset_text(&d, &line);
            cbd_text_free(&d.dtype);
        } else if (o->kind == OBJ_DATATYPE) {
            cbd_text words = {0};
            type_words(in, obj, &words);
            if (w) jw_str(w, "dtype", cbd_text_str(&words));
            else cbd_text_printf(&line, "datatype %s", cbd_text_str(&words));
            cbd_text_free(&words);
        } else if (o->kind == OBJ_SOFT || o->kind == OBJ_EXTERNAL) {
            if (w) jw_str(w, "target", o->target);
            else cbd_text_printf(&line, "-> %s (%s)", o->target, kinds[o->kind]);
        } else {
            if (!w) cbd_text_printf(&line, "%s", kinds[o->kind]);
        }
        if (w) {
            if (o->kind == OBJ_GROUP || o->kind == OBJ_DATASET || o->kind == OBJ_DATATYPE) {
                jw_object(w, "attributes");
                for (int a = 0; a < nattr; a++) attr_json(w, attrs, a);
                jw_end_object(w);
            }
            jw_end_object(w);
        } else {
            printf("%-*s  %s\n", width, o->path, cbd_text_str(&line));
            for (int a = 0; a < nattr; a++) {
                cbd_text t = {0};
                attr_text(attrs, a, &t);
                printf("    %s\n", cbd_text_str(&t));
                cbd_text_free(&t);
            }
        }
        attributes_free(attrs, nattr);
        cbd_text_free(&line);
        if (obj >= 0) close_id(in, obj, o->path);
    }
    if (w) jw_end_array(w);
}

int cmd_tree(inspector *in, json_out *w) {
    obj_list objs;
    char format[1024];
    list_objects(in, &objs);
    file_format(in, format, sizeof format);
    if (w) {
        jw_object(w, NULL);
        jw_str(w, "file", in->path);
        jw_str(w, "format", format[0] ? format : NULL);
    }
    print_tree(in, &objs, w);
    if (strcmp(format, CBD_FEATURE_STORE_FORMAT) == 0) summary_feature_store(in, w);
    else if (strcmp(format, CBD_CHECKPOINT_FORMAT) == 0) summary_checkpoint(in, &objs, w);
    else if (strcmp(format, CBD_IMAGE_STORE_FORMAT) == 0) summary_image_store(in, w);
    if (w) jw_end_object(w);
    objects_free(&objs);
    return CBD_EXIT_OK;
}
