/* graph.h: build an ONNX graph in C, in the manner of ggml.
 *
 * A graph context owns every value, node, name and attribute (one arena,
 * freed once).  Each op call records a node and returns its output value;
 * nothing is computed.  Weights are borrowed: the caller keeps their memory
 * alive until the graph is written (or owns a copy through the graph).
 *
 *     hfo_graph *g = hfo_graph_new("bert", 17);
 *     hfo_dim bs[2] = {HFO_DIM_SYM("batch_size"), HFO_DIM_SYM("sequence_length")};
 *     hfo_value *ids = hfo_graph_input(g, "input_ids", HFO_INT64, 2, bs);
 *     int64_t shape[2] = {30522, 768};
 *     hfo_value *emb = hfo_graph_weight(g, "embeddings.word_embeddings.weight",
 *                                       HFO_FLOAT, 2, shape, data, HFO_FLOAT, HFO_XFORM_NONE);
 *     hfo_value *h = hfo_gather(g, "/embeddings/word_embeddings/Gather", emb, ids, 0);
 *     hfo_graph_output(g, h, "last_hidden_state", 3, NULL);
 *     if (hfo_graph_failed(g)) fprintf(stderr, "%s\n", hfo_graph_error(g));
 *     else hfo_graph_write(g, "model.onnx", NULL);
 *     hfo_graph_free(g);
 *
 * Errors are sticky: the first failure is recorded in the graph, the failing
 * call returns NULL, and every later op given a NULL input returns NULL
 * without a new message.  A recipe can chain dozens of ops and check once.
 */
#ifndef HFO_GRAPH_H
#define HFO_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#define HFO_MAX_RANK 8
#define HFO_DEFAULT_OPSET 17

/* Element types: the numbers are ONNX's TensorProto.DataType. */
typedef enum hfo_dtype {
    HFO_UNDEFINED = 0,
    HFO_FLOAT = 1,
    HFO_UINT8 = 2,
    HFO_INT8 = 3,
    HFO_UINT16 = 4,
    HFO_INT16 = 5,
    HFO_INT32 = 6,
    HFO_INT64 = 7,
    HFO_STRING = 8,
    HFO_BOOL = 9,
    HFO_FLOAT16 = 10,
    HFO_DOUBLE = 11,
    HFO_UINT32 = 12,
    HFO_UINT64 = 13,
    HFO_BFLOAT16 = 16,
} hfo_dtype;

/* Size in bytes of one element; 0 for STRING and UNDEFINED. */
size_t hfo_dtype_size(hfo_dtype dt);
/* ONNX's name of a dtype ("float", "int64", ...); "undefined" if unknown. */
const char *hfo_dtype_name(hfo_dtype dt);
/* Parse a dtype name (ONNX or numpy spelling: "float32", "float", "int64",
 * "bool", "float16", "bfloat16", ...); HFO_UNDEFINED if not known. */
hfo_dtype hfo_dtype_from_name(const char *name);

/* One dimension: a fixed size, a symbolic name, or unknown. */
typedef struct hfo_dim {
    int64_t size;        /* >= 0 when fixed */
    const char *param;   /* symbolic name when not NULL (arena-owned inside a value) */
} hfo_dim;
#define HFO_DIM(n) ((hfo_dim){.size = (n), .param = NULL})
#define HFO_DIM_SYM(s) ((hfo_dim){.size = -1, .param = (s)})
#define HFO_DIM_ANY ((hfo_dim){.size = -1, .param = NULL})

typedef enum hfo_value_kind {
    HFO_VALUE_INPUT,
    HFO_VALUE_WEIGHT,     /* an initializer */
    HFO_VALUE_NODE,       /* an output of a node */
} hfo_value_kind;

/* How a weight's bytes are turned into the stored tensor, applied while
 * writing (streamed, never a whole-tensor copy). */
typedef enum hfo_xform {
    HFO_XFORM_NONE,
    HFO_XFORM_TRANSPOSE,  /* 2-D [r, c] in memory -> stored as [c, r] */
} hfo_xform;

