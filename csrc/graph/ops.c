/* ops.c: single-output conveniences over hfo_op, choosing the form each op
 * takes at the graph's opset (axes as attribute or input, LayerNormalization
 * or its decomposition). */
#include "graph_impl.h"

#include <stdio.h>
#include <string.h>

hfo_value *hfo_op1(hfo_graph *g, const char *op_type, const char *name,
                   size_t n_in, hfo_value *const *in, size_t n_attr, const hfo_attr *attrs)
{
    hfo_value **out = hfo_op(g, op_type, NULL, name, n_in, in, 1, n_attr, attrs);
    return out ? out[0] : NULL;
}

static hfo_value *binary(hfo_graph *g, const char *op, const char *name, hfo_value *a, hfo_value *b)
{
    hfo_value *in[2] = {a, b};
    return hfo_op1(g, op, name, 2, in, 0, NULL);
}

hfo_value *hfo_matmul(hfo_graph *g, const char *name, hfo_value *a, hfo_value *b) { return binary(g, "MatMul", name, a, b); }
hfo_value *hfo_add(hfo_graph *g, const char *name, hfo_value *a, hfo_value *b) { return binary(g, "Add", name, a, b); }
hfo_value *hfo_sub(hfo_graph *g, const char *name, hfo_value *a, hfo_value *b) { return binary(g, "Sub", name, a, b); }
hfo_value *hfo_mul(hfo_graph *g, const char *name, hfo_value *a, hfo_value *b) { return binary(g, "Mul", name, a, b); }
hfo_value *hfo_div(hfo_graph *g, const char *name, hfo_value *a, hfo_value *b) { return binary(g, "Div", name, a, b); }
hfo_value *hfo_pow(hfo_graph *g, const char *name, hfo_value *a, hfo_value *b) { return binary(g, "Pow", name, a, b); }

hfo_value *hfo_unary(hfo_graph *g, const char *op_type, const char *name, hfo_value *x)
{
    return hfo_op1(g, op_type, name, 1, &x, 0, NULL);
}

hfo_value *hfo_gather(hfo_graph *g, const char *name, hfo_value *data, hfo_value *idx, int64_t axis)
{
    hfo_value *in[2] = {data, idx};
    hfo_attr a[1] = {HFO_A_INT("axis", axis)};
    return hfo_op1(g, "Gather", name, 2, in, 1, a);
}

hfo_value *hfo_softmax(hfo_graph *g, const char *name, hfo_value *x, int64_t axis)
{
    hfo_attr a[1] = {HFO_A_INT("axis", axis)};
    return hfo_op1(g, "Softmax", name, 1, &x, 1, a);
}

hfo_value *hfo_transpose(hfo_graph *g, const char *name, hfo_value *x, size_t n, const int64_t *perm)
{
    hfo_attr a[1] = {HFO_A_INTS("perm", n, perm)};
    return hfo_op1(g, "Transpose", name, 1, &x, 1, a);
}

hfo_value *hfo_reshape(hfo_graph *g, const char *name, hfo_value *x, size_t n, const int64_t *shape)
{
    hfo_value *in[2] = {x, hfo_const_i64s(g, n, shape)};
    return hfo_op1(g, "Reshape", name, 2, in, 0, NULL);
}

/* Unsqueeze/Squeeze take axes as an attribute before opset 13, as an input after. */
static hfo_value *axes_op(hfo_graph *g, const char *op, const char *name, hfo_value *x,
                          size_t n, const int64_t *axes, int input_since)
{
    if (hfo_graph_opset(g) >= input_since) {
        hfo_value *in[2] = {x, hfo_const_i64s(g, n, axes)};
        return hfo_op1(g, op, name, 2, in, 0, NULL);
    }
    hfo_attr a[1] = {HFO_A_INTS("axes", n, axes)};
    return hfo_op1(g, op, name, 1, &x, 1, a);
}

hfo_value *hfo_unsqueeze(hfo_graph *g, const char *name, hfo_value *x, size_t n, const int64_t *axes)
{
    return axes_op(g, "Unsqueeze", name, x, n, axes, 13);
}

hfo_value *hfo_squeeze(hfo_graph *g, const char *name, hfo_value *x, size_t n, const int64_t *axes)
{
    return axes_op(g, "Squeeze", name, x, n, axes, 13);
}

hfo_value *hfo_cast(hfo_graph *g, const char *name, hfo_value *x, hfo_dtype to)
{
    hfo_attr a[1] = {HFO_A_INT("to", (int64_t)to)};
    return hfo_op1(g, "Cast", name, 1, &x, 1, a);
}

