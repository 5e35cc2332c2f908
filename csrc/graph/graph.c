/* graph.c: the graph context: values, nodes, names, constants, errors. */
#include "graph_impl.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static value_rec no_input_rec;
hfo_value *const HFO_NO_INPUT = &no_input_rec.pub;

/* ---- small containers -------------------------------------------------- */

int hfo_ptr_vec_push(ptr_vec *v, void *p)
{
    if (v->len == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        void **items = realloc(v->items, cap * sizeof *items);
        if (items == NULL)
            return -1;
        v->items = items;
        v->cap = cap;
    }
    v->items[v->len++] = p;
    return 0;
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;   /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void *name_map_get(const name_map *m, const char *key)
{
    if (m->cap == 0)
        return NULL;
    size_t i = hash_str(key) & (m->cap - 1);
    while (m->keys[i] != NULL) {
        if (strcmp(m->keys[i], key) == 0)
            return m->vals[i];
        i = (i + 1) & (m->cap - 1);
    }
    return NULL;
}

static int name_map_put(name_map *m, const char *key, void *val)
{
    if ((m->len + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 256;
        const char **keys = calloc(cap, sizeof *keys);
        void **vals = calloc(cap, sizeof *vals);
        if (keys == NULL || vals == NULL) {
            free(keys);
            free(vals);
            return -1;
        }
        for (size_t j = 0; j < m->cap; j++) {
            if (m->keys[j] == NULL)
                continue;
            size_t i = hash_str(m->keys[j]) & (cap - 1);
            while (keys[i] != NULL)
                i = (i + 1) & (cap - 1);
            keys[i] = m->keys[j];
            vals[i] = m->vals[j];
        }
        free(m->keys);
        free(m->vals);
        m->keys = keys;
        m->vals = vals;
        m->cap = cap;
    }
    size_t i = hash_str(key) & (m->cap - 1);
    while (m->keys[i] != NULL) {
        if (strcmp(m->keys[i], key) == 0) {
            m->vals[i] = val;
            return 0;
        }
        i = (i + 1) & (m->cap - 1);
    }
    m->keys[i] = key;
    m->vals[i] = val;
    m->len++;
    return 0;
}

static void name_map_free(name_map *m)
{
    free(m->keys);
    free(m->vals);
}

/* ---- dtypes ------------------------------------------------------------ */

size_t hfo_dtype_size(hfo_dtype dt)
{
    switch (dt) {
    case HFO_FLOAT: case HFO_INT32: case HFO_UINT32: return 4;
    case HFO_UINT8: case HFO_INT8: case HFO_BOOL: return 1;
    case HFO_UINT16: case HFO_INT16: case HFO_FLOAT16: case HFO_BFLOAT16: return 2;
    case HFO_INT64: case HFO_DOUBLE: case HFO_UINT64: return 8;
    default: return 0;
    }
}

static const struct { const char *name; hfo_dtype dt; } dtype_names[] = {
    {"float", HFO_FLOAT}, {"float32", HFO_FLOAT}, {"uint8", HFO_UINT8},
    {"int8", HFO_INT8}, {"uint16", HFO_UINT16}, {"int16", HFO_INT16},
    {"int32", HFO_INT32}, {"int64", HFO_INT64}, {"string", HFO_STRING},
    {"bool", HFO_BOOL}, {"float16", HFO_FLOAT16}, {"double", HFO_DOUBLE},
    {"float64", HFO_DOUBLE}, {"uint32", HFO_UINT32}, {"uint64", HFO_UINT64},
    {"bfloat16", HFO_BFLOAT16},
};

const char *hfo_dtype_name(hfo_dtype dt)
{
    for (size_t i = 0; i < sizeof dtype_names / sizeof dtype_names[0]; i++)
        if (dtype_names[i].dt == dt)
            return dtype_names[i].name;
    return "undefined";
}

hfo_dtype hfo_dtype_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof dtype_names / sizeof dtype_names[0]; i++)
        if (strcmp(dtype_names[i].name, name) == 0)
            return dtype_names[i].dt;
    return HFO_UNDEFINED;
}

/* ---- the context ------------------------------------------------------- */

