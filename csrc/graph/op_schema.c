/* op_schema.c: what each ONNX op we know accepts, checked when a node is
 * added, so a wrong op name, attribute or dtype fails at the call that made
 * it rather than in onnx.checker later.
 *
 * Each schema gives the inputs and outputs as type letters, one per slot:
 *   T  the op's main type variable: every T slot has the same dtype, one of t_mask
 *   I  an index type (int32 or int64); every I slot has the same dtype
 *   L  int64             B  bool           A  any dtype, unconstrained
 *   X  (output) the dtype named by attribute `to`
 *   V  (output) the dtype of attribute `value` (a tensor), float by default
 * followed by `?` for an optional slot or `+` for a variadic tail (one or more).
 * Ops of other domains (com.microsoft, ...) are not checked here.
 */
#include "graph_impl.h"

#include <string.h>

#define M(dt) (1u << (dt))
#define FLT (M(HFO_FLOAT) | M(HFO_DOUBLE) | M(HFO_FLOAT16) | M(HFO_BFLOAT16))
#define SINT (M(HFO_INT8) | M(HFO_INT16) | M(HFO_INT32) | M(HFO_INT64))
#define UINT (M(HFO_UINT8) | M(HFO_UINT16) | M(HFO_UINT32) | M(HFO_UINT64))
#define NUM (FLT | SINT | UINT)
#define ALL (NUM | M(HFO_BOOL) | M(HFO_STRING))

typedef struct attr_spec {
    const char *name;
    hfo_attr_type type;
    unsigned char required;
    unsigned char since, until;   /* opsets where it exists; 0: no bound */
} attr_spec;

typedef struct op_schema {
    const char *op;
    unsigned char since;          /* first opset with this op */
    const char *ins, *outs;
    unsigned t_mask;
    attr_spec attrs[8];
} op_schema;

#define I_(n) {n, HFO_ATTR_INT, 0, 0, 0}
#define F_(n) {n, HFO_ATTR_FLOAT, 0, 0, 0}
#define S_(n) {n, HFO_ATTR_STRING, 0, 0, 0}
#define IS_(n) {n, HFO_ATTR_INTS, 0, 0, 0}
#define FS_(n) {n, HFO_ATTR_FLOATS, 0, 0, 0}
#define T_(n) {n, HFO_ATTR_TENSOR, 0, 0, 0}
#define G_(n) {n, HFO_ATTR_GRAPH, 1, 0, 0}
#define REDUCE_ATTRS {I_("keepdims"), {"noop_with_empty_axes", HFO_ATTR_INT, 0, 18, 0}, \
                      {"axes", HFO_ATTR_INTS, 0, 0, 17}}