typedef struct hfo_value {
    const char *name;         /* arena-owned; unique in the graph */
    hfo_dtype dtype;          /* HFO_UNDEFINED when not inferred */
    int rank;                 /* -1 when unknown */
    hfo_dim dims[HFO_MAX_RANK];
    hfo_value_kind kind;
    int index;                /* position among the graph's values */
} hfo_value;

typedef struct hfo_graph hfo_graph;

/* A new empty graph for the default ONNX domain at `opset` (0: default).
 * Caller frees with hfo_graph_free.  NULL only when out of memory. */
hfo_graph *hfo_graph_new(const char *name, int opset);
void hfo_graph_free(hfo_graph *g);

int hfo_graph_opset(const hfo_graph *g);

/* A subgraph of `parent`, for the then/else branches of an If:
 *
 *     hfo_graph *then_g = hfo_graph_subgraph(g, "use_cache_branch");
 *     hfo_graph_output(then_g, hfo_add(then_g, "/Add", a, b), "then_sum", -1, NULL);
 *     hfo_graph *else_g = hfo_graph_subgraph(g, "no_cache_branch");
 *     ...
 *     hfo_attr br[2] = {HFO_A_GRAPH("then_branch", then_g), HFO_A_GRAPH("else_branch", else_g)};
 *     hfo_value **outs = hfo_op(g, "If", NULL, "/If", 1, &cond, n_outputs, 2, br);
 *
 * Ops on a subgraph may read any value of its enclosing graphs; weights and
 * constants asked of it are the main graph's initializers, written once.
 * Node names made in it start with "/<name>".  Owned by the main graph
 * (freed with it; hfo_graph_free on a subgraph does nothing); NULL with the
 * error set on failure.  Only the main graph can be written. */
hfo_graph *hfo_graph_subgraph(hfo_graph *parent, const char *name);
/* The enclosing graph of a subgraph; NULL for the main graph. */
hfo_graph *hfo_graph_parent(const hfo_graph *g);
/* Import another domain (e.g. "com.microsoft", 1).  0 or -1 (error set). */
int hfo_graph_import_domain(hfo_graph *g, const char *domain, int version);

/* Model metadata written into the file (copied). */
void hfo_graph_set_producer(hfo_graph *g, const char *name, const char *version);
void hfo_graph_set_doc(hfo_graph *g, const char *doc);
int hfo_graph_add_metadata(hfo_graph *g, const char *key, const char *value);

/* Error state.  The message is owned by the graph, valid until the next
 * failing call or hfo_graph_free. */
