/* graph_core.c: drives the Python-free graph engine directly, so it can run
 * under AddressSanitizer/UBSan/LeakSanitizer (tests/test_graph_core.py builds
 * and runs it).  Exits non-zero and says why on the first failed check. */
#include "graph/graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failures;
#define CHECK(cond, ...) do { if (!(cond)) { fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); failures++; } } while (0)

/* A small attention-like block using most builder paths. */
static void build_and_write(const char *dir)
{
    hfo_graph *g = hfo_graph_new("core", 0);
    CHECK(g != NULL, "graph_new");
    hfo_dim bs[3] = {HFO_DIM_SYM("batch_size"), HFO_DIM_SYM("sequence_length"), HFO_DIM(8)};
    hfo_value *x = hfo_graph_input(g, "x", HFO_FLOAT, 3, bs);
    float w[8 * 8];
    uint16_t w16[8 * 8];
    for (int i = 0; i < 64; i++) {
        w[i] = (float)i / 64.0f;
        w16[i] = 0x3c00;   /* 1.0 in float16 */
    }
    int64_t shape[2] = {8, 8};
    hfo_value *wq = hfo_graph_weight(g, "q.weight", HFO_FLOAT, 2, shape, w, HFO_FLOAT, HFO_XFORM_TRANSPOSE);
    hfo_value *wk = hfo_graph_weight(g, "k.weight", HFO_FLOAT, 2, shape, w16, HFO_FLOAT16, HFO_XFORM_TRANSPOSE);
    hfo_value *q = hfo_gemm_linear(g, "/attn/q", x, wq, NULL);
    hfo_value *k = hfo_gemm_linear(g, "/attn/k", x, wk, NULL);
    const int64_t heads[4] = {0, 0, 2, 4}, perm[4] = {0, 2, 1, 3}, permk[4] = {0, 2, 3, 1};
    hfo_value *qh = hfo_transpose(g, "/attn/q/Transpose", hfo_reshape(g, "/attn/q/Reshape", q, 4, heads), 4, perm);
    hfo_value *kh = hfo_transpose(g, "/attn/k/Transpose", hfo_reshape(g, "/attn/k/Reshape", k, 4, heads), 4, permk);
    hfo_value *scores = hfo_div(g, "/attn/Div", hfo_matmul(g, "/attn/MatMul", qh, kh), hfo_const_f32(g, 2.0f));
    hfo_value *probs = hfo_softmax(g, "/attn/Softmax", scores, -1);
    hfo_value *ctx = hfo_matmul(g, "/attn/MatMul_1", probs, qh);
    const int64_t axes[1] = {1};
    hfo_value *pooled = hfo_reduce(g, "ReduceMean", "/pool/ReduceMean", ctx, 1, axes, 0);
    hfo_value *out = hfo_graph_output(g, pooled, "pooled", -1, NULL);
    CHECK(out != NULL, "output: %s", hfo_graph_error(g));
    CHECK(out && out->rank == 3, "inferred rank %d", out ? out->rank : -9);
    CHECK(hfo_const_f32(g, 2.0f) == hfo_const_f32(g, 2.0f), "constants shared");

    char path[4096];
    snprintf(path, sizeof path, "%s/core.onnx", dir);
    CHECK(hfo_graph_write(g, path, NULL) == 0, "write: %s", hfo_graph_error(g));
    hfo_write_options ext = {.external_name = "core.data", .external_min_bytes = 16};
    snprintf(path, sizeof path, "%s/core_ext.onnx", dir);
    CHECK(hfo_graph_write(g, path, &ext) == 0, "write external: %s", hfo_graph_error(g));
    hfo_graph_free(g);
}

/* Misuse must fail with a message, leave the graph usable once cleared, and leak nothing. */
static void misuse(void)
{
    hfo_graph *g = hfo_graph_new("bad", 17);
    hfo_dim d[1] = {HFO_DIM(4)};
    hfo_value *x = hfo_graph_input(g, "x", HFO_FLOAT, 1, d);
    hfo_value *i = hfo_graph_input(g, "i", HFO_INT64, 1, d);
    CHECK(hfo_add(g, "bad_add", x, i) == NULL, "dtype mismatch accepted");
    CHECK(strstr(hfo_graph_error(g), "one dtype") != NULL, "message: %s", hfo_graph_error(g));
    /* sticky: later ops return NULL without replacing the first message */
    CHECK(hfo_unary(g, "Relu", NULL, x) == NULL, "sticky error ignored");
    CHECK(strstr(hfo_graph_error(g), "one dtype") != NULL, "first message kept");
    hfo_graph_clear_error(g);
    CHECK(hfo_unary(g, "NoSuchOp", NULL, x) == NULL, "unknown op accepted");
    hfo_graph_clear_error(g);
    CHECK(hfo_graph_write(g, "/nonexistent-dir/x.onnx", NULL) != 0, "write without outputs");
    hfo_graph_clear_error(g);
    hfo_graph_output(g, hfo_unary(g, "Relu", NULL, x), "y", -1, NULL);
    CHECK(hfo_graph_write(g, "/nonexistent-dir/x.onnx", NULL) != 0, "write to a missing folder");
    CHECK(hfo_graph_error_kind(g) == HFO_GRAPH_ERR_IO, "kind %d", (int)hfo_graph_error_kind(g));
    hfo_graph_free(g);
}