hfo_graph *hfo_graph_new(const char *name, int opset)
{
    hfo_graph *g = calloc(1, sizeof *g);
    if (g == NULL)
        return NULL;
    g->root = g;
    g->node_prefix = "";
    g->name = hfo_arena_strdup(&g->arena, name ? name : "graph");
    opset_rec *os = hfo_arena_alloc(&g->arena, sizeof *os);
    if (g->name == NULL || os == NULL || hfo_ptr_vec_push(&g->opsets, os) < 0) {
        hfo_graph_free(g);
        return NULL;
    }
    os->domain = "";
    os->version = opset > 0 ? opset : HFO_DEFAULT_OPSET;
    return g;
}

hfo_graph *hfo_graph_subgraph(hfo_graph *parent, const char *name)
{
    if (hfo_graph_failed(parent))
        return NULL;
    hfo_graph *root = parent->root;
    if (name == NULL || name[0] == '\0')
        return hfo_graph_fail(parent, HFO_GRAPH_ERR_USAGE, "a subgraph needs a name");
    hfo_graph *sub = calloc(1, sizeof *sub);
    if (sub == NULL || hfo_ptr_vec_push(&root->subgraphs, sub) < 0) {
        free(sub);
        return hfo_graph_fail(parent, HFO_GRAPH_ERR_NOMEM, "out of memory");
    }
    sub->root = root;
    sub->parent = parent;
    sub->name = hfo_arena_strdup(&root->arena, name);
    sub->node_prefix = hfo_arena_printf(&root->arena, "%s/%s", parent->node_prefix, name);
    if (sub->name == NULL || sub->node_prefix == NULL)
        return hfo_graph_fail(parent, HFO_GRAPH_ERR_NOMEM, "out of memory");
    return sub;
}

hfo_graph *hfo_graph_parent(const hfo_graph *g)
{
    return g->parent;
}

static void graph_free_own(hfo_graph *g)
{
    free(g->nodes.items);
    free(g->inputs.items);
    free(g->outputs.items);
}

void hfo_graph_free(hfo_graph *g)
{
    if (g == NULL || g->root != g)   /* subgraphs go with their root */
        return;
    for (size_t i = 0; i < g->subgraphs.len; i++) {
        graph_free_own(g->subgraphs.items[i]);
        free(g->subgraphs.items[i]);
    }
    free(g->subgraphs.items);
    graph_free_own(g);
    free(g->values.items);
    free(g->opsets.items);
    free(g->metadata.items);
    name_map_free(&g->value_names);
    name_map_free(&g->node_names);
    free(g->err);
    hfo_arena_free(&g->arena);
    free(g);
}

/* Is `v` visible in `g`: defined in g or one of its enclosing graphs? */
static int in_scope(const hfo_graph *g, const value_rec *v)
{
    for (const hfo_graph *s = g; s != NULL; s = s->parent)
        if (v->owner == s)
            return 1;
    return 0;
}

int hfo_graph_opset(const hfo_graph *g)
{
    return ((opset_rec *)g->root->opsets.items[0])->version;
}

int hfo_graph_import_domain(hfo_graph *g, const char *domain, int version)
{
    for (size_t i = 0; i < g->root->opsets.len; i++) {
        opset_rec *os = g->root->opsets.items[i];
        if (strcmp(os->domain, domain) == 0) {
            if (os->version != version) {
                hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "domain '%s' already imported at version %d, not %d",
                               domain, os->version, version);
                return -1;
            }
            return 0;
        }
    }
    opset_rec *os = hfo_arena_alloc(&g->root->arena, sizeof *os);
    if (os == NULL || (os->domain = hfo_arena_strdup(&g->root->arena, domain)) == NULL
        || hfo_ptr_vec_push(&g->root->opsets, os) < 0) {
        hfo_graph_fail(g, HFO_GRAPH_ERR_NOMEM, "out of memory");
        return -1;
    }
    os->version = version;
    return 0;
}

void hfo_graph_set_producer(hfo_graph *g, const char *name, const char *version)
{
    g->root->producer_name = name ? hfo_arena_strdup(&g->root->arena, name) : NULL;
    g->root->producer_version = version ? hfo_arena_strdup(&g->root->arena, version) : NULL;
}

