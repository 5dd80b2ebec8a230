#include "store/jpeg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "nn/log.h"

struct cbd_jpeg_decoder {
    tjhandle tj;
    unsigned char *file;  /* the last file read */
    size_t file_cap;
    cbd_image scaled;     /* decoded at a scaling factor, before the exact resize */
};

cbd_jpeg_decoder *cbd_jpeg_decoder_create(char *err, size_t err_len) {
    tjhandle tj = tjInitDecompress();
    if (!tj) {
        cbd_set_error(err, err_len, "cannot start the JPEG decoder: %s", tjGetErrorStr2(NULL));
        return NULL;
    }
    cbd_jpeg_decoder *d = cbd_calloc(1, sizeof *d);
    d->tj = tj;
    return d;
}

void cbd_jpeg_decoder_free(cbd_jpeg_decoder *d) {
    if (!d) return;
    if (d->tj) tjDestroy(d->tj);
    free(d->file);
    cbd_image_free(&d->scaled);
    free(d);
}

/* ---- decoding -------------------------------------------------------------------- */

/* TurboJPEG 2.1 can keep state from a failed call (a later header then reads
 * as garbage or fails again): every failure gets a fresh handle. */
static void reset_handle(cbd_jpeg_decoder *d) {
    if (d->tj) tjDestroy(d->tj);
    d->tj = tjInitDecompress();
}

static int decode_failed(cbd_jpeg_decoder *d) {
    reset_handle(d);
    return -1;
}

/* The smallest of the scaling factors 1/2, 1/4, 1/8 that keeps the shorter
 * side at or above `target`, or 1. Those three have fast reduced IDCTs; the
 * others (7/8, 3/4, ...) measured as slow as a full decode or slower. */
static tjscalingfactor choose_scaling(int shorter, int target) {
    tjscalingfactor best = {1, 1};
    int count = 0;
    const tjscalingfactor *factors = tjGetScalingFactors(&count);
    for (int i = 0; factors && i < count; i++) {
        tjscalingfactor f = factors[i];
        if (f.num != 1) continue;
        int side = TJSCALED(shorter, f);
        if (side >= target && side < TJSCALED(shorter, best)) best = f;
    }
    return best;
}

static int decode_into(cbd_jpeg_decoder *d, const unsigned char *data, size_t len, const char *name,
                       int channels, cbd_image *out, int width, int height, char *err, size_t err_len) {
    cbd_image_reserve(out, width, height, channels);
    int pixel_format = channels == 1 ? TJPF_GRAY : TJPF_RGB;
    if (tjDecompress2(d->tj, data, (unsigned long)len, out->pixels, width, 0, height, pixel_format,
                      TJFLAG_STOPONWARNING) != 0) {
        int warning = tjGetErrorCode(d->tj) == TJERR_WARNING;
        cbd_set_error(err, err_len, "%s: %s JPEG data: %s", name,
                  warning ? "corrupt or truncated" : "cannot decode", tjGetErrorStr2(d->tj));
        return decode_failed(d);
    }
    return 0;
}

int cbd_jpeg_decode_memory(cbd_jpeg_decoder *d, const unsigned char *data, size_t len,
                           const char *name, int channels, int resize, cbd_image *img, char *err,
                           size_t err_len) {
    CBD_ASSERT(channels == 1 || channels == 3, "channels %d", channels);
    int width = 0, height = 0, subsampling = 0, colorspace = 0;
    if (!d->tj) reset_handle(d);
    if (!d->tj) {
        cbd_set_error(err, err_len, "%s: cannot start the JPEG decoder: %s", name, tjGetErrorStr2(NULL));
        return -1;
    }
    if (len == 0 || tjDecompressHeader3(d->tj, data, (unsigned long)len, &width, &height, &subsampling,
                                        &colorspace) != 0) {
        cbd_set_error(err, err_len, "%s: not a JPEG file or a corrupt header (%s)", name,
                  len == 0 ? "empty" : tjGetErrorStr2(d->tj));
        return decode_failed(d);
    }
    if (width <= 0 || height <= 0 || (size_t)width * (size_t)height > CBD_JPEG_MAX_PIXELS) {
        cbd_set_error(err, err_len, "%s: JPEG header says %dx%d pixels: corrupt or too large", name, width,
                  height);
        return decode_failed(d);
    }
    if (resize <= 0) return decode_into(d, data, len, name, channels, img, width, height, err, err_len);
    int out_w, out_h;
    cbd_image_resized_size(width, height, resize, &out_w, &out_h);
    tjscalingfactor f = choose_scaling(width < height ? width : height, resize);
    int scaled_w = TJSCALED(width, f), scaled_h = TJSCALED(height, f);
    if (scaled_w == out_w && scaled_h == out_h)
        return decode_into(d, data, len, name, channels, img, out_w, out_h, err, err_len);
    if (decode_into(d, data, len, name, channels, &d->scaled, scaled_w, scaled_h, err, err_len) != 0)
        return -1;
    cbd_image_resize(&d->scaled, img, out_w, out_h);
    return 0;
}

