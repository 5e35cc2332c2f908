/* weights.h: a checkpoint's tensors, looked up by Hugging Face name and added
 * to a graph as initializers.
 *
 *     static const char *const prefixes[] = {"", "bert.", NULL};
 *     hfo_weights *w = hfo_weights_new(g, my_lookup, my_ctx, prefixes);
 *     hfo_value *q = hfo_weights_linear(w, "encoder.layer.0.attention.self.query.weight", 384, 384);
 *     hfo_value *b = hfo_weights_get(w, "encoder.layer.0.attention.self.query.bias", 1, (int64_t[]){384});
 *     ...
 *     hfo_weights_free(w);   // before or after writing; the graph keeps the values
 *
 * A weight source is a callback that finds a tensor by its exact checkpoint
 * name (the Python glue looks it up in a dict of numpy arrays; a C test can
 * use a static table).  hfo_weights tries each base-model prefix in turn,
 * checks the shape, and adds the tensor to the graph under the name it was
 * found by, stored as float32 (float16/bfloat16 are widened while writing)
 * and, for Linear weights, transposed: Hugging Face stores nn.Linear as
 * [out, in]; MatMul wants [in, out].  Asking twice for a name returns the
 * same value.  Failures are recorded in the graph (kind HFO_GRAPH_ERR_WEIGHT) and
 * name the tensor; the call returns NULL.
 *
 * The tensor memory is borrowed: the source must keep it valid until the
 * graph is written (the glue hands every array to the Graph object).
 */
#ifndef HFO_MODELS_WEIGHTS_H
#define HFO_MODELS_WEIGHTS_H

#include "graph/graph.h"

/* One tensor of a checkpoint, as the source sees it (C order). */
typedef struct hfo_tensor_view {
    const void *data;          /* borrowed; valid until the graph is written */
    hfo_dtype dtype;
    int rank;
    int64_t shape[HFO_MAX_RANK];
} hfo_tensor_view;

/* Find `name` exactly.  Returns 1 and fills `out` when found, 0 when absent,
 * -1 on a failure the callback has already recorded with hfo_graph_fail. */
typedef int (*hfo_weight_lookup_fn)(void *ctx, hfo_graph *g, const char *name,
                                    hfo_tensor_view *out);

typedef struct hfo_weights hfo_weights;

/* A weight source over `lookup`, adding to `g`.  `prefixes` is a
 * NULL-terminated list tried in order ("" first for the bare name); it is
 * borrowed and must outlive the source.  Caller frees with hfo_weights_free.
 * NULL when out of memory (error recorded in g). */
hfo_weights *hfo_weights_new(hfo_graph *g, hfo_weight_lookup_fn lookup, void *ctx,
                             const char *const *prefixes);
void hfo_weights_free(hfo_weights *w);

hfo_graph *hfo_weights_graph(const hfo_weights *w);

/* Is there a tensor `name` under any prefix?  1, 0, or -1 (error recorded). */
int hfo_weights_has(hfo_weights *w, const char *name);

/* The weight `name` with exactly `shape`, stored as is (float32). */
hfo_value *hfo_weights_get(hfo_weights *w, const char *name, int rank, const int64_t *shape);

/* An nn.Linear weight stored [n_out, n_in], added transposed: [n_in, n_out]. */
hfo_value *hfo_weights_linear(hfo_weights *w, const char *name, int64_t n_out, int64_t n_in);

#endif