void hfo_graph_set_doc(hfo_graph *g, const char *doc)
{
    g->root->doc = doc ? hfo_arena_strdup(&g->root->arena, doc) : NULL;
}

int hfo_graph_add_metadata(hfo_graph *g, const char *key, const char *value)
{
    for (size_t i = 0; i < g->root->metadata.len; i++) {
        kv_rec *kv = g->root->metadata.items[i];
        if (strcmp(kv->key, key) == 0) {
            kv->value = hfo_arena_strdup(&g->root->arena, value);
            return kv->value ? 0 : -1;
        }
    }
    kv_rec *kv = hfo_arena_alloc(&g->root->arena, sizeof *kv);
    if (kv == NULL || (kv->key = hfo_arena_strdup(&g->root->arena, key)) == NULL
        || (kv->value = hfo_arena_strdup(&g->root->arena, value)) == NULL
        || hfo_ptr_vec_push(&g->root->metadata, kv) < 0) {
        hfo_graph_fail(g, HFO_GRAPH_ERR_NOMEM, "out of memory");
        return -1;
    }
    return 0;
}

/* ---- errors ------------------------------------------------------------ */

int hfo_graph_failed(const hfo_graph *g) { return g->root->err_kind != HFO_GRAPH_ERR_NONE; }
const char *hfo_graph_error(const hfo_graph *g) { return g->root->err ? g->root->err : ""; }
hfo_error_kind hfo_graph_error_kind(const hfo_graph *g) { return g->root->err_kind; }

void *hfo_graph_fail(hfo_graph *g, hfo_error_kind kind, const char *fmt, ...)
{
    if (g->root->err_kind != HFO_GRAPH_ERR_NONE)   /* sticky: keep the first cause */
        return NULL;
    g->root->err_kind = kind;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n >= 0 && (g->root->err = malloc((size_t)n + 1)) != NULL) {
        va_start(ap, fmt);
        vsnprintf(g->root->err, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    return NULL;
}

void hfo_graph_clear_error(hfo_graph *g)
{
    free(g->root->err);
    g->root->err = NULL;
    g->root->err_kind = HFO_GRAPH_ERR_NONE;
}

/* ---- values ------------------------------------------------------------ */

static int check_dims(hfo_graph *g, const char *what, int rank, const hfo_dim *dims)
{
    if (rank < -1 || rank > HFO_MAX_RANK) {
        hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "%s: rank %d is out of range (-1..%d)", what, rank, HFO_MAX_RANK);
        return -1;
    }
    if (rank > 0 && dims == NULL) {
        hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "%s: rank %d given without dims", what, rank);
        return -1;
    }
    return 0;
}

static void copy_dims(hfo_graph *g, hfo_value *v, int rank, const hfo_dim *dims)
{
    v->rank = rank;
    for (int i = 0; i < rank && i < HFO_MAX_RANK; i++) {
        v->dims[i].size = dims[i].param ? -1 : dims[i].size;
        v->dims[i].param = dims[i].param ? hfo_arena_strdup(&g->root->arena, dims[i].param) : NULL;
    }
}

/* A new value named `name` (must be unused). */
static value_rec *value_new(hfo_graph *g, const char *name, hfo_value_kind kind, hfo_dtype dtype)
{
    if (name == NULL || name[0] == '\0')
        return hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "a value needs a non-empty name");
    if (name_map_get(&g->root->value_names, name) != NULL)
        return hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "the graph already has a value named '%s'", name);
    value_rec *v = hfo_arena_alloc(&g->root->arena, sizeof *v);
    if (v == NULL || (v->pub.name = hfo_arena_strdup(&g->root->arena, name)) == NULL
        || name_map_put(&g->root->value_names, v->pub.name, v) < 0
        || hfo_ptr_vec_push(&g->root->values, v) < 0)
        return hfo_graph_fail(g, HFO_GRAPH_ERR_NOMEM, "out of memory");
    v->pub.kind = kind;
    v->pub.dtype = dtype;
    v->pub.rank = -1;
    v->owner = kind == HFO_VALUE_WEIGHT ? g->root : g;
    v->pub.index = (int)(g->root->values.len - 1);
    return v;
}