hfo_value *hfo_reduce(hfo_graph *g, const char *op_type, const char *name, hfo_value *x,
                      size_t n, const int64_t *axes, int keepdims)
{
    /* ReduceSum moved axes to an input at opset 13, the other reductions at 18 */
    int input_since = strcmp(op_type, "ReduceSum") == 0 ? 13 : 18;
    hfo_attr a[2] = {HFO_A_INT("keepdims", keepdims), HFO_A_INTS("axes", n, axes)};
    if (hfo_graph_opset(g) >= input_since) {
        hfo_value *in[2] = {x, hfo_const_i64s(g, n, axes)};
        return hfo_op1(g, op_type, name, 2, in, 1, a);
    }
    return hfo_op1(g, op_type, name, 1, &x, 2, a);
}

hfo_value *hfo_concat(hfo_graph *g, const char *name, size_t n, hfo_value *const *xs, int64_t axis)
{
    hfo_attr a[1] = {HFO_A_INT("axis", axis)};
    return hfo_op1(g, "Concat", name, n, xs, 1, a);
}

hfo_value *hfo_where(hfo_graph *g, const char *name, hfo_value *cond, hfo_value *a, hfo_value *b)
{
    hfo_value *in[3] = {cond, a, b};
    return hfo_op1(g, "Where", name, 3, in, 0, NULL);
}

hfo_value *hfo_slice(hfo_graph *g, const char *name, hfo_value *x, hfo_value *starts,
                     hfo_value *ends, hfo_value *axes, hfo_value *steps)
{
    hfo_value *in[5] = {x, starts, ends, axes ? axes : HFO_NO_INPUT, steps};
    return hfo_op1(g, "Slice", name, steps ? 5 : axes ? 4 : 3, in, 0, NULL);
}

hfo_value *hfo_shape(hfo_graph *g, const char *name, hfo_value *x)
{
    return hfo_op1(g, "Shape", name, 1, &x, 0, NULL);
}

/*  x --LayerNormalization(scale, bias, axis=-1, epsilon)--> y        (opset >= 17)
 *
 *  before 17, the form torch exports and onnxruntime fuses:
 *  x -> ReduceMean -> Sub(x, mean) -> Pow 2 -> ReduceMean -> Add eps -> Sqrt
 *         -> Div(centered, std) -> Mul scale -> Add bias
 */
hfo_value *hfo_layer_norm(hfo_graph *g, const char *name, hfo_value *x, hfo_value *scale,
                          hfo_value *bias, float eps)
{
    if (hfo_graph_opset(g) >= 17) {
        hfo_value *in[3] = {x, scale, bias ? bias : HFO_NO_INPUT};
        hfo_attr a[2] = {HFO_A_INT("axis", -1), HFO_A_FLOAT("epsilon", eps)};
        return hfo_op1(g, "LayerNormalization", name, bias ? 3 : 2, in, 2, a);
    }
    char path[512];
    const int64_t last[1] = {-1};
#define AT(suffix) (snprintf(path, sizeof path, "%s/%s", name, suffix), path)
    hfo_value *mean = hfo_reduce(g, "ReduceMean", AT("ReduceMean"), x, 1, last, 1);
    hfo_value *centered = hfo_sub(g, AT("Sub"), x, mean);
    hfo_value *sq = hfo_pow(g, AT("Pow"), centered, hfo_const_f32(g, 2.0f));
    hfo_value *var = hfo_reduce(g, "ReduceMean", AT("ReduceMean_1"), sq, 1, last, 1);
    hfo_value *std = hfo_unary(g, "Sqrt", AT("Sqrt"), hfo_add(g, AT("Add"), var, hfo_const_f32(g, eps)));
    hfo_value *y = hfo_mul(g, AT("Mul"), hfo_div(g, AT("Div"), centered, std), scale);
    if (bias != NULL)
        y = hfo_add(g, AT("Add_1"), y, bias);
#undef AT
    return y;
}

/*  x --MatMul(w_t)--> [--Add(b)-->] y,   nodes "<path>/MatMul" and "<path>/Add" */
hfo_value *hfo_gemm_linear(hfo_graph *g, const char *path, hfo_value *x, hfo_value *w_t, hfo_value *b)
{
    char name[512];
    snprintf(name, sizeof name, "%s/MatMul", path);
    hfo_value *y = hfo_matmul(g, name, x, w_t);
    if (b == NULL)
        return y;
    snprintf(name, sizeof name, "%s/Add", path);
    return hfo_add(g, name, y, b);
}
