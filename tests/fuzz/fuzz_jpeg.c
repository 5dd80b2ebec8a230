/* The JPEG decode wrapper (store/jpeg.h) on untrusted bytes. The first byte
 * picks what the loaders ask for: bit 0 the channels (gray or RGB), bits 1-2
 * the resize (none, 28, 32, 7: full-size, scaled and exact-resize paths);
 * the rest is the file. */
#include "store/jpeg.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const int resizes[4] = {0, 28, 32, 7};
    if (size < 1) return 0;
    const int channels = data[0] & 1 ? 3 : 1, resize = resizes[(data[0] >> 1) & 3];
    char err[512];
    cbd_jpeg_decoder *d = cbd_jpeg_decoder_create(err, sizeof err);
    FUZZ_REQUIRE(d != NULL, "%s", err);
    cbd_image img = {0};
    if (cbd_jpeg_decode_memory(d, data + 1, size - 1, "fuzz.jpg", channels, resize, &img, err, sizeof err) == 0) {
        FUZZ_REQUIRE(img.channels == channels && img.width > 0 && img.height > 0, "decoded %dx%dx%d", img.width,
                     img.height, img.channels);
        if (resize > 0)
            FUZZ_REQUIRE((img.width < img.height ? img.width : img.height) == resize,
                         "resized to %dx%d, asked %d", img.width, img.height, resize);
        /* read every pixel, so that ASan sees the whole image */
        unsigned sum = 0;
        for (size_t i = 0; i < (size_t)img.width * img.height * img.channels; i++) sum += img.pixels[i];
        (void)sum;
    } else {
        FUZZ_REQUIRE(err[0] != '\0', "refused without a message");
    }
    cbd_image_free(&img);
    cbd_jpeg_decoder_free(d);
    return 0;
}