/* If with two branches reading an outer input and a main-graph weight. */
static void subgraphs(const char *dir)
{
    hfo_graph *g = hfo_graph_new("branches", 17);
    hfo_dim d[1] = {HFO_DIM(2)};
    hfo_value *x = hfo_graph_input(g, "x", HFO_FLOAT, 1, d);
    hfo_value *flag = hfo_graph_input(g, "flag", HFO_BOOL, 0, NULL);
    hfo_graph *then_g = hfo_graph_subgraph(g, "then");
    hfo_graph *else_g = hfo_graph_subgraph(g, "else");
    float two[2] = {2.0f, 2.0f};
    int64_t shape[1] = {2};
    hfo_value *w = hfo_graph_weight_copy(then_g, "two", HFO_FLOAT, 1, shape, two);
    hfo_graph_output(then_g, hfo_mul(then_g, "/Mul", x, w), "then_y", -1, NULL);
    hfo_graph_output(else_g, hfo_unary(else_g, "Neg", "/Neg", x), "else_y", -1, NULL);
    hfo_attr br[2] = {HFO_A_GRAPH("then_branch", then_g), HFO_A_GRAPH("else_branch", else_g)};
    hfo_value **y = hfo_op(g, "If", NULL, "/If", 1, &flag, 1, 2, br);
    CHECK(y != NULL, "If: %s", hfo_graph_error(g));
    hfo_graph_output(g, y ? y[0] : NULL, "y", -1, NULL);
    char path[4096];
    snprintf(path, sizeof path, "%s/branches.onnx", dir);
    CHECK(hfo_graph_write(g, path, NULL) == 0, "write: %s", hfo_graph_error(g));
    CHECK(hfo_graph_write(then_g, path, NULL) != 0, "a subgraph was written");
    hfo_graph_free(then_g);   /* a no-op: the main graph owns it */
    hfo_graph_free(g);
}

/* Two models sharing one external data file; a failed write in between
 * leaves nothing of its own behind. */
static void shared_store(const char *dir)
{
    static float w[64 * 64];
    for (int i = 0; i < 64 * 64; i++)
        w[i] = (float)(i % 7);
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/shared.bin", dir);
    hfo_external_store *s = hfo_external_store_open(path, err, sizeof err);
    CHECK(s != NULL, "store: %s", err);
    /* two.onnx is a folder: its write fails at the last step, after its
     * (transposed, so new) weight went to the store, which must forget it */
    const char *names[3] = {"one.onnx", "two.onnx", "three.onnx"};
    snprintf(path, sizeof path, "%s/two.onnx", dir);
    CHECK(mkdir(path, 0755) == 0, "mkdir %s", path);
    for (int k = 0; k < 3 && s != NULL; k++) {
        hfo_graph *g = hfo_graph_new(names[k], 17);
        hfo_dim d[2] = {HFO_DIM(1), HFO_DIM(64)};
        int64_t shape[2] = {64, 64};
        hfo_value *x = hfo_graph_input(g, "x", HFO_FLOAT, 2, d);
        hfo_value *wv = hfo_graph_weight(g, "w", HFO_FLOAT, 2, shape, w, HFO_FLOAT, k > 0 ? HFO_XFORM_TRANSPOSE
                                                                                         : HFO_XFORM_NONE);
        hfo_graph_output(g, hfo_matmul(g, "/MatMul", x, wv), "y", -1, NULL);
        hfo_write_options o = {.store = s};
        snprintf(path, sizeof path, "%s/%s", dir, names[k]);
        int rc = hfo_graph_write(g, path, &o);
        CHECK(k == 1 ? rc != 0 : rc == 0, "write %s: %s", names[k], hfo_graph_error(g));
        hfo_graph_free(g);
    }
    /* w as is, then transposed: two tensors, 16 KiB each */
    CHECK(s && hfo_external_store_size(s) == 2 * sizeof w, "store size %llu",
          s ? (unsigned long long)hfo_external_store_size(s) : 0ULL);
    CHECK(s && hfo_external_store_commit(s, err, sizeof err) == 0, "commit: %s", err);
    hfo_external_store_free(s);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    build_and_write(dir);
    subgraphs(dir);
    shared_store(dir);
    misuse();
    if (failures == 0)
        printf("graph core: all checks passed\n");
    return failures ? 1 : 0;
}