static const op_schema schemas[] = {
    /* elementwise arithmetic */
    {"Add", 7, "TT", "T", NUM, {{0}}},
    {"Sub", 7, "TT", "T", NUM, {{0}}},
    {"Mul", 7, "TT", "T", NUM, {{0}}},
    {"Div", 7, "TT", "T", NUM, {{0}}},
    {"Pow", 7, "TA", "T", FLT | M(HFO_INT32) | M(HFO_INT64), {{0}}},
    {"Mod", 10, "TT", "T", NUM, {I_("fmod")}},
    {"Max", 8, "T+", "T", NUM, {{0}}},
    {"Min", 8, "T+", "T", NUM, {{0}}},
    {"Sum", 8, "T+", "T", FLT, {{0}}},
    {"Mean", 8, "T+", "T", FLT, {{0}}},
    {"MatMul", 9, "TT", "T", FLT | M(HFO_INT32) | M(HFO_INT64) | M(HFO_UINT32) | M(HFO_UINT64), {{0}}},
    {"Gemm", 11, "TTT?", "T", FLT | M(HFO_INT32) | M(HFO_INT64) | M(HFO_UINT32) | M(HFO_UINT64),
     {F_("alpha"), F_("beta"), I_("transA"), I_("transB")}},
    {"Einsum", 12, "T+", "T", NUM, {{"equation", HFO_ATTR_STRING, 1, 0, 0}}},
    /* unary */
    {"Neg", 6, "T", "T", FLT | SINT, {{0}}},
    {"Abs", 6, "T", "T", NUM, {{0}}},
    {"Sign", 9, "T", "T", NUM, {{0}}},
    {"Relu", 6, "T", "T", FLT | SINT, {{0}}},
    {"Sqrt", 6, "T", "T", FLT, {{0}}},
    {"Reciprocal", 6, "T", "T", FLT, {{0}}},
    {"Exp", 6, "T", "T", FLT, {{0}}},
    {"Log", 6, "T", "T", FLT, {{0}}},
    {"Erf", 9, "T", "T", NUM, {{0}}},
    {"Tanh", 6, "T", "T", FLT, {{0}}},
    {"Sigmoid", 6, "T", "T", FLT, {{0}}},
    {"Softplus", 1, "T", "T", FLT, {{0}}},
    {"Softsign", 1, "T", "T", FLT, {{0}}},
    {"Floor", 6, "T", "T", FLT, {{0}}},
    {"Ceil", 6, "T", "T", FLT, {{0}}},
    {"Round", 11, "T", "T", FLT, {{0}}},
    {"Cos", 7, "T", "T", FLT, {{0}}},
    {"Sin", 7, "T", "T", FLT, {{0}}},
    {"Gelu", 20, "T", "T", FLT, {S_("approximate")}},
    {"LeakyRelu", 6, "T", "T", FLT, {F_("alpha")}},
    {"Elu", 6, "T", "T", FLT, {F_("alpha")}},
    {"Selu", 6, "T", "T", FLT, {F_("alpha"), F_("gamma")}},
    {"HardSigmoid", 6, "T", "T", FLT, {F_("alpha"), F_("beta")}},
    {"PRelu", 9, "TT", "T", FLT | SINT | UINT, {{0}}},
    {"Clip", 11, "TT?T?", "T", NUM, {{0}}},
    {"IsNaN", 9, "T", "B", FLT, {{0}}},
    {"IsInf", 10, "T", "B", FLT, {I_("detect_negative"), I_("detect_positive")}},
    {"Identity", 1, "A", "A", ALL, {{0}}},
    /* comparison and logic */
    {"Equal", 11, "TT", "B", ALL, {{0}}},
    {"Less", 9, "TT", "B", NUM, {{0}}},
    {"Greater", 9, "TT", "B", NUM, {{0}}},
    {"LessOrEqual", 12, "TT", "B", NUM, {{0}}},
    {"GreaterOrEqual", 12, "TT", "B", NUM, {{0}}},
    {"Not", 1, "B", "B", ALL, {{0}}},
    {"And", 7, "BB", "B", ALL, {{0}}},
    {"Or", 7, "BB", "B", ALL, {{0}}},
    {"Xor", 7, "BB", "B", ALL, {{0}}},
    {"Where", 9, "BTT", "T", ALL, {{0}}},
    /* normalization and activation of vectors */
    {"Softmax", 1, "T", "T", FLT, {I_("axis")}},
    {"LogSoftmax", 1, "T", "T", FLT, {I_("axis")}},
    {"LayerNormalization", 17, "TTT?", "TA?A?", FLT, {I_("axis"), F_("epsilon"), I_("stash_type")}},
    /* reductions */
    {"ReduceMean", 1, "TL?", "T", NUM, REDUCE_ATTRS},
    {"ReduceMax", 1, "TL?", "T", NUM, REDUCE_ATTRS},
    {"ReduceMin", 1, "TL?", "T", NUM, REDUCE_ATTRS},
    {"ReduceProd", 1, "TL?", "T", NUM, REDUCE_ATTRS},
    {"ReduceSumSquare", 1, "TL?", "T", NUM, REDUCE_ATTRS},
    {"ReduceL2", 1, "TL?", "T", NUM, REDUCE_ATTRS},
    {"ReduceLogSumExp", 1, "TL?", "T", NUM, REDUCE_ATTRS},
    {"ReduceSum", 1, "TL?", "T", NUM,
     {I_("keepdims"), {"noop_with_empty_axes", HFO_ATTR_INT, 0, 13, 0}, {"axes", HFO_ATTR_INTS, 0, 0, 12}}},
    {"ArgMax", 1, "T", "L", NUM, {I_("axis"), I_("keepdims"), I_("select_last_index")}},
    {"ArgMin", 1, "T", "L", NUM, {I_("axis"), I_("keepdims"), I_("select_last_index")}},
    {"CumSum", 11, "TI", "T", NUM, {I_("exclusive"), I_("reverse")}},
    {"TopK", 11, "TL", "TL", NUM, {I_("axis"), I_("largest"), I_("sorted")}},
    /* shape and layout */
    {"Shape", 1, "A", "L", ALL, {{"start", HFO_ATTR_INT, 0, 15, 0}, {"end", HFO_ATTR_INT, 0, 15, 0}}},
    {"Size", 1, "A", "L", ALL, {{0}}},
    {"Reshape", 5, "TL", "T", ALL, {{"allowzero", HFO_ATTR_INT, 0, 14, 0}}},
    {"Flatten", 1, "T", "T", ALL, {I_("axis")}},
    {"Transpose", 1, "T", "T", ALL, {IS_("perm")}},
    {"Unsqueeze", 1, "TL?", "T", ALL, {{"axes", HFO_ATTR_INTS, 0, 0, 12}}},
    {"Squeeze", 1, "TL?", "T", ALL, {{"axes", HFO_ATTR_INTS, 0, 0, 12}}},
    {"Concat", 4, "T+", "T", ALL, {{"axis", HFO_ATTR_INT, 1, 0, 0}}},
    {"Split", 2, "TL?", "T+", ALL,
     {I_("axis"), {"split", HFO_ATTR_INTS, 0, 0, 12}, {"num_outputs", HFO_ATTR_INT, 0, 18, 0}}},
    {"Slice", 10, "TIII?I?", "T", ALL, {{0}}},
    {"Gather", 1, "TI", "T", ALL, {I_("axis")}},
    {"GatherElements", 11, "TI", "T", ALL, {I_("axis")}},
    {"GatherND", 11, "TL", "T", ALL, {I_("batch_dims")}},
    {"ScatterND", 11, "TLT", "T", ALL, {{"reduction", HFO_ATTR_STRING, 0, 16, 0}}},
    {"ScatterElements", 11, "TIT", "T", ALL, {I_("axis"), {"reduction", HFO_ATTR_STRING, 0, 16, 0}}},
    {"Expand", 8, "TL", "T", ALL, {{0}}},
    {"Tile", 6, "TL", "T", ALL, {{0}}},
    {"Pad", 11, "TLA?I?", "T", ALL, {S_("mode")}},
    {"Trilu", 14, "TL?", "T", ALL, {I_("upper")}},
    {"Range", 11, "TTT", "T", FLT | SINT, {{0}}},
    {"NonZero", 9, "T", "L", ALL, {{0}}},
    {"Cast", 6, "A", "X", ALL, {{"to", HFO_ATTR_INT, 1, 0, 0}, {"saturate", HFO_ATTR_INT, 0, 19, 0}}},
    {"CastLike", 15, "AT", "T", ALL, {{"saturate", HFO_ATTR_INT, 0, 19, 0}}},
    {"ConstantOfShape", 9, "L", "V", ALL, {T_("value")}},
    {"Constant", 1, "", "V", ALL,
     {T_("value"), F_("value_float"), FS_("value_floats"), I_("value_int"), IS_("value_ints"),
      S_("value_string")}},
    {"Dropout", 13, "TA?B?", "TB?", FLT, {I_("seed")}},
    /* control flow: outputs typed from the branches (check_if) */
    {"If", 1, "B", "A+", ALL, {G_("then_branch"), G_("else_branch")}},
};