hfo_value *hfo_graph_input(hfo_graph *g, const char *name, hfo_dtype dtype,
                           int rank, const hfo_dim *dims)
{
    if (hfo_graph_failed(g) || check_dims(g, name ? name : "input", rank, dims) < 0)
        return NULL;
    if (g->parent != NULL)
        return hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "input '%s': an If branch has no inputs of its own; "
                              "read values of the enclosing graph instead", name ? name : "?");
    if (hfo_dtype_size(dtype) == 0 && dtype != HFO_STRING)
        return hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "input '%s': unsupported dtype %d", name, (int)dtype);
    value_rec *v = value_new(g, name, HFO_VALUE_INPUT, dtype);
    if (v == NULL)
        return NULL;
    copy_dims(g, &v->pub, rank, dims);
    if (hfo_ptr_vec_push(&g->inputs, v) < 0)
        return hfo_graph_fail(g, HFO_GRAPH_ERR_NOMEM, "out of memory");
    return &v->pub;
}

size_t hfo_value_nelems(const value_rec *v)
{
    size_t n = 1;
    for (int i = 0; i < v->pub.rank; i++)
        n *= (size_t)v->pub.dims[i].size;
    return n;
}

size_t hfo_value_nbytes(const value_rec *v)
{
    return hfo_value_nelems(v) * hfo_dtype_size(v->pub.dtype);
}

static value_rec *weight_new(hfo_graph *g, const char *name, hfo_dtype dtype,
                             int rank, const int64_t *shape)
{
    if (hfo_graph_failed(g))
        return NULL;
    if (rank < 0 || rank > HFO_MAX_RANK || (rank > 0 && shape == NULL))
        return hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "weight '%s': bad rank %d", name ? name : "?", rank);
    if (hfo_dtype_size(dtype) == 0)
        return hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "weight '%s': unsupported dtype %s",
                              name ? name : "?", hfo_dtype_name(dtype));
    for (int i = 0; i < rank; i++)
        if (shape[i] < 0)
            return hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "weight '%s': negative dimension %" PRId64,
                                  name ? name : "?", shape[i]);
    value_rec *v = value_new(g, name, HFO_VALUE_WEIGHT, dtype);
    if (v == NULL)
        return NULL;
    v->pub.rank = rank;
    for (int i = 0; i < rank; i++)
        v->pub.dims[i].size = shape[i];
    v->src_dtype = dtype;
    return v;
}

hfo_value *hfo_graph_weight(hfo_graph *g, const char *name, hfo_dtype dtype,
                            int rank, const int64_t *shape,
                            const void *data, hfo_dtype src_dtype, hfo_xform xform)
{
    int ok_conv = src_dtype == dtype
        || (dtype == HFO_FLOAT && (src_dtype == HFO_FLOAT16 || src_dtype == HFO_BFLOAT16));
    if (!hfo_graph_failed(g) && !ok_conv)
        return hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "weight '%s': cannot store %s data as %s",
                              name ? name : "?", hfo_dtype_name(src_dtype), hfo_dtype_name(dtype));
    if (!hfo_graph_failed(g) && xform == HFO_XFORM_TRANSPOSE && rank != 2)
        return hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "weight '%s': only 2-D weights can be transposed, got rank %d",
                              name ? name : "?", rank);
    int64_t stored[HFO_MAX_RANK];
    for (int i = 0; i < rank && i < HFO_MAX_RANK; i++)
        stored[i] = shape[i];
    if (xform == HFO_XFORM_TRANSPOSE && rank == 2) {
        stored[0] = shape[1];
        stored[1] = shape[0];
    }
    value_rec *v = weight_new(g, name, dtype, rank, stored);
    if (v == NULL)
        return NULL;
    v->data = data;
    v->src_dtype = src_dtype;
    v->xform = xform;
    return &v->pub;
}

hfo_value *hfo_graph_weight_copy(hfo_graph *g, const char *name, hfo_dtype dtype,
                                 int rank, const int64_t *shape, const void *data)
{
    value_rec *v = weight_new(g, name, dtype, rank, shape);
    if (v == NULL)
        return NULL;
    v->data = hfo_arena_memdup(&g->root->arena, data, hfo_value_nbytes(v));
    if (v->data == NULL)
        return hfo_graph_fail(g, HFO_GRAPH_ERR_NOMEM, "out of memory copying weight '%s'", name);
    return &v->pub;
}

