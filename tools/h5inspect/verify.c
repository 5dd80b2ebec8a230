/* --verify: exit 0 only for a complete, clean store, each defect on its own
 * line otherwise (exit 1). Feature stores are checked by the library's one
 * verifier (cbd_feature_store_verify in store/feature_store.h), the same
 * checks the stages' reader refuses; checkpoints and image stores by
 * verify_stores.c. */
#include "tools/h5inspect/h5inspect.h"

#include <string.h>

#include "nn/log.h"
#include "store/checkpoint.h"
#include "store/image_store.h"

static void collect_defect(void *arg, const char *line) { defect(arg, "%s", line); }

static void verify_feature_store(inspector *in, defect_list *d, cbd_text *ok) {
    char summary[1024];
    if (cbd_feature_store_verify(in->path, collect_defect, d, summary, sizeof summary) == 0)
        cbd_text_printf(ok, "%s", summary);
}

int cmd_verify(inspector *in, json_out *w) {
    char format[1024];
    const char *kind = NULL;
    defect_list d = {0};
    cbd_text ok = {0};
    obj_list objs;
    list_objects(in, &objs);
    file_format(in, format, sizeof format);
    if (strcmp(format, CBD_FEATURE_STORE_FORMAT) == 0) {
        kind = "feature store";
        verify_feature_store(in, &d, &ok);
    } else if (strcmp(format, CBD_CHECKPOINT_FORMAT) == 0) {
        kind = "checkpoint";
        verify_checkpoint(in, &objs, &d, &ok);
    } else if (strcmp(format, CBD_IMAGE_STORE_FORMAT) == 0) {
        kind = "image store";
        verify_image_store(in, &d, &ok);
    } else if (format[0]) {
        defect(&d, "unknown format '%s': not a cbd store", format);
    } else {
        defect(&d, "not a cbd store: no root attribute 'format'");
    }
    if (w) {
        jw_object(w, NULL);
        jw_str(w, "file", in->path);
        jw_str(w, "format", format[0] ? format : NULL);
        jw_str(w, "kind", kind);
        jw_bool(w, "ok", d.count == 0);
        jw_array(w, "defects");
        for (int k = 0; k < d.count; k++) jw_str(w, NULL, d.items[k]);
        jw_end_array(w);
        jw_end_object(w);
    } else {
        for (int k = 0; k < d.count; k++) printf("defect: %s\n", d.items[k]);
        if (d.count == 0) printf("ok: %s: %s\n", in->path, cbd_text_str(&ok));
        else printf("%s: %d defect%s\n", in->path, d.count, d.count == 1 ? "" : "s");
    }
    const int rc = d.count ? CBD_EXIT_FAILURE : CBD_EXIT_OK;
    defects_free(&d);
    cbd_text_free(&ok);
    objects_free(&objs);
    return rc;
}