/* Ops whose last input (axes, split) only exists from an opset on;
 * before that it is an attribute. */
static const struct { const char *op; int since; } late_inputs[] = {
    {"ReduceMean", 18}, {"ReduceMax", 18}, {"ReduceMin", 18}, {"ReduceProd", 18},
    {"ReduceSumSquare", 18}, {"ReduceL2", 18}, {"ReduceLogSumExp", 18}, {"ReduceSum", 13},
    {"Unsqueeze", 13}, {"Squeeze", 13}, {"Split", 13}, {"Pad", 18},
};

static int last_input_since(const char *op)
{
    for (size_t i = 0; i < sizeof late_inputs / sizeof late_inputs[0]; i++)
        if (strcmp(late_inputs[i].op, op) == 0)
            return late_inputs[i].since;
    return 0;
}

static const op_schema *find_schema(const char *op)
{
    for (size_t i = 0; i < sizeof schemas / sizeof schemas[0]; i++)
        if (strcmp(schemas[i].op, op) == 0)
            return &schemas[i];
    return NULL;
}

static int is_default_domain(const char *domain)
{
    return domain == NULL || domain[0] == '\0' || strcmp(domain, "ai.onnx") == 0;
}

int hfo_op_known(const char *op_type, const char *domain)
{
    return is_default_domain(domain) ? find_schema(op_type) != NULL : 1;
}