/* Constants are named by dtype and value ("const_int64_0_m1", "const_float_0.125"),
 * so the name is the key that makes them shared; long ones by a hash. */
static char *const_name(hfo_graph *g, hfo_dtype dtype, int rank, const int64_t *shape,
                        const void *data, size_t nelems)
{
    char buf[256];
    size_t len = 0;
    len += (size_t)snprintf(buf, sizeof buf, "const_%s", hfo_dtype_name(dtype));
    if (rank > 1) {
        for (int i = 0; i < rank && len < 128; i++)
            len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%" PRId64, i ? "x" : "_s", shape[i]);
    }
    if (nelems <= 8) {
        if (rank >= 1)
            len += (size_t)snprintf(buf + len, sizeof buf - len, "_v");
        for (size_t i = 0; i < nelems && len < sizeof buf - 40; i++) {
            char num[40];
            switch (dtype) {
            case HFO_INT64: snprintf(num, sizeof num, "%" PRId64, ((const int64_t *)data)[i]); break;
            case HFO_INT32: snprintf(num, sizeof num, "%" PRId32, ((const int32_t *)data)[i]); break;
            case HFO_FLOAT: snprintf(num, sizeof num, "%.9g", (double)((const float *)data)[i]); break;
            case HFO_DOUBLE: snprintf(num, sizeof num, "%.17g", ((const double *)data)[i]); break;
            case HFO_BOOL: case HFO_UINT8: snprintf(num, sizeof num, "%u", ((const uint8_t *)data)[i]); break;
            default: goto hashed;
            }
            for (char *c = num; *c; c++)
                if (*c == '-') *c = 'm';
            len += (size_t)snprintf(buf + len, sizeof buf - len, "_%s", num);
        }
        if (rank == 0 || nelems > 0)
            return hfo_arena_strdup(&g->root->arena, buf);
        len += (size_t)snprintf(buf + len, sizeof buf - len, "_empty");
        return hfo_arena_strdup(&g->root->arena, buf);
    }
hashed:;
    uint64_t h = 1469598103934665603ULL;
    const unsigned char *p = data;
    for (size_t i = 0; i < nelems * hfo_dtype_size(dtype); i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    snprintf(buf + len, sizeof buf - len, "_h%016" PRIx64, h);
    return hfo_arena_strdup(&g->root->arena, buf);
}

hfo_value *hfo_const(hfo_graph *g, hfo_dtype dtype, int rank, const int64_t *shape,
                     const void *data)
{
    if (hfo_graph_failed(g))
        return NULL;
    if (rank < 0 || rank > HFO_MAX_RANK || hfo_dtype_size(dtype) == 0)
        return hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "constant: bad rank %d or dtype %s", rank, hfo_dtype_name(dtype));
    size_t n = 1;
    for (int i = 0; i < rank; i++) {
        if (shape[i] < 0 || (shape[i] > 0 && n > SIZE_MAX / 16 / (size_t)shape[i]))
            return hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "constant: bad dimension %" PRId64, shape[i]);
        n *= (size_t)shape[i];
    }
    char *name = const_name(g, dtype, rank, shape, data, n);
    if (name == NULL)
        return hfo_graph_fail(g, HFO_GRAPH_ERR_NOMEM, "out of memory");
    value_rec *old = name_map_get(&g->root->value_names, name);
    if (old != NULL) {
        int same = old->is_const && old->pub.dtype == dtype && old->pub.rank == rank
            && hfo_value_nelems(old) == n
            && memcmp(old->data, data, n * hfo_dtype_size(dtype)) == 0;
        if (same)
            return &old->pub;
        name = hfo_arena_printf(&g->root->arena, "%s_%zu", name, g->root->values.len);
        if (name == NULL)
            return hfo_graph_fail(g, HFO_GRAPH_ERR_NOMEM, "out of memory");
    }
    hfo_value *v = hfo_graph_weight_copy(g, name, dtype, rank, shape, data);
    if (v != NULL)
        ((value_rec *)v)->is_const = 1;
    return v;
}

hfo_value *hfo_const_i64s(hfo_graph *g, size_t n, const int64_t *v)
{
    int64_t shape[1] = {(int64_t)n};
    return hfo_const(g, HFO_INT64, 1, shape, v);
}

