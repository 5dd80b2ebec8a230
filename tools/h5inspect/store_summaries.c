/* The summaries of checkpoints (format "cbd-checkpoint": the model, its
 * training state, parameter and optimizer counts) and image stores (format
 * "cbd-image-store": images, their size, classes, completeness). */
#include "tools/h5inspect/h5inspect.h"

#include <inttypes.h>
#include <string.h>

#include "store/checkpoint.h"
#include "store/image_store.h"

static int is_optimizer_path(const char *path) { return strncmp(path, "/optimizer/", 11) == 0; }

void summary_checkpoint(inspector *in, const obj_list *objs, json_out *w) {
    meta_str program_version, arch, head;
    meta_i64 format_version, classes, in_channels, projection_dim, epoch, step;
    meta_u64 seed, config_digest;
    double scale = 0.0;
    int have_scale = 0;
    meta_read_i64(in, "format_version", &format_version, NULL);
    meta_read_str(in, "program_version", &program_version, NULL);
    meta_read_str(in, "arch", &arch, NULL);
    meta_read_str(in, "head", &head, NULL);
    meta_read_i64(in, "classes", &classes, NULL);
    meta_read_i64(in, "in_channels", &in_channels, NULL);
    meta_read_i64(in, "projection_dim", &projection_dim, NULL);
    meta_read_i64(in, "epoch", &epoch, NULL);
    meta_read_i64(in, "step", &step, NULL);
    meta_read_u64(in, "seed", &seed, NULL);
    meta_read_u64(in, "config_digest", &config_digest, NULL);
    meta_double(in, "cosine_scale", &scale, &have_scale);

    hsize_t params = 0, optimizer = 0;
    int param_sets = 0, optimizer_sets = 0;
    for (int k = 0; k < objs->count; k++) {
        const obj_entry *o = &objs->items[k];
        if (o->kind != OBJ_DATASET) continue;
        int ndim;
        hsize_t dims[MAX_RANK];
        if (cbd_h5_dataset_shape(&in->h5, in->file, o->path + 1, MAX_RANK, &ndim, dims) != 0) die_h5(in);
        if (is_optimizer_path(o->path)) optimizer += element_count(ndim, dims), optimizer_sets++;
        else params += element_count(ndim, dims), param_sets++;
    }
    if (w) {
        jw_object(w, "summary");
        jw_str(w, "kind", "checkpoint");
        jw_meta_i64(w, "format_version", &format_version);
        jw_meta_str(w, "program_version", &program_version);
        jw_meta_str(w, "arch", &arch);
        jw_meta_i64(w, "classes", &classes);
        jw_meta_i64(w, "in_channels", &in_channels);
        jw_meta_str(w, "head", &head);
        if (have_scale) jw_f64(w, "cosine_scale", scale);
        else jw_null(w, "cosine_scale");
        jw_meta_i64(w, "projection_dim", &projection_dim);
        jw_meta_i64(w, "epoch", &epoch);
        jw_meta_i64(w, "step", &step);
        if (seed.state == 1) jw_u64(w, "seed", seed.v);
        else jw_null(w, "seed");
        jw_meta_hex(w, "config_digest", &config_digest);
        jw_u64(w, "parameters", params);
        jw_i64(w, "parameter_datasets", param_sets);
        jw_u64(w, "optimizer_values", optimizer);
        jw_i64(w, "optimizer_datasets", optimizer_sets);
        jw_end_object(w);
        return;
    }
    printf("\ncheckpoint: %s version %s, written by %s\n", CBD_CHECKPOINT_FORMAT,
           format_version.state == 1 ? (format_version.v == 1 ? "1" : "unknown") : "?", meta_text(&program_version));
    printf("  %-22s %s\n", "arch", meta_text(&arch));
    print_i64_line("classes", &classes);
    print_i64_line("in channels", &in_channels);
    if (have_scale) printf("  %-22s %s (scale %g)\n", "head", meta_text(&head), scale);
    else printf("  %-22s %s\n", "head", meta_text(&head));
    print_i64_line("projection dim", &projection_dim);
    print_i64_line("epoch", &epoch);
    print_i64_line("step", &step);
    if (seed.state == 1) printf("  %-22s %" PRIu64 "\n", "seed", seed.v);
    print_hex_line("config digest", &config_digest);
    printf("  %-22s %llu in %d datasets\n", "parameters", (unsigned long long)params, param_sets);
    printf("  %-22s %llu values in %d datasets\n", "optimizer state", (unsigned long long)optimizer, optimizer_sets);
}

void summary_image_store(inspector *in, json_out *w) {
    meta_str program_version, source;
    meta_i64 format_version, classes, channels, height, width, complete;
    meta_u64 digest;
    ds_desc images;
    meta_read_i64(in, "format_version", &format_version, NULL);
    meta_read_str(in, "program_version", &program_version, NULL);
    meta_read_str(in, "source", &source, NULL);
    meta_read_i64(in, "classes", &classes, NULL);
    meta_read_i64(in, "channels", &channels, NULL);
    meta_read_i64(in, "height", &height, NULL);
    meta_read_i64(in, "width", &width, NULL);
    meta_read_i64(in, "complete", &complete, NULL);
    meta_read_u64(in, "manifest_digest", &digest, NULL);
    describe(in, "images", &images);
    const int have_n = images.is_dataset && images.ndim >= 1;
    if (w) {
        jw_object(w, "summary");
        jw_str(w, "kind", "image store");
        jw_meta_i64(w, "format_version", &format_version);
        jw_meta_str(w, "program_version", &program_version);
        if (have_n) jw_u64(w, "n", images.dims[0]);
        else jw_null(w, "n");
        jw_meta_i64(w, "height", &height);
        jw_meta_i64(w, "width", &width);
        jw_meta_i64(w, "channels", &channels);
        jw_meta_i64(w, "classes", &classes);
        jw_meta_flag(w, "complete", &complete);
        jw_meta_hex(w, "manifest_digest", &digest);
        jw_meta_str(w, "source", &source);
        jw_end_object(w);
    } else {
        printf("\nimage store: %s version %s, written by %s\n", CBD_IMAGE_STORE_FORMAT,
               format_version.state == 1 ? (format_version.v == 1 ? "1" : "unknown") : "?",
               meta_text(&program_version));
        if (have_n) printf("  %-22s %llu\n", "images (N)", (unsigned long long)images.dims[0]);
        else printf("  %-22s %s\n", "images (N)", "missing /images");
        if (height.state == 1 && width.state == 1 && channels.state == 1)
            printf("  %-22s %" PRId64 " x %" PRId64 " x %" PRId64 " (H x W x C)\n", "image size", height.v, width.v,
                   channels.v);
        else printf("  %-22s %s\n", "image size", "missing");
        print_i64_line("classes", &classes);
        print_flag_line("complete", &complete);
        print_hex_line("manifest digest", &digest);
        printf("  %-22s %s\n", "source", meta_text(&source));
    }
    desc_free(&images);
}