hfo_attr_type hfo_op_attr_type(const char *op_type, const char *domain, const char *attr)
{
    const op_schema *s = is_default_domain(domain) ? find_schema(op_type) : NULL;
    if (s == NULL)
        return HFO_ATTR_UNDEFINED;
    for (size_t i = 0; i < 8 && s->attrs[i].name; i++)
        if (strcmp(s->attrs[i].name, attr) == 0)
            return s->attrs[i].type;
    return HFO_ATTR_UNDEFINED;
}

/* Slots of a type string: letters, each optionally followed by '?' or '+'. */
typedef struct slots {
    char type[16];
    char mod[16];
    size_t n, n_required;
    int variadic;
} slots;

static void parse_slots(const char *spec, slots *s)
{
    memset(s, 0, sizeof *s);
    for (const char *p = spec; *p && s->n < 16; p++) {
        s->type[s->n] = *p;
        if (p[1] == '?' || p[1] == '+')
            s->mod[s->n] = *++p;
        if (s->mod[s->n] != '?')
            s->n_required = s->n + 1;
        if (s->mod[s->n] == '+')
            s->variadic = 1;
        s->n++;
    }
}

static char slot_type(const slots *s, size_t i)
{
    return i < s->n ? s->type[i] : s->type[s->n - 1];   /* variadic tail */
}

static const char *attr_type_name(hfo_attr_type t)
{
    switch (t) {
    case HFO_ATTR_FLOAT: return "float";
    case HFO_ATTR_INT: return "int";
    case HFO_ATTR_STRING: return "string";
    case HFO_ATTR_TENSOR: return "tensor";
    case HFO_ATTR_GRAPH: return "graph";
    case HFO_ATTR_FLOATS: return "list of floats";
    case HFO_ATTR_INTS: return "list of ints";
    case HFO_ATTR_STRINGS: return "list of strings";
    default: return "undefined";
    }
}

/* record a usage error and return -1 */
#define FAIL(...) (hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, __VA_ARGS__), -1)