hfo_value *hfo_const_i64(hfo_graph *g, int64_t v)
{
    return hfo_const(g, HFO_INT64, 0, NULL, &v);
}

hfo_value *hfo_const_f32(hfo_graph *g, float v)
{
    return hfo_const(g, HFO_FLOAT, 0, NULL, &v);
}

void hfo_value_set_shape(hfo_graph *g, hfo_value *v, int rank, const hfo_dim *dims)
{
    if (v == NULL || check_dims(g, v->name, rank, dims) < 0)
        return;
    copy_dims(g, v, rank, dims);
}

hfo_value *hfo_graph_find(const hfo_graph *g, const char *name)
{
    value_rec *v = name_map_get(&g->root->value_names, name);
    return v ? &v->pub : NULL;
}

size_t hfo_graph_n_nodes(const hfo_graph *g) { return g->nodes.len; }
size_t hfo_graph_n_values(const hfo_graph *g) { return g->root->values.len; }
size_t hfo_graph_n_outputs(const hfo_graph *g) { return g->outputs.len; }

hfo_value *hfo_graph_value_at(const hfo_graph *g, size_t i)
{
    return i < g->root->values.len ? &((value_rec *)g->root->values.items[i])->pub : NULL;
}

static int rename_value(hfo_graph *g, value_rec *v, const char *name)
{
    const char *copy = hfo_arena_strdup(&g->root->arena, name);
    if (copy == NULL || name_map_put(&g->root->value_names, copy, v) < 0) {
        hfo_graph_fail(g, HFO_GRAPH_ERR_NOMEM, "out of memory");
        return -1;
    }
    /* the old name stays mapped to nothing useful: point it at NULL */
    name_map_put(&g->root->value_names, v->pub.name, NULL);
    v->pub.name = copy;
    return 0;
}

hfo_value *hfo_graph_output(hfo_graph *g, hfo_value *pv, const char *name,
                            int rank, const hfo_dim *dims)
{
    if (hfo_graph_failed(g) || pv == NULL)
        return NULL;
    if (pv == HFO_NO_INPUT)
        return hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "output '%s': no value given", name ? name : "?");
    value_rec *v = (value_rec *)pv;
    int named = name != NULL && name[0] != '\0';
    if (!named)
        name = v->pub.name;
    if (check_dims(g, name, rank, dims) < 0)
        return NULL;
    if (rank < 0 && v->pub.rank < 0)   /* ONNX requires a shape on every graph output */
        return hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "output '%s': its shape could not be inferred; "
                              "give it (a list of int, str or None per dimension)", name);
    if (v->pub.dtype == HFO_UNDEFINED)
        return hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "output '%s': its dtype could not be inferred "
                              "(an op of another domain?); Cast it to a known type first", name);
    for (size_t i = 0; i < g->outputs.len; i++)
        if (strcmp(((value_rec *)g->outputs.items[i])->pub.name, name) == 0)
            return hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "the graph already has an output named '%s'", name);
    if (g->frozen)
        return hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "output '%s': subgraph '%s' is already a branch of a node",
                              name, g->name);
    value_rec *existing = name_map_get(&g->root->value_names, name);
    if (existing == v && v->owner == g && v->pub.kind == HFO_VALUE_NODE) {
        /* already called that */
    } else if (v->pub.kind == HFO_VALUE_NODE && v->owner == g && !v->is_output && existing == NULL) {
        if (rename_value(g, v, name) < 0)
            return NULL;
    } else {   /* an input, a weight, another scope's value, or one already output: through an Identity */
        if (existing != NULL && named)
            return hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "output '%s': another value already has that name", name);
        hfo_value *in[1] = {&v->pub};
        hfo_value **out = hfo_op(g, "Identity", NULL, NULL, 1, in, 1, 0, NULL);
        if (out == NULL || (named && rename_value(g, (value_rec *)out[0], name) < 0))
            return NULL;
        v = (value_rec *)out[0];
        name = v->pub.name;
    }
    if (rank >= 0)
        copy_dims(g, &v->pub, rank, dims);
    v->is_output = 1;
    if (hfo_ptr_vec_push(&g->outputs, v) < 0)
        return hfo_graph_fail(g, HFO_GRAPH_ERR_NOMEM, "out of memory");
    return &v->pub;
}

