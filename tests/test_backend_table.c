/* Every backend this build can create fills every slot of the op table;
 * unknown devices and a missing GPU give clear messages. */
#include <string.h>

#include "tests/test_util.h"

int main(void) {
    CHECK(cbd_backend_op_count() >= 30, "op table has only %d ops", cbd_backend_op_count());
    for (int i = 0; i < cbd_backend_op_count(); i++)
        CHECK(cbd_backend_op_name(i) && strlen(cbd_backend_op_name(i)) > 0, "op %d has no name", i);

    cbd_backend *cpu = test_cpu_backend();
    const char *missing = cbd_backend_missing_op(cpu);
    CHECK(missing == NULL, "cpu backend leaves op '%s' empty", missing ? missing : "");
    CHECK(strcmp(cpu->name, "cpu") == 0, "name %s", cpu->name);

    /* an emptied slot is reported by name */
    cbd_ops saved = cpu->ops;
    cpu->ops.maxpool_backward = NULL;
    missing = cbd_backend_missing_op(cpu);
    CHECK(missing && strcmp(missing, "maxpool_backward") == 0, "missing op reported as %s",
          missing ? missing : "(none)");
    cpu->ops = saved;

    /* copy_2d: columns 1..3 of a 4 x 5 block into columns 2..4 of a 4 x 6 one, the rest untouched */
    float src[20], dst[24];
    for (int i = 0; i < 20; i++) src[i] = (float)i;
    for (int i = 0; i < 24; i++) dst[i] = -1.0f;
    cpu->ops.copy_2d(cpu, 4, 3 * sizeof(float), src + 1, 5 * sizeof(float), dst + 2, 6 * sizeof(float));
    int copied = 1;
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 6; c++) {
            const float want = c >= 2 && c < 5 ? (float)(r * 5 + c - 1) : -1.0f;
            copied = copied && dst[r * 6 + c] == want;
        }
    CHECK(copied, "copy_2d copies the wrong elements");
    cbd_backend_destroy(cpu);

    char err[256] = "";
    CHECK(cbd_backend_create("tpu", err, sizeof err) == NULL, "unknown device accepted");
    CHECK(strstr(err, "tpu") != NULL, "message does not name the device: %s", err);

    err[0] = '\0';
    if (!cbd_cuda_available(err, sizeof err)) {
        CHECK(cbd_backend_create("cuda", err, sizeof err) == NULL, "cuda created without a GPU");
        CHECK(strlen(err) > 0, "no reason given for missing cuda");
        printf("cuda: %s\n", err);
        cbd_backend *be = cbd_backend_create("auto", err, sizeof err);
        CHECK(be && strcmp(be->name, "cpu") == 0, "auto did not fall back to cpu");
        cbd_backend_destroy(be);
    }
    return test_finish("backend_table");
}