/* Reads the whole file into the decoder's buffer. */
static int read_file(cbd_jpeg_decoder *d, const char *path, size_t *len, char *err, size_t err_len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cbd_set_error(err, err_len, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    int rc = -1;
    if (fstat(fd, &st) != 0) {
        cbd_set_error(err, err_len, "%s: cannot stat: %s", path, strerror(errno));
        goto cleanup;
    }
    if (!S_ISREG(st.st_mode)) {
        cbd_set_error(err, err_len, "%s: %s", path,
                  S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
        goto cleanup;
    }
    size_t size = (size_t)st.st_size, done = 0;
    if (size > d->file_cap) {
        unsigned char *grown = realloc(d->file, size);
        if (!grown) cbd_fail(CBD_EXIT_FAILURE, "out of memory reading %s (%zu bytes)", path, size);
        d->file = grown;
        d->file_cap = size;
    }
    while (done < size) {
        ssize_t n = read(fd, d->file + done, size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            cbd_set_error(err, err_len, "%s: cannot read: %s", path, n < 0 ? strerror(errno) : "file shrank");
            goto cleanup;
        }
        done += (size_t)n;
    }
    *len = size;
    rc = 0;
cleanup:
    close(fd);
    return rc;
}

int cbd_jpeg_decode_file(cbd_jpeg_decoder *d, const char *path, int channels, int resize,
                         cbd_image *img, char *err, size_t err_len) {
    size_t len = 0;
    if (read_file(d, path, &len, err, err_len) != 0) return -1;
    return cbd_jpeg_decode_memory(d, d->file, len, path, channels, resize, img, err, err_len);
}

/* ---- encoding -------------------------------------------------------------------- */

static int write_all(int fd, const unsigned char *data, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* path.tmp.PID, then rename: never a half-written file under path. */
static int write_atomic(const char *path, const unsigned char *data, size_t len, char *err, size_t err_len) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
        cbd_set_error(err, err_len, "%s: path too long", path);
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        cbd_set_error(err, err_len, "%s: cannot create: %s", tmp, strerror(errno));
        return -1;
    }
    int rc = write_all(fd, data, len);
    if (close(fd) != 0) rc = -1;
    if (rc != 0) cbd_set_error(err, err_len, "%s: cannot write: %s", tmp, strerror(errno));
    else if ((rc = rename(tmp, path)) != 0)
        cbd_set_error(err, err_len, "%s: cannot rename to %s: %s", tmp, path, strerror(errno));
    if (rc != 0) unlink(tmp);
    return rc;
}

int cbd_jpeg_encode_file(const char *path, const cbd_image *img, int quality, char *err,
                         size_t err_len) {
    CBD_ASSERT(img->channels == 1 || img->channels == 3, "channels %d", img->channels);
    CBD_ASSERT(quality >= 1 && quality <= 100, "quality %d", quality);
    tjhandle tj = tjInitCompress();
    if (!tj) {
        cbd_set_error(err, err_len, "%s: cannot start the JPEG encoder: %s", path, tjGetErrorStr2(NULL));
        return -1;
    }
    unsigned char *jpeg = NULL;
    unsigned long size = 0;
    int gray = img->channels == 1;
    int rc = tjCompress2(tj, img->pixels, img->width, 0, img->height, gray ? TJPF_GRAY : TJPF_RGB, &jpeg,
                         &size, gray ? TJSAMP_GRAY : TJSAMP_444, quality, 0);
    if (rc != 0) cbd_set_error(err, err_len, "%s: cannot encode: %s", path, tjGetErrorStr2(tj));
    else rc = write_atomic(path, jpeg, size, err, err_len);
    tjFree(jpeg);
    tjDestroy(tj);
    return rc;
}
