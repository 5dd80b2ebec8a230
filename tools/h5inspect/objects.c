/* Every object of the file: the root group and each link below it (hard
 * links by the kind of object, soft and external links with their target),
 * depth first, each group's members by name. */
#include "tools/h5inspect/h5inspect.h"

#include <stdlib.h>
#include <string.h>

#include "nn/log.h"

static void obj_add(obj_list *l, const char *path, obj_kind kind, const char *target) {
    if (l->count == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->items = grow(l->items, (size_t)l->cap * sizeof *l->items);
    }
    obj_entry *e = &l->items[l->count++];
    e->path = cbd_strdup(path);
    e->kind = kind;
    e->target = target ? cbd_strdup(target) : NULL;
}

static herr_t visit_link(hid_t group, const char *name, const H5L_info_t *info, void *data) {
    obj_list *l = data;
    inspector *in = l->in;
    cbd_text path = {0};
    cbd_text_printf(&path, "/%s", name);
    if (info->type == H5L_TYPE_HARD) {
        hid_t obj = H5Oopen(group, name, H5P_DEFAULT);
        H5I_type_t t;
        if (obj < 0 || (t = H5Iget_type(obj)) < 0) {
            cbd_h5_error(&in->h5, "cannot open object '%s'", path.p);
            goto failed;
        }
        obj_add(l, path.p, t == H5I_GROUP ? OBJ_GROUP : t == H5I_DATASET ? OBJ_DATASET
                           : t == H5I_DATATYPE ? OBJ_DATATYPE : OBJ_OTHER, NULL);
        if (H5Oclose(obj) < 0) {
            cbd_h5_error(&in->h5, "cannot close object '%s'", path.p);
            goto failed;
        }
    } else if (info->type == H5L_TYPE_SOFT || info->type == H5L_TYPE_EXTERNAL) {
        size_t n = info->u.val_size;
        char *value = cbd_calloc(n + 1, 1);
        if (H5Lget_val(group, name, value, n, H5P_DEFAULT) < 0) {
            cbd_h5_error(&in->h5, "cannot read link '%s'", path.p);
            free(value);
            goto failed;
        }
        if (info->type == H5L_TYPE_SOFT) {
            obj_add(l, path.p, OBJ_SOFT, value);
        } else {
            const char *file = NULL, *target = NULL;
            cbd_text t = {0};
            if (H5Lunpack_elink_val(value, n, NULL, &file, &target) < 0) {
                cbd_h5_error(&in->h5, "cannot read external link '%s'", path.p);
                free(value);
                goto failed;
            }
            cbd_text_printf(&t, "%s:%s", file, target);
            obj_add(l, path.p, OBJ_EXTERNAL, t.p);
            cbd_text_free(&t);
        }
        free(value);
    } else {
        obj_add(l, path.p, OBJ_OTHER, NULL);
    }
    cbd_text_free(&path);
    return 0;
failed:
    cbd_text_free(&path);
    l->failed = 1;
    return -1;
}

void list_objects(inspector *in, obj_list *l) {
    memset(l, 0, sizeof *l);
    l->in = in;
    obj_add(l, "/", OBJ_GROUP, NULL);
    if (H5Lvisit(in->file, H5_INDEX_NAME, H5_ITER_INC, visit_link, l) < 0) {
        if (!l->failed) cbd_h5_error(&in->h5, "cannot list the objects of the file: truncated or corrupt");
        die_h5(in);
    }
}

void objects_free(obj_list *l) {
    for (int k = 0; k < l->count; k++) {
        free(l->items[k].path);
        free(l->items[k].target);
    }
    free(l->items);
}