static int check_attrs(hfo_graph *g, const op_schema *s, const char *name, int opset,
                       size_t n_attr, const hfo_attr *attrs)
{
    for (size_t k = 0; k < n_attr; k++) {
        const hfo_attr *a = &attrs[k];
        const attr_spec *spec = NULL;
        for (size_t i = 0; i < 8 && s->attrs[i].name; i++)
            if (strcmp(s->attrs[i].name, a->name) == 0)
                spec = &s->attrs[i];
        if (spec == NULL) {
            char known[256] = "";
            for (size_t i = 0; i < 8 && s->attrs[i].name; i++) {
                strncat(known, i ? ", " : "", sizeof known - strlen(known) - 1);
                strncat(known, s->attrs[i].name, sizeof known - strlen(known) - 1);
            }
            return FAIL("node '%s' (%s): unknown attribute '%s'; %s takes: %s", name, s->op, a->name,
                        s->op, known[0] ? known : "no attributes");
        }
        if ((spec->since && opset < spec->since) || (spec->until && opset > spec->until)) {
            hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "node '%s' (%s): attribute '%s' does not exist at opset %d "
                           "(it does from %d to %d; newer opsets take it as an input)",
                           name, s->op, a->name, opset, spec->since ? spec->since : 1,
                           spec->until ? spec->until : 99);
            return -1;
        }
        if (a->type != spec->type) {
            hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "node '%s' (%s): attribute '%s' must be %s, got %s", name, s->op,
                           a->name, attr_type_name(spec->type), attr_type_name(a->type));
            return -1;
        }
        for (size_t j = 0; j < k; j++)
            if (strcmp(attrs[j].name, a->name) == 0)
                return FAIL("node '%s' (%s): attribute '%s' given twice", name, s->op, a->name);
    }
    for (size_t i = 0; i < 8 && s->attrs[i].name; i++) {
        if (!s->attrs[i].required)
            continue;
        int found = 0;
        for (size_t k = 0; k < n_attr; k++)
            found |= strcmp(attrs[k].name, s->attrs[i].name) == 0;
        if (!found)
            return FAIL("node '%s' (%s): required attribute '%s' is missing", name, s->op, s->attrs[i].name);
    }
    return 0;
}

static const hfo_attr *find_attr(size_t n_attr, const hfo_attr *attrs, const char *name)
{
    for (size_t k = 0; k < n_attr; k++)
        if (strcmp(attrs[k].name, name) == 0)
            return &attrs[k];
    return NULL;
}

/* If: both branches are subgraphs of g with n_out outputs each, pairwise of
 * one dtype; the node's outputs take those dtypes. */
static int check_if(hfo_graph *g, const char *name, size_t n_out, size_t n_attr, const hfo_attr *attrs,
                    hfo_dtype *out_dtypes)
{
    const hfo_graph *br[2] = {NULL, NULL};
    for (size_t k = 0; k < n_attr; k++)
        br[strcmp(attrs[k].name, "then_branch") == 0 ? 0 : 1] = attrs[k].graph;
    for (int b = 0; b < 2; b++) {
        const char *which = b ? "else_branch" : "then_branch";
        if (br[b] == NULL || br[b]->parent != g)
            return FAIL("node '%s' (If): %s must be a subgraph made from this graph", name, which);
        if (br[b]->outputs.len != n_out) {
            hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "node '%s' (If): %s has %zu outputs, the node %zu",
                           name, which, br[b]->outputs.len, n_out);
            return -1;
        }
    }
    for (size_t i = 0; i < n_out; i++) {
        const value_rec *t = br[0]->outputs.items[i], *e = br[1]->outputs.items[i];
        if (t->pub.dtype != e->pub.dtype) {
            hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "node '%s' (If): output %zu is %s in then_branch ('%s') "
                           "but %s in else_branch ('%s')", name, i, hfo_dtype_name(t->pub.dtype),
                           t->pub.name, hfo_dtype_name(e->pub.dtype), e->pub.name);
            return -1;
        }
        out_dtypes[i] = t->pub.dtype;
    }
    return 0;
}