int hfo_graph_failed(const hfo_graph *g);
const char *hfo_graph_error(const hfo_graph *g);
/* Which kind of error (for the glue to pick an exception class). */
typedef enum hfo_error_kind {
    HFO_GRAPH_ERR_NONE,
    HFO_GRAPH_ERR_NOMEM,
    HFO_GRAPH_ERR_USAGE,      /* bad op, attribute, dtype, name: GraphError */
    HFO_GRAPH_ERR_WEIGHT,     /* a weight is missing or misshaped: WeightError */
    HFO_GRAPH_ERR_UNSUPPORTED,/* config asks for what we cannot build */
    HFO_GRAPH_ERR_IO,         /* writing the file failed */
} hfo_error_kind;
hfo_error_kind hfo_graph_error_kind(const hfo_graph *g);
/* Record an error (printf-style); returns NULL for convenient `return`. */
void *hfo_graph_fail(hfo_graph *g, hfo_error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Forget the error so a caller (the Python glue) can go on after reporting it. */
void hfo_graph_clear_error(hfo_graph *g);

/* ---- values ---------------------------------------------------------- */

/* A graph input.  dims may be NULL when rank is -1 (unknown shape). */
hfo_value *hfo_graph_input(hfo_graph *g, const char *name, hfo_dtype dtype,
                           int rank, const hfo_dim *dims);

/* An initializer whose bytes are borrowed from `data`: `shape` is the
 * array's shape in memory (C order, elements of `src_dtype`), before
 * `xform`; the stored tensor is `dtype` with that shape, or its transpose for
 * HFO_XFORM_TRANSPOSE (memory [r, c] is stored as [c, r]).
 * Conversions applied while writing: float16/bfloat16 -> float, and the
 * transform.  `data` must stay valid until the graph is written. */
hfo_value *hfo_graph_weight(hfo_graph *g, const char *name, hfo_dtype dtype,
                            int rank, const int64_t *shape,
                            const void *data, hfo_dtype src_dtype, hfo_xform xform);

/* Same, but the graph copies `data` (nbytes = elements * size of dtype). */
hfo_value *hfo_graph_weight_copy(hfo_graph *g, const char *name, hfo_dtype dtype,
                                 int rank, const int64_t *shape, const void *data);

/* A constant tensor, created once per (dtype, shape, bytes) and shared:
 * asking twice returns the same value.  Named by dtype and value. */
hfo_value *hfo_const(hfo_graph *g, hfo_dtype dtype, int rank, const int64_t *shape,
                     const void *data);
hfo_value *hfo_const_i64s(hfo_graph *g, size_t n, const int64_t *v);   /* 1-D */
hfo_value *hfo_const_i64(hfo_graph *g, int64_t v);                     /* scalar */
hfo_value *hfo_const_f32(hfo_graph *g, float v);                       /* scalar */

/* Declare `v` a graph output named `name`.  The value is renamed when it is a
 * node output not yet exported; otherwise an Identity node is added.  dims
 * may be NULL (rank -1: unknown shape; or keep the value's inferred shape).
 * Returns the output value, or NULL (error set). */
hfo_value *hfo_graph_output(hfo_graph *g, hfo_value *v, const char *name,
                            int rank, const hfo_dim *dims);

/* Set what is known of a value's shape (used for graph outputs' value_info). */
void hfo_value_set_shape(hfo_graph *g, hfo_value *v, int rank, const hfo_dim *dims);

/* Look up by name; NULL when absent (no error set). */
hfo_value *hfo_graph_find(const hfo_graph *g, const char *name);
size_t hfo_graph_n_nodes(const hfo_graph *g);
size_t hfo_graph_n_values(const hfo_graph *g);
size_t hfo_graph_n_outputs(const hfo_graph *g);
hfo_value *hfo_graph_value_at(const hfo_graph *g, size_t i);

/* ---- nodes ----------------------------------------------------------- */

/* Attribute kinds: the numbers are ONNX's AttributeProto.AttributeType. */
typedef enum hfo_attr_type {
    HFO_ATTR_UNDEFINED = 0,
    HFO_ATTR_FLOAT = 1,
    HFO_ATTR_INT = 2,
    HFO_ATTR_STRING = 3,
    HFO_ATTR_TENSOR = 4,
    HFO_ATTR_GRAPH = 5,
    HFO_ATTR_FLOATS = 6,
    HFO_ATTR_INTS = 7,
    HFO_ATTR_STRINGS = 8,
} hfo_attr_type;

/* An attribute as passed to hfo_op; contents are copied into the arena. */
typedef struct hfo_attr {
    const char *name;
    hfo_attr_type type;
    int64_t i;
    float f;
    const char *s;
    size_t n;                      /* element count of ints/floats/strings */
    const int64_t *ints;
    const float *floats;
    const char *const *strings;
    const hfo_value *tensor;       /* TENSOR: a constant or copied weight of this graph */
    const struct hfo_graph *graph; /* GRAPH: a subgraph of the graph the node is added to */
} hfo_attr;

#define HFO_A_INT(nm, v) ((hfo_attr){.name = (nm), .type = HFO_ATTR_INT, .i = (v)})
#define HFO_A_FLOAT(nm, v) ((hfo_attr){.name = (nm), .type = HFO_ATTR_FLOAT, .f = (v)})
#define HFO_A_STR(nm, v) ((hfo_attr){.name = (nm), .type = HFO_ATTR_STRING, .s = (v)})
#define HFO_A_INTS(nm, cnt, v) ((hfo_attr){.name = (nm), .type = HFO_ATTR_INTS, .n = (cnt), .ints = (v)})
#define HFO_A_FLOATS(nm, cnt, v) ((hfo_attr){.name = (nm), .type = HFO_ATTR_FLOATS, .n = (cnt), .floats = (v)})
#define HFO_A_TENSOR(nm, t) ((hfo_attr){.name = (nm), .type = HFO_ATTR_TENSOR, .tensor = (t)})
#define HFO_A_GRAPH(nm, sg) ((hfo_attr){.name = (nm), .type = HFO_ATTR_GRAPH, .graph = (sg)})

/* Record a node of `op_type` (in `domain`, NULL for ONNX's) named `name`
 * (a path like "/encoder/layer.0/attention/self/query/MatMul"; made unique
 * with a suffix when taken; NULL: derived from the op type).  The op, the
 * input count, every attribute's name and type, and the input dtypes are
 * checked against the op's schema now; output dtypes are inferred.
 * Returns the node's outputs (arena-owned array of n_out values, named
 * "<node name>_output_<i>" or, for a single output, "<node name>_output_0"),
 * or NULL with the error set.  An absent optional input is NULL only when
 * `allow_missing` is set for that position by passing HFO_NO_INPUT. */
hfo_value **hfo_op(hfo_graph *g, const char *op_type, const char *domain,
                   const char *name, size_t n_in, hfo_value *const *in,
                   size_t n_out, size_t n_attr, const hfo_attr *attrs);
/* Marker for an omitted optional input (written as the empty name ""). */
extern hfo_value *const HFO_NO_INPUT;

/* Schema queries (for the Python glue to convert attribute values). */
int hfo_op_known(const char *op_type, const char *domain);
/* The declared type of attribute `attr` of `op_type`, HFO_ATTR_UNDEFINED if the
 * op has no such attribute. */
hfo_attr_type hfo_op_attr_type(const char *op_type, const char *domain, const char *attr);
/* Default output count of an op (e.g. 1; Split is variadic: 0). */
int hfo_op_default_outputs(const char *op_type, const char *domain);

/* ---- single-output conveniences (one-line shape comments) -------------- */
hfo_value *hfo_op1(hfo_graph *g, const char *op_type, const char *name,
                   size_t n_in, hfo_value *const *in, size_t n_attr, const hfo_attr *attrs);

hfo_value *hfo_matmul(hfo_graph *g, const char *name, hfo_value *a, hfo_value *b);   /* [..,m,k]@[k,n] */
hfo_value *hfo_add(hfo_graph *g, const char *name, hfo_value *a, hfo_value *b);      /* broadcast */
hfo_value *hfo_sub(hfo_graph *g, const char *name, hfo_value *a, hfo_value *b);
hfo_value *hfo_mul(hfo_graph *g, const char *name, hfo_value *a, hfo_value *b);
hfo_value *hfo_div(hfo_graph *g, const char *name, hfo_value *a, hfo_value *b);
hfo_value *hfo_pow(hfo_graph *g, const char *name, hfo_value *a, hfo_value *b);
hfo_value *hfo_unary(hfo_graph *g, const char *op_type, const char *name, hfo_value *x); /* Erf, Tanh, Sqrt, ... */
hfo_value *hfo_gather(hfo_graph *g, const char *name, hfo_value *data, hfo_value *idx, int64_t axis);
hfo_value *hfo_layer_norm(hfo_graph *g, const char *name, hfo_value *x, hfo_value *scale,
                          hfo_value *bias, float eps);                              /* over last axis */
hfo_value *hfo_softmax(hfo_graph *g, const char *name, hfo_value *x, int64_t axis);
hfo_value *hfo_transpose(hfo_graph *g, const char *name, hfo_value *x, size_t n, const int64_t *perm);
hfo_value *hfo_reshape(hfo_graph *g, const char *name, hfo_value *x, size_t n, const int64_t *shape); /* 0 keeps, -1 infers */
hfo_value *hfo_unsqueeze(hfo_graph *g, const char *name, hfo_value *x, size_t n, const int64_t *axes);
hfo_value *hfo_squeeze(hfo_graph *g, const char *name, hfo_value *x, size_t n, const int64_t *axes);
hfo_value *hfo_cast(hfo_graph *g, const char *name, hfo_value *x, hfo_dtype to);
hfo_value *hfo_reduce(hfo_graph *g, const char *op_type, const char *name, hfo_value *x,
                      size_t n, const int64_t *axes, int keepdims);   /* ReduceMean/Sum/Max: axes as input (opset 18+) or attribute */
hfo_value *hfo_concat(hfo_graph *g, const char *name, size_t n, hfo_value *const *xs, int64_t axis);
hfo_value *hfo_where(hfo_graph *g, const char *name, hfo_value *cond, hfo_value *a, hfo_value *b);
hfo_value *hfo_slice(hfo_graph *g, const char *name, hfo_value *x, hfo_value *starts,
                     hfo_value *ends, hfo_value *axes, hfo_value *steps);      /* axes/steps may be NULL */
hfo_value *hfo_shape(hfo_graph *g, const char *name, hfo_value *x);           /* int64 [rank] */
hfo_value *hfo_gemm_linear(hfo_graph *g, const char *path, hfo_value *x, hfo_value *w_t, hfo_value *b);
                                                           /* x @ w_t (+ b): MatMul then Add, named path/MatMul, path/Add */

/* ---- writing ---------------------------------------------------------- */

/* One external data file shared by several models written one after another
 * (T5's encoder and decoders read the same embedding and decoder weights):
 * a tensor already in the file is referenced again, not written twice.
 *
 *     char err[512];
 *     hfo_external_store *s = hfo_external_store_open("out/model.onnx_data", err, sizeof err);
 *     hfo_write_options o = {.store = s};
 *     hfo_graph_write(encoder, "out/encoder_model.onnx", &o);
 *     hfo_graph_write(decoder, "out/decoder_model.onnx", &o);
 *     hfo_external_store_commit(s, err, sizeof err);   // the data file appears
 *     hfo_external_store_free(s);
 *
 * A tensor is the same when it comes from the same memory with the same
 * stored dtype, shape and transform: that memory must stay valid and
 * unchanged until the store is freed.  The file is written under a temporary
 * name and renamed by commit; freed without commit, it is removed.  The
 * models must be written in the store's folder. */
typedef struct hfo_external_store hfo_external_store;
/* NULL with a message in err on failure.  Caller frees with hfo_external_store_free. */
hfo_external_store *hfo_external_store_open(const char *path, char *err, size_t err_len);
/* 0, or -1 with a message in err. */
int hfo_external_store_commit(hfo_external_store *s, char *err, size_t err_len);
void hfo_external_store_free(hfo_external_store *s);
/* Bytes of tensor data held so far (padding included). */
uint64_t hfo_external_store_size(const hfo_external_store *s);

typedef struct hfo_write_options {
    /* Put tensors of at least `external_min_bytes` in `external_name` beside
     * the model (a bare file name).  external_name NULL: only when the model
     * would exceed protobuf's 2 GB limit, then "<model file name>_data". */
    const char *external_name;
    size_t external_min_bytes;   /* 0: 1024 */
    int force_external;          /* always write the external file */
    hfo_external_store *store;   /* write external tensors to this shared file (implies external) */
    int threads;                 /* threads writing weight bytes; 0: one per core */
} hfo_write_options;

/* Write the model to `path` (via "<path>.tmp-XXXX", renamed when complete;
 * nothing is left behind on failure).  opts may be NULL.  0 or -1 (error set,
 * kind HFO_GRAPH_ERR_IO or HFO_GRAPH_ERR_USAGE).  Does not touch the Python GIL: the
 * glue releases it around this call. */
int hfo_graph_write(hfo_graph *g, const char *path, const hfo_write_options *opts);

#endif