/* ---- nodes ------------------------------------------------------------- */

/* Is `name` free as a node name, and are its outputs' names free as value names? */
static int node_name_free(hfo_graph *g, const char *name, size_t n_out)
{
    if (name_map_get(&g->root->node_names, name) != NULL)
        return 0;
    char v[1024];
    for (size_t i = 0; i < n_out; i++) {
        int len = snprintf(v, sizeof v, "%s_output_%zu", name, i);
        if (len < 0 || (size_t)len >= sizeof v)
            return 1;   /* too long to be taken by a name made here */
        if (name_map_get(&g->root->value_names, v) != NULL)
            return 0;
    }
    return 1;
}

static const char *unique_node_name(hfo_graph *g, const char *want, size_t n_out)
{
    if (node_name_free(g, want, n_out))
        return hfo_arena_strdup(&g->root->arena, want);
    for (size_t k = 1;; k++) {
        char *cand = hfo_arena_printf(&g->root->arena, "%s_%zu", want, k);
        if (cand == NULL || node_name_free(g, cand, n_out))
            return cand;
    }
}

static int copy_attr(hfo_graph *g, hfo_attr *dst, const hfo_attr *src)
{
    *dst = *src;
    hfo_arena *a = &g->root->arena;
    if ((dst->name = hfo_arena_strdup(a, src->name)) == NULL)
        return -1;
    switch (src->type) {
    case HFO_ATTR_STRING:
        return (dst->s = hfo_arena_strdup(a, src->s ? src->s : "")) ? 0 : -1;
    case HFO_ATTR_INTS:
        return (dst->ints = hfo_arena_memdup(a, src->ints, src->n * sizeof *src->ints)) ? 0 : -1;
    case HFO_ATTR_FLOATS:
        return (dst->floats = hfo_arena_memdup(a, src->floats, src->n * sizeof *src->floats)) ? 0 : -1;
    case HFO_ATTR_STRINGS: {
        const char **s = hfo_arena_alloc(a, (src->n ? src->n : 1) * sizeof *s);
        if (s == NULL)
            return -1;
        for (size_t i = 0; i < src->n; i++)
            if ((s[i] = hfo_arena_strdup(a, src->strings[i])) == NULL)
                return -1;
        dst->strings = s;
        return 0;
    }
    default:
        return 0;
    }
}