int hfo_op_check(hfo_graph *g, const char *op_type, const char *domain, const char *name,
                 size_t n_in, value_rec *const *in, size_t n_out,
                 size_t n_attr, const hfo_attr *attrs, hfo_dtype *out_dtypes)
{
    for (size_t k = 0; k < n_attr; k++)
        if (attrs[k].name == NULL || attrs[k].name[0] == '\0')
            return FAIL("node '%s' (%s): an attribute has no name", name, op_type);
    if (!is_default_domain(domain))
        return 0;   /* contrib ops: trusted, dtypes unknown */
    const op_schema *s = find_schema(op_type);
    if (s == NULL)
        return FAIL("node '%s': unknown ONNX op '%s' (names are case-sensitive, e.g. 'MatMul')", name, op_type);
    int opset = hfo_graph_opset(g);
    if (opset < s->since) {
        hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "node '%s': %s needs opset %d or newer, the graph has opset %d",
                       name, op_type, s->since, opset);
        return -1;
    }
    slots si, so;
    parse_slots(s->ins, &si);
    parse_slots(s->outs, &so);
    if (n_in < si.n_required || (!si.variadic && n_in > si.n)) {
        if (si.variadic)
            hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "node '%s': %s takes at least %zu inputs, got %zu",
                           name, op_type, si.n_required, n_in);
        else if (si.n == si.n_required)
            hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "node '%s': %s takes %zu inputs, got %zu", name, op_type, si.n, n_in);
        else
            hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "node '%s': %s takes %zu to %zu inputs, got %zu",
                           name, op_type, si.n_required, si.n, n_in);
        return -1;
    }
    if (n_out < so.n_required || (!so.variadic && n_out > so.n) || n_out == 0) {
        hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "node '%s': %s makes %zu to %zu outputs, %zu asked", name, op_type,
                       so.n_required ? so.n_required : 1, so.variadic ? (size_t)64 : so.n, n_out);
        return -1;
    }
    if (strcmp(op_type, "Constant") == 0 && n_attr != 1)
        return FAIL("node '%s': Constant takes exactly one value attribute (value, value_float, ...)", name);
    int late = last_input_since(op_type);
    if (late && opset < late && n_in >= si.n) {
        hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "node '%s': at opset %d %s takes at most %zu inputs (input %zu exists "
                       "from opset %d; before that it is an attribute)", name, opset, op_type, si.n - 1,
                       si.n - 1, late);
        return -1;
    }
    for (size_t i = 0; i < n_in; i++) {
        if (in[i] == NULL && i < si.n && si.mod[i] != '?') {
            hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "node '%s': input %zu of %s is required", name, i, op_type);
            return -1;
        }
    }
    if (check_attrs(g, s, name, opset, n_attr, attrs) < 0)
        return -1;
    if (strcmp(op_type, "Unsqueeze") == 0 && opset >= 13 && (n_in < 2 || in[1] == NULL))
        return FAIL("node '%s': from opset 13 Unsqueeze takes its axes as input 1", name);


    /* type variables */
    hfo_dtype t = HFO_UNDEFINED, ix = HFO_UNDEFINED;
    int t_from = -1, ix_from = -1;
    for (size_t i = 0; i < n_in; i++) {
        if (in[i] == NULL)
            continue;
        hfo_dtype dt = in[i]->pub.dtype;
        if (dt == HFO_UNDEFINED)
            continue;
        const char *dn = hfo_dtype_name(dt);
        char letter = slot_type(&si, i);
        switch (letter) {
        case 'T':
            if (!(s->t_mask & M(dt))) {
                hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "node '%s': %s does not take %s input ('%s', input %zu)",
                               name, op_type, dn, in[i]->pub.name, i);
                return -1;
            }
            if (t != HFO_UNDEFINED && t != dt) {
                hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "node '%s': %s inputs must have one dtype: input %d ('%s') is %s "
                               "but input %zu ('%s') is %s", name, op_type, t_from, in[t_from]->pub.name,
                               hfo_dtype_name(t), i, in[i]->pub.name, dn);
                return -1;
            }
            t = dt;
            t_from = (int)i;
            break;
        case 'I':
            if (dt != HFO_INT32 && dt != HFO_INT64) {
                hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "node '%s': input %zu of %s ('%s') must be int32 or int64, got %s",
                               name, i, op_type, in[i]->pub.name, dn);
                return -1;
            }
            if (ix != HFO_UNDEFINED && ix != dt) {
                hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "node '%s': index inputs of %s must have one dtype: input %d is %s, "
                               "input %zu is %s", name, op_type, ix_from, hfo_dtype_name(ix), i, dn);
                return -1;
            }
            ix = dt;
            ix_from = (int)i;
            break;
        case 'L':
            if (dt != HFO_INT64) {
                hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "node '%s': input %zu of %s ('%s') must be int64, got %s",
                               name, i, op_type, in[i]->pub.name, dn);
                return -1;
            }
            break;
        case 'B':
            if (dt != HFO_BOOL) {
                hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "node '%s': input %zu of %s ('%s') must be bool, got %s",
                               name, i, op_type, in[i]->pub.name, dn);
                return -1;
            }
            break;
        default:
            break;
        }
    }

    if (strcmp(op_type, "If") == 0)
        return check_if(g, name, n_out, n_attr, attrs, out_dtypes);

    /* output dtypes */
    for (size_t i = 0; i < n_out; i++) {
        switch (slot_type(&so, i)) {
        case 'T': out_dtypes[i] = t; break;
        case 'L': out_dtypes[i] = HFO_INT64; break;
        case 'B': out_dtypes[i] = HFO_BOOL; break;
        case 'A':
            out_dtypes[i] = (strcmp(op_type, "Identity") == 0 && in[0]) ? in[0]->pub.dtype : HFO_UNDEFINED;
            break;
        case 'X': {
            const hfo_attr *to = find_attr(n_attr, attrs, "to");
            if (to == NULL || (hfo_dtype_size((hfo_dtype)to->i) == 0 && to->i != HFO_STRING)) {
                hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "node '%s': Cast 'to' must be an ONNX dtype number, got %lld",
                               name, to ? (long long)to->i : -1LL);
                return -1;
            }
            out_dtypes[i] = (hfo_dtype)to->i;
            break;
        }
        case 'V': {
            out_dtypes[i] = HFO_FLOAT;
            const hfo_attr *v;
            if ((v = find_attr(n_attr, attrs, "value")) != NULL) {
                if (v->tensor == NULL) {
                    hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "node '%s': attribute 'value' has no tensor", name);
                    return -1;
                }
                const value_rec *vr = (const value_rec *)v->tensor;
                if (vr->pub.kind != HFO_VALUE_WEIGHT || vr->xform != HFO_XFORM_NONE
                    || vr->src_dtype != vr->pub.dtype) {
                    hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "node '%s': a tensor attribute must be a constant of the graph",
                                   name);
                    return -1;
                }
                out_dtypes[i] = vr->pub.dtype;
            } else if (find_attr(n_attr, attrs, "value_int") || find_attr(n_attr, attrs, "value_ints")) {
                out_dtypes[i] = HFO_INT64;
            } else if (find_attr(n_attr, attrs, "value_string")) {
                out_dtypes[i] = HFO_STRING;
            }
            break;
        }
        default:
            out_dtypes[i] = HFO_UNDEFINED;
        }
    }
    return 0;
}

int hfo_op_default_outputs(const char *op_type, const char *domain)
{
    const op_schema *s = is_default_domain(domain) ? find_schema(op_type) : NULL;
    if (s == NULL)
        return 1;
    slots so;
    parse_slots(s->outs, &so);
    return so.variadic ? 0 : (int)so.n_required;
}
