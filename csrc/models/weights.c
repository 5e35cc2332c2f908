/* weights.c: prefix lookup, shape checks and de-duplication of checkpoint
 * tensors added to a graph (see weights.h). */
#include "models/weights.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct weight_entry {
    char *name;          /* the name asked for (without prefix); owned */
    hfo_xform xform;
    hfo_value *value;
} weight_entry;

struct hfo_weights {
    hfo_graph *g;
    hfo_weight_lookup_fn lookup;
    void *ctx;
    const char *const *prefixes;
    weight_entry *entries;
    size_t n, cap;
};

hfo_weights *hfo_weights_new(hfo_graph *g, hfo_weight_lookup_fn lookup, void *ctx,
                             const char *const *prefixes)
{
    static const char *const bare[] = {"", NULL};
    hfo_weights *w = calloc(1, sizeof *w);
    if (w == NULL) {
        hfo_graph_fail(g, HFO_GRAPH_ERR_NOMEM, "out of memory creating a weight source");
        return NULL;
    }
    w->g = g;
    w->lookup = lookup;
    w->ctx = ctx;
    w->prefixes = prefixes ? prefixes : bare;
    return w;
}

void hfo_weights_free(hfo_weights *w)
{
    if (w == NULL)
        return;
    for (size_t i = 0; i < w->n; i++)
        free(w->entries[i].name);
    free(w->entries);
    free(w);
}

hfo_graph *hfo_weights_graph(const hfo_weights *w)
{
    return w->g;
}

/* "[a, b, c]" into buf. */
static const char *shape_str(char *buf, size_t len, int rank, const int64_t *shape)
{
    size_t off = 0;
    off += (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < rank && off < len; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s%lld", i ? ", " : "",
                                (long long)shape[i]);
    if (off < len)
        snprintf(buf + off, len - off, "]");
    return buf;
}

/* Try every prefix; 1 found (full name in `full`), 0 absent, -1 error. */
static int find(hfo_weights *w, const char *name, hfo_tensor_view *view,
                char *full, size_t full_len)
{
    for (const char *const *p = w->prefixes; *p != NULL; p++) {
        int n = snprintf(full, full_len, "%s%s", *p, name);
        if (n < 0 || (size_t)n >= full_len) {
            hfo_graph_fail(w->g, HFO_GRAPH_ERR_WEIGHT, "weight name too long: '%s%s'", *p, name);
            return -1;
        }
        memset(view, 0, sizeof *view);
        int r = w->lookup(w->ctx, w->g, full, view);
        if (r != 0)
            return r;
    }
    return 0;
}

static void fail_missing(hfo_weights *w, const char *name)
{
    char tried[1024];
    size_t off = 0;
    tried[0] = '\0';
    for (const char *const *p = w->prefixes; *p != NULL && off < sizeof tried; p++)
        off += (size_t)snprintf(tried + off, sizeof tried - off, "%s'%s%s'",
                                p == w->prefixes ? "" : ", ", *p, name);
    hfo_graph_fail(w->g, HFO_GRAPH_ERR_WEIGHT, "missing weight '%s' (looked for %s)", name, tried);
}

int hfo_weights_has(hfo_weights *w, const char *name)
{
    if (hfo_graph_failed(w->g))
        return -1;
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->entries[i].name, name) == 0)
            return 1;
    hfo_tensor_view view;
    char full[512];
    return find(w, name, &view, full, sizeof full);
}

static hfo_value *get(hfo_weights *w, const char *name, int rank, const int64_t *shape,
                      hfo_xform xform)
{
    if (hfo_graph_failed(w->g))
        return NULL;
    for (size_t i = 0; i < w->n; i++) {
        weight_entry *e = &w->entries[i];
        if (strcmp(e->name, name) == 0) {
            if (e->xform != xform)  /* a recipe bug, not a user error */
                return hfo_graph_fail(w->g, HFO_GRAPH_ERR_USAGE,
                                      "weight '%s' asked for both transposed and as is", name);
            return e->value;
        }
    }

    hfo_tensor_view view;
    char full[512];
    int r = find(w, name, &view, full, sizeof full);
    if (r < 0)
        return NULL;
    if (r == 0) {
        fail_missing(w, name);
        return NULL;
    }

    int same = view.rank == rank;
    for (int i = 0; same && i < rank; i++)
        same = view.shape[i] == shape[i];
    if (!same) {
        char want[256], got[256];
        return hfo_graph_fail(w->g, HFO_GRAPH_ERR_WEIGHT,
                              "weight '%s' has shape %s, expected %s", full,
                              shape_str(got, sizeof got, view.rank, view.shape),
                              shape_str(want, sizeof want, rank, shape));
    }
    if (view.dtype != HFO_FLOAT && view.dtype != HFO_FLOAT16 && view.dtype != HFO_BFLOAT16)
        return hfo_graph_fail(w->g, HFO_GRAPH_ERR_WEIGHT,
                              "weight '%s' has dtype %s; expected float32, float16 or bfloat16",
                              full, hfo_dtype_name(view.dtype));
    if (view.data == NULL)
        return hfo_graph_fail(w->g, HFO_GRAPH_ERR_WEIGHT, "weight '%s' has no data", full);

    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 64;
        weight_entry *grown = realloc(w->entries, cap * sizeof *grown);
        if (grown == NULL)
            return hfo_graph_fail(w->g, HFO_GRAPH_ERR_NOMEM, "out of memory adding weight '%s'", full);
        w->entries = grown;
        w->cap = cap;
    }
    char *copy = strdup(name);
    if (copy == NULL)
        return hfo_graph_fail(w->g, HFO_GRAPH_ERR_NOMEM, "out of memory adding weight '%s'", full);

    /* The shape passed is the memory layout (before the transform); the
     * graph stores [n_in, n_out] for a transposed Linear weight. */
    hfo_value *v = hfo_graph_weight(w->g, full, HFO_FLOAT, rank, view.shape,
                                    view.data, view.dtype, xform);
    if (v == NULL) {
        free(copy);
        return NULL;
    }
    w->entries[w->n++] = (weight_entry){.name = copy, .xform = xform, .value = v};
    return v;
}

hfo_value *hfo_weights_get(hfo_weights *w, const char *name, int rank, const int64_t *shape)
{
    if (rank < 0 || rank > HFO_MAX_RANK)
        return hfo_graph_fail(w->g, HFO_GRAPH_ERR_USAGE, "weight '%s': bad rank %d", name, rank);
    return get(w, name, rank, shape, HFO_XFORM_NONE);
}

hfo_value *hfo_weights_linear(hfo_weights *w, const char *name, int64_t n_out, int64_t n_in)
{
    int64_t shape[2] = {n_out, n_in};
    return get(w, name, 2, shape, HFO_XFORM_TRANSPOSE);
}