hfo_value **hfo_op(hfo_graph *g, const char *op_type, const char *domain,
                   const char *name, size_t n_in, hfo_value *const *in,
                   size_t n_out, size_t n_attr, const hfo_attr *attrs)
{
    if (hfo_graph_failed(g))
        return NULL;
    for (size_t i = 0; i < n_in; i++)
        if (in[i] == NULL)    /* an earlier op failed */
            return NULL;
    if (op_type == NULL || op_type[0] == '\0')
        return hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "op type is empty");
    if (domain == NULL)
        domain = "";
    if (name == NULL || name[0] == '\0')
        name = op_type;

    value_rec **ins = hfo_arena_alloc(&g->root->arena, (n_in ? n_in : 1) * sizeof *ins);
    if (ins == NULL)
        return hfo_graph_fail(g, HFO_GRAPH_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n_in; i++) {
        if (in[i] == HFO_NO_INPUT) {
            ins[i] = NULL;
            continue;
        }
        value_rec *v = (value_rec *)in[i];
        if (v->pub.index < 0 || (size_t)v->pub.index >= g->root->values.len
            || g->root->values.items[v->pub.index] != v)
            return hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "node '%s': input %zu belongs to another graph", name, i);
        if (!in_scope(g, v))
            return hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "node '%s': input %zu ('%s') is defined in a "
                                  "subgraph this graph cannot see", name, i, v->pub.name);
        ins[i] = v;
    }
    if (g->frozen)
        return hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "node '%s': subgraph '%s' is already a branch of a node; "
                              "finish a subgraph before using it", name, g->name);
    if (n_out == 0 || n_out > ((size_t)1 << 20))
        return hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "node '%s': %zu outputs asked", name, n_out);
    hfo_dtype *out_dtypes = hfo_arena_alloc(&g->root->arena, n_out * sizeof *out_dtypes);   /* zero: undefined */
    if (out_dtypes == NULL)
        return hfo_graph_fail(g, HFO_GRAPH_ERR_NOMEM, "out of memory");
    /* tensor and graph attributes, whatever the op's domain: the writer trusts them */
    for (size_t k = 0; k < n_attr; k++) {
        const hfo_attr *a = &attrs[k];
        if (a->type == HFO_ATTR_TENSOR) {
            const value_rec *t = (const value_rec *)a->tensor;
            if (t == NULL || t->pub.kind != HFO_VALUE_WEIGHT || t->data == NULL || t->xform != HFO_XFORM_NONE
                || t->src_dtype != t->pub.dtype || t->owner != g->root)
                return hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "node '%s': tensor attribute '%s' must be a constant "
                                      "or an untransformed weight of this graph", name, a->name);
        } else if (a->type == HFO_ATTR_GRAPH) {
            if (a->graph == NULL || a->graph->parent != g)
                return hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "node '%s': graph attribute '%s' must be a subgraph "
                                      "made from the graph the node is added to", name, a->name);
        }
    }
    if (hfo_op_check(g, op_type, domain, name, n_in, ins, n_out, n_attr, attrs, out_dtypes) < 0)
        return NULL;
    if (domain[0] != '\0') {
        int imported = 0;
        for (size_t i = 0; i < g->root->opsets.len; i++)
            imported |= strcmp(((opset_rec *)g->root->opsets.items[i])->domain, domain) == 0;
        if (!imported)
            return hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "node '%s': domain '%s' is not imported "
                                  "(import it first, e.g. with version 1)", name, domain);
    }

    node_rec *n = hfo_arena_alloc(&g->root->arena, sizeof *n);
    if (n == NULL)
        return hfo_graph_fail(g, HFO_GRAPH_ERR_NOMEM, "out of memory");
    n->op_type = hfo_arena_strdup(&g->root->arena, op_type);
    n->domain = hfo_arena_strdup(&g->root->arena, domain);
    if (g->node_prefix[0] != '\0') {
        const char *prefixed = hfo_arena_printf(&g->root->arena, "%s%s%s", g->node_prefix,
                                                name[0] == '/' ? "" : "/", name);
        if (prefixed == NULL)
            return hfo_graph_fail(g, HFO_GRAPH_ERR_NOMEM, "out of memory");
        name = prefixed;
    }
    n->name = unique_node_name(g, name, n_out);
    n->n_in = n_in;
    n->in = ins;
    n->n_out = n_out;
    n->out = hfo_arena_alloc(&g->root->arena, (n_out ? n_out : 1) * sizeof *n->out);
    n->n_attr = n_attr;
    n->attrs = hfo_arena_alloc(&g->root->arena, (n_attr ? n_attr : 1) * sizeof *n->attrs);
    if (n->op_type == NULL || n->domain == NULL || n->name == NULL || n->out == NULL || n->attrs == NULL)
        return hfo_graph_fail(g, HFO_GRAPH_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n_attr; i++)
        if (copy_attr(g, &n->attrs[i], &attrs[i]) < 0)
            return hfo_graph_fail(g, HFO_GRAPH_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n_out; i++) {
        char *vname = hfo_arena_printf(&g->root->arena, "%s_output_%zu", n->name, i);
        if (vname == NULL)
            return hfo_graph_fail(g, HFO_GRAPH_ERR_NOMEM, "out of memory");
        value_rec *v = value_new(g, vname, HFO_VALUE_NODE, out_dtypes[i]);
        if (v == NULL)
            return NULL;
        v->producer = n;
        n->out[i] = &v->pub;
    }
    for (size_t k = 0; k < n_attr; k++)
        if (attrs[k].type == HFO_ATTR_GRAPH)
            ((hfo_graph *)attrs[k].graph)->frozen = 1;
    hfo_infer_shapes(g, n);
    if (name_map_put(&g->root->node_names, n->name, n) < 0 || hfo_ptr_vec_push(&g->nodes, n) < 0)
        return hfo_graph_fail(g, HFO_GRAPH_ERR_NOMEM, "out of memory");
    return n->out;
}
