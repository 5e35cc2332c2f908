/* shape_infer.c: what can be known of a node's output shapes from its
 * inputs' shapes, constant inputs and attributes.  Symbolic dims carry
 * through ("batch_size" stays "batch_size"); what cannot be known becomes an
 * unnamed dim or an unknown rank.  Graph outputs need at least a rank (ONNX's
 * checker requires a shape on every graph input and output), and Python
 * users see these shapes on every Value. */
#include "graph_impl.h"

#include <string.h>

static const hfo_dim unknown_dim = {.size = -1, .param = NULL};

static int dim_known(hfo_dim d) { return d.size >= 0 || d.param != NULL; }

static int dim_equal(hfo_dim a, hfo_dim b)
{
    if (a.param && b.param)
        return strcmp(a.param, b.param) == 0;
    return !a.param && !b.param && a.size >= 0 && a.size == b.size;
}

/* the broadcast of two dims (numpy rules) */
static hfo_dim dim_broadcast(hfo_dim a, hfo_dim b)
{
    if (a.size == 1 && !a.param)
        return b;
    if (b.size == 1 && !b.param)
        return a;
    if (dim_equal(a, b))
        return a;
    if (a.size > 1 && !a.param)
        return a;
    if (b.size > 1 && !b.param)
        return b;
    return unknown_dim;
}

/* int64 contents of a constant value, or NULL */
static const int64_t *const_i64(const value_rec *v, size_t *n)
{
    if (v == NULL || v->pub.kind != HFO_VALUE_WEIGHT || v->pub.dtype != HFO_INT64
        || v->src_dtype != HFO_INT64 || v->xform != HFO_XFORM_NONE || v->pub.rank > 1 || v->data == NULL)
        return NULL;
    *n = v->pub.rank == 0 ? 1 : (size_t)v->pub.dims[0].size;
    return v->data;
}

static const hfo_attr *attr(const node_rec *n, const char *name)
{
    for (size_t i = 0; i < n->n_attr; i++)
        if (strcmp(n->attrs[i].name, name) == 0)
            return &n->attrs[i];
    return NULL;
}

static int64_t attr_int(const node_rec *n, const char *name, int64_t dflt)
{
    const hfo_attr *a = attr(n, name);
    return a && a->type == HFO_ATTR_INT ? a->i : dflt;
}

/* axes from input `idx` (a constant) or attribute "axes"; NULL if unknown */
static const int64_t *axes_of(const node_rec *n, size_t idx, size_t *count)
{
    if (n->n_in > idx && n->in[idx])
        return const_i64(n->in[idx], count);
    const hfo_attr *a = attr(n, "axes");
    if (a && a->type == HFO_ATTR_INTS) {
        *count = a->n;
        return a->ints;
    }
    *count = 0;
    return NULL;
}

/* axis counted from the end when negative, clamped to [-1, rank] so that an
 * out-of-range axis stays out of range instead of wrapping when narrowed */
static int norm_axis(int64_t axis, int rank)
{
    if (axis < 0)
        axis += rank;
    return axis < -1 ? -1 : axis > rank ? rank : (int)axis;
}

static int ranked(const value_rec *v) { return v != NULL && v->pub.rank >= 0; }

static void set_out(hfo_value *out, int rank, const hfo_dim *dims)
{
    if (rank < 0 || rank > HFO_MAX_RANK) {
        out->rank = -1;
        return;
    }
    out->rank = rank;
    for (int i = 0; i < rank; i++)
        out->dims[i] = dims[i];
}

static int is_one_of(const char *op, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(op, *list) == 0)
            return 1;
    return 0;
}

static const char *const broadcasting[] = {
    "Add", "Sub", "Mul", "Div", "Pow", "Mod", "Max", "Min", "Sum", "Mean", "Equal", "Less", "Greater",
    "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor", "Where", "PRelu", NULL};
