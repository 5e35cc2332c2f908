/* graph_impl.h: the graph's internals, shared by the builder (graph.c), the
 * op checker (op_schema.c) and the writer (onnx_write.c).  Not for recipes:
 * they use graph.h only. */
#ifndef HFO_GRAPH_IMPL_H
#define HFO_GRAPH_IMPL_H

#include "common/arena.h"
#include "graph.h"

/* A value with what the writer needs to know.  `pub` is first so a
 * hfo_value* is a value_rec*. */
typedef struct value_rec {
    hfo_value pub;
    /* weights (HFO_VALUE_WEIGHT) */
    const void *data;        /* borrowed, or arena-owned for copies and constants */
    hfo_dtype src_dtype;     /* layout of `data` */
    hfo_xform xform;
    int is_const;            /* made by hfo_const: shared by name */
    int is_output;           /* declared as a graph output */
    struct node_rec *producer;
    hfo_graph *owner;        /* graph whose scope defines it (weights: the root) */
} value_rec;

typedef struct node_rec {
    const char *op_type;
    const char *domain;      /* "" for ONNX's */
    const char *name;
    size_t n_in, n_out, n_attr;
    value_rec **in;          /* NULL entry: omitted optional input */
    hfo_value **out;         /* each a value_rec's pub */
    hfo_attr *attrs;         /* arena copies */
} node_rec;

typedef struct opset_rec {
    const char *domain;
    int version;
} opset_rec;

typedef struct kv_rec {
    const char *key, *value;
} kv_rec;

/* A growable array of pointers (malloc'd, freed with the graph). */
typedef struct ptr_vec {
    void **items;
    size_t len, cap;
} ptr_vec;

/* Open-addressing map from name to value_rec, for uniqueness and lookup. */
typedef struct name_map {
    const char **keys;
    void **vals;
    size_t cap, len;
} name_map;

/* A graph, or a subgraph (the body of an If).  What is shared by a graph and
 * all its subgraphs lives in the root: the arena, every value (so names are
 * unique across scopes and weights are the root's initializers), node names,
 * opsets, metadata and the error.  A subgraph owns only its nodes, inputs
 * and outputs. */
struct hfo_graph {
    hfo_graph *root;         /* itself for the main graph */
    hfo_graph *parent;       /* NULL for the main graph */
    const char *node_prefix; /* prepended to node names made in a subgraph ("" at the root) */
    int frozen;              /* a subgraph already used by a node: no more nodes or outputs */
    ptr_vec subgraphs;       /* root only: every subgraph, freed with the root */
    hfo_arena arena;
    const char *name;
    ptr_vec values;          /* value_rec*, in creation order */
    ptr_vec nodes;           /* node_rec*, in creation (= topological) order */
    ptr_vec inputs;          /* value_rec* */
    ptr_vec outputs;         /* value_rec* */
    ptr_vec opsets;          /* opset_rec*, [0] is the default domain */
    ptr_vec metadata;        /* kv_rec* */
    name_map value_names;
    name_map node_names;
    const char *producer_name, *producer_version, *doc;
    hfo_error_kind err_kind;
    char *err;               /* malloc'd message, NULL when no error */
};

int hfo_ptr_vec_push(ptr_vec *v, void *p);

/* Check `op_type`'s inputs and attributes against its schema and infer the
 * output dtypes into out_dtypes[n_out].  0 or -1 with the graph error set. */
int hfo_op_check(hfo_graph *g, const char *op_type, const char *domain, const char *name,
                 size_t n_in, value_rec *const *in, size_t n_out,
                 size_t n_attr, const hfo_attr *attrs, hfo_dtype *out_dtypes);

/* Fill in what can be known of node n's output shapes (shape_infer.c). */
void hfo_infer_shapes(hfo_graph *g, node_rec *n);

/* Bytes of a weight as stored (elements of pub.dims times the stored dtype). */
size_t hfo_value_nbytes(const value_rec *v);
size_t hfo_value_nelems(const value_rec *v);

#endif