static const char *const same_shape[] = {
    "Neg", "Abs", "Sign", "Relu", "Sqrt", "Reciprocal", "Exp", "Log", "Erf", "Tanh", "Sigmoid", "Softplus",
    "Softsign", "Floor", "Ceil", "Round", "Cos", "Sin", "Gelu", "LeakyRelu", "Elu", "Selu", "HardSigmoid",
    "Clip", "IsNaN", "IsInf", "Identity", "Not", "Softmax", "LogSoftmax", "Cast", "CastLike", "Dropout",
    "LayerNormalization", "Trilu", "CumSum", "ScatterND", "ScatterElements", NULL};
static const char *const reductions[] = {
    "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceSumSquare", "ReduceL2", "ReduceLogSumExp",
    "ReduceSum", NULL};

void hfo_infer_shapes(hfo_graph *g, node_rec *n)
{
    (void)g;
    const char *op = n->op_type;
    hfo_dim d[HFO_MAX_RANK];
    memset(d, 0, sizeof d);
    value_rec *x = n->n_in > 0 ? n->in[0] : NULL;
    hfo_value *out = n->out[0];
    if (n->domain[0] != '\0')
        return;

    if (is_one_of(op, broadcasting)) {
        int rank = 0;
        for (size_t i = 0; i < n->n_in; i++) {
            if (n->in[i] == NULL)
                continue;
            if (!ranked(n->in[i]))
                return;
            if (n->in[i]->pub.rank > rank)
                rank = n->in[i]->pub.rank;
        }
        for (int k = 0; k < rank; k++) {
            hfo_dim acc = {.size = 1, .param = NULL};
            for (size_t i = 0; i < n->n_in; i++) {
                if (n->in[i] == NULL)
                    continue;
                int r = n->in[i]->pub.rank, j = k - (rank - r);
                if (j >= 0)
                    acc = dim_broadcast(acc, n->in[i]->pub.dims[j]);
            }
            d[k] = acc;
        }
        set_out(out, rank, d);
        return;
    }
    if (is_one_of(op, same_shape)) {
        if (ranked(x))
            set_out(out, x->pub.rank, x->pub.dims);
        return;
    }
    if (is_one_of(op, reductions) || strcmp(op, "ArgMax") == 0 || strcmp(op, "ArgMin") == 0) {
        if (!ranked(x))
            return;
        int r = x->pub.rank, keep = (int)attr_int(n, "keepdims", 1);
        unsigned char mask[HFO_MAX_RANK] = {0};
        size_t na = 0;
        const int64_t *axes = NULL;
        int64_t arg_axis;
        if (op[0] == 'A') {
            arg_axis = attr_int(n, "axis", 0);
            axes = &arg_axis;
            na = 1;
        } else {
            axes = axes_of(n, 1, &na);
            if (axes == NULL && n->n_in > 1 && n->in[1])
                return;                           /* axes not constant */
        }
        if (axes == NULL || na == 0) {
            if (attr_int(n, "noop_with_empty_axes", 0)) {
                set_out(out, r, x->pub.dims);
                return;
            }
            memset(mask, 1, sizeof mask);
        }
        for (size_t i = 0; i < na; i++) {
            int a = norm_axis(axes[i], r);
            if (a < 0 || a >= r)
                return;
            mask[a] = 1;
        }
        int k = 0;
        for (int i = 0; i < r; i++) {
            if (!mask[i])
                d[k++] = x->pub.dims[i];
            else if (keep)
                d[k++] = (hfo_dim){.size = 1, .param = NULL};
        }
        set_out(out, k, d);
        return;
    }
    if (strcmp(op, "MatMul") == 0) {
        value_rec *b = n->in[1];
        if (!ranked(x) || !ranked(b) || x->pub.rank < 1 || b->pub.rank < 1)
            return;
        int ra = x->pub.rank, rb = b->pub.rank;
        hfo_dim a_dims[HFO_MAX_RANK + 1], b_dims[HFO_MAX_RANK + 1];
        int a_vec = ra == 1, b_vec = rb == 1;
        /* promote vectors to matrices, then drop the added dim at the end */
        if (a_vec) { a_dims[0] = (hfo_dim){1, NULL}; a_dims[1] = x->pub.dims[0]; ra = 2; }
        else memcpy(a_dims, x->pub.dims, sizeof(hfo_dim) * (size_t)ra);
        if (b_vec) { b_dims[0] = b->pub.dims[0]; b_dims[1] = (hfo_dim){1, NULL}; rb = 2; }
        else memcpy(b_dims, b->pub.dims, sizeof(hfo_dim) * (size_t)rb);
        int batch = (ra > rb ? ra : rb) - 2, k = 0;
        for (int i = 0; i < batch; i++) {
            int ia = i - (batch - (ra - 2)), ib = i - (batch - (rb - 2));
            hfo_dim da = ia >= 0 ? a_dims[ia] : (hfo_dim){1, NULL};
            hfo_dim db = ib >= 0 ? b_dims[ib] : (hfo_dim){1, NULL};
            d[k++] = dim_broadcast(da, db);
        }
        if (!a_vec)
            d[k++] = a_dims[ra - 2];
        if (!b_vec)
            d[k++] = b_dims[rb - 1];
        set_out(out, k, d);
        return;
    }
    if (strcmp(op, "Gemm") == 0) {
        value_rec *b = n->in[1];
        if (!ranked(x) || !ranked(b) || x->pub.rank != 2 || b->pub.rank != 2)
            return;
        d[0] = x->pub.dims[attr_int(n, "transA", 0) ? 1 : 0];
        d[1] = b->pub.dims[attr_int(n, "transB", 0) ? 0 : 1];
        set_out(out, 2, d);
        return;
    }
    if (strcmp(op, "Gather") == 0) {
        value_rec *idx = n->in[1];
        if (!ranked(x) || !ranked(idx))
            return;
        int r = x->pub.rank, q = idx->pub.rank, axis = norm_axis(attr_int(n, "axis", 0), r), k = 0;
        if (axis < 0 || axis >= r || r + q - 1 > HFO_MAX_RANK)
            return;
        for (int i = 0; i < axis; i++)
            d[k++] = x->pub.dims[i];
        for (int i = 0; i < q; i++)
            d[k++] = idx->pub.dims[i];
        for (int i = axis + 1; i < r; i++)
            d[k++] = x->pub.dims[i];
        set_out(out, k, d);
        return;
    }
    if (strcmp(op, "GatherElements") == 0) {
        if (ranked(n->in[1]))
            set_out(out, n->in[1]->pub.rank, n->in[1]->pub.dims);
        return;
    }
    if (strcmp(op, "Transpose") == 0) {
        if (!ranked(x))
            return;
        int r = x->pub.rank;
        const hfo_attr *perm = attr(n, "perm");
        for (int i = 0; i < r; i++) {
            int p = perm ? (i < (int)perm->n ? (int)perm->ints[i] : -1) : r - 1 - i;
            if (p < 0 || p >= r)
                return;
            d[i] = x->pub.dims[p];
        }
        set_out(out, r, d);
        return;
    }
    if (strcmp(op, "Reshape") == 0) {
        size_t k;
        const int64_t *shape = const_i64(n->in[1], &k);
        if (shape == NULL) {
            if (ranked(n->in[1]) && n->in[1]->pub.rank == 1 && n->in[1]->pub.dims[0].size >= 0) {
                int r = (int)n->in[1]->pub.dims[0].size;
                for (int i = 0; i < r && i < HFO_MAX_RANK; i++)
                    d[i] = unknown_dim;
                set_out(out, r, d);
            }
            return;
        }
        if (k > HFO_MAX_RANK)
            return;
        int allowzero = (int)attr_int(n, "allowzero", 0);
        for (size_t i = 0; i < k; i++) {
            if (shape[i] == 0 && !allowzero)
                d[i] = ranked(x) && (int)i < x->pub.rank ? x->pub.dims[i] : unknown_dim;
            else if (shape[i] < 0)
                d[i] = unknown_dim;
            else
                d[i] = (hfo_dim){shape[i], NULL};
        }
        set_out(out, (int)k, d);
        return;
    }
    if (strcmp(op, "Unsqueeze") == 0 || strcmp(op, "Squeeze") == 0) {
        if (!ranked(x))
            return;
        size_t na;
        const int64_t *axes = axes_of(n, 1, &na);
        int r = x->pub.rank;
        unsigned char mask[2 * HFO_MAX_RANK] = {0};
        if (op[0] == 'U') {
            int out_r = r + (int)na;
            if (axes == NULL || out_r > HFO_MAX_RANK)
                return;
            for (size_t i = 0; i < na; i++) {
                int a = norm_axis(axes[i], out_r);
                if (a < 0 || a >= out_r)
                    return;
                mask[a] = 1;
            }
            for (int i = 0, j = 0; i < out_r; i++)
                d[i] = mask[i] ? (hfo_dim){1, NULL} : x->pub.dims[j++];
            set_out(out, out_r, d);
        } else {
            if (axes == NULL) {
                if (n->n_in > 1 && n->in[1])
                    return;
                for (int i = 0; i < r; i++)      /* no axes: every fixed 1 goes */
                    if (!dim_known(x->pub.dims[i]) || x->pub.dims[i].param)
                        return;
                for (int i = 0; i < r; i++)
                    mask[i] = x->pub.dims[i].size == 1;
            } else {
                for (size_t i = 0; i < na; i++) {
                    int a = norm_axis(axes[i], r);
                    if (a < 0 || a >= r)
                        return;
                    mask[a] = 1;
                }
            }
            int k = 0;
            for (int i = 0; i < r; i++)
                if (!mask[i])
                    d[k++] = x->pub.dims[i];
            set_out(out, k, d);
        }
        return;
    }
    if (strcmp(op, "Shape") == 0) {
        d[0] = unknown_dim;
        if (ranked(x)) {
            int r = x->pub.rank;
            int s = norm_axis(attr_int(n, "start", 0), r), e = norm_axis(attr_int(n, "end", r), r);
            s = s < 0 ? 0 : s > r ? r : s;
            e = e < 0 ? 0 : e > r ? r : e;
            d[0] = (hfo_dim){e > s ? e - s : 0, NULL};
        }
        set_out(out, 1, d);
        return;
    }
    if (strcmp(op, "Size") == 0) {
        set_out(out, 0, d);
        return;
    }
    if (strcmp(op, "Concat") == 0) {
        int r = -1;
        int64_t sum = 0;
        int sum_known = 1;
        for (size_t i = 0; i < n->n_in; i++) {
            if (ranked(n->in[i])) {
                r = n->in[i]->pub.rank;
                break;
            }
        }
        if (r < 0)
            return;
        int axis = norm_axis(attr_int(n, "axis", 0), r);
        if (axis < 0 || axis >= r)
            return;
        for (int k = 0; k < r; k++)
            d[k] = unknown_dim;
        for (size_t i = 0; i < n->n_in; i++) {
            const value_rec *v = n->in[i];
            if (!ranked(v) || v->pub.rank != r) {
                sum_known = 0;
                continue;
            }
            for (int k = 0; k < r; k++) {
                if (k == axis)
                    continue;
                if (!dim_known(d[k]))
                    d[k] = v->pub.dims[k];
            }
            if (v->pub.dims[axis].param || v->pub.dims[axis].size < 0
                || __builtin_add_overflow(sum, v->pub.dims[axis].size, &sum))
                sum_known = 0;
        }
        d[axis] = sum_known ? (hfo_dim){sum, NULL} : unknown_dim;
        set_out(out, r, d);
        return;
    }
    if (strcmp(op, "Split") == 0 || strcmp(op, "TopK") == 0 || strcmp(op, "Slice") == 0
        || strcmp(op, "Tile") == 0 || strcmp(op, "Pad") == 0) {
        if (!ranked(x))
            return;
        int r = x->pub.rank;
        int axis = norm_axis(attr_int(n, "axis", strcmp(op, "TopK") == 0 ? -1 : 0), r);   /* TopK's default axis is the last */
        for (int i = 0; i < r; i++)
            d[i] = x->pub.dims[i];
        if (strcmp(op, "Slice") == 0) {
            size_t na = 0;
            const int64_t *axes = n->n_in > 3 && n->in[3] ? const_i64(n->in[3], &na) : NULL;
            if (n->n_in > 3 && n->in[3] && axes == NULL) {
                for (int i = 0; i < r; i++)
                    d[i] = unknown_dim;
            } else if (axes == NULL) {
                size_t ns = 0;
                if (const_i64(n->in[1], &ns) == NULL && ranked(n->in[1]) && n->in[1]->pub.dims[0].size >= 0)
                    ns = (size_t)n->in[1]->pub.dims[0].size;
                for (size_t i = 0; i < ns && (int)i < r; i++)
                    d[i] = unknown_dim;
                if (ns == 0)
                    for (int i = 0; i < r; i++)
                        d[i] = unknown_dim;
            } else {
                for (size_t i = 0; i < na; i++) {
                    int a = norm_axis(axes[i], r);
                    if (a >= 0 && a < r)
                        d[a] = unknown_dim;
                }
            }
        } else if (strcmp(op, "Tile") == 0 || strcmp(op, "Pad") == 0) {
            for (int i = 0; i < r; i++)
                d[i] = unknown_dim;
        } else if (axis >= 0 && axis < r) {
            d[axis] = unknown_dim;
        }
        for (size_t o = 0; o < n->n_out; o++)
            set_out(n->out[o], r, d);
        return;
    }
    if (strcmp(op, "Expand") == 0 || strcmp(op, "ConstantOfShape") == 0) {
        size_t k;
        value_rec *shape_v = op[0] == 'E' ? n->in[1] : x;
        const int64_t *shape = const_i64(shape_v, &k);
        if (shape == NULL) {
            if (op[0] == 'C' && ranked(x) && x->pub.rank == 1 && x->pub.dims[0].size >= 0
                && x->pub.dims[0].size <= HFO_MAX_RANK) {
                int r = (int)x->pub.dims[0].size;
                for (int i = 0; i < r; i++)
                    d[i] = unknown_dim;
                set_out(out, r, d);
            }
            return;
        }
        if (k > HFO_MAX_RANK)
            return;
        for (size_t i = 0; i < k; i++)
            d[i] = (hfo_dim){shape[i], NULL};
        if (op[0] == 'C') {
            set_out(out, (int)k, d);
            return;
        }
        if (!ranked(x))
            return;
        int r = (int)k > x->pub.rank ? (int)k : x->pub.rank;
        hfo_dim res[HFO_MAX_RANK];
        for (int i = 0; i < r; i++) {
            int ix = i - (r - x->pub.rank), is = i - (r - (int)k);
            hfo_dim a = ix >= 0 ? x->pub.dims[ix] : (hfo_dim){1, NULL};
            hfo_dim b = is >= 0 ? d[is] : (hfo_dim){1, NULL};
            res[i] = dim_broadcast(a, b);
        }
        set_out(out, r, res);
        return;
    }
    if (strcmp(op, "Flatten") == 0) {
        d[0] = unknown_dim;
        d[1] = unknown_dim;
        set_out(out, 2, d);
        return;
    }
    if (strcmp(op, "Range") == 0) {
        d[0] = unknown_dim;
        set_out(out, 1, d);
        return;
    }
    if (strcmp(op, "NonZero") == 0) {
        d[0] = ranked(x) ? (hfo_dim){x->pub.rank, NULL} : unknown_dim;
        d[1] = unknown_dim;
        set_out(out, 2, d);
        return;
    }
    if (strcmp(op, "If") == 0) {   /* what the two branches agree on */
        const hfo_graph *br[2] = {attr(n, "then_branch")->graph, attr(n, "else_branch")->graph};
        for (size_t o = 0; o < n->n_out; o++) {
            const hfo_value *t = &((const value_rec *)br[0]->outputs.items[o])->pub;
            const hfo_value *e = &((const value_rec *)br[1]->outputs.items[o])->pub;
            if (t->rank < 0 || t->rank != e->rank)
                continue;
            for (int i = 0; i < t->rank; i++)
                d[i] = dim_equal(t->dims[i], e->dims[i]) ? t->dims[i] : unknown_dim;
            set_out(n->out[o], t->rank, d);
        }
        return;
    }
    if (strcmp(op, "Constant") == 0) {
        const hfo_attr *v = attr(n, "value");
        if (v && v->tensor)
            set_out(out, v->tensor->rank, v->tensor->dims);
        else if (attr(n, "value_float") || attr(n, "value_int") || attr(n, "value_string"))
            set_out(out, 0, d);
        return;
    }
}
