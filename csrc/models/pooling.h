/* pooling.h: sentence embeddings from token states, as sentence-transformers
 * pools them; shared by the BERT and T5 recipes.
 *
 *     hfo_pool_kind kind;
 *     if (hfo_pool_from_name(g, "mean", &kind) < 0) return NULL;     // error names it
 *     hfo_value *emb = hfo_pool_tokens(g, kind, last_hidden_state, attention_mask);  // [B, H]
 */
#ifndef HFO_MODELS_POOLING_H
#define HFO_MODELS_POOLING_H

#include "graph/graph.h"

typedef enum hfo_pool_kind {
    HFO_POOL_CLS = 1,     /* the first token's state */
    HFO_POOL_MEAN,        /* mean over the tokens the mask keeps */
    HFO_POOL_MAX,         /* element-wise max over the tokens the mask keeps */
} hfo_pool_kind;

/* "cls", "mean" or "max".  0, or -1 with HFO_GRAPH_ERR_UNSUPPORTED recorded. */
int hfo_pool_from_name(hfo_graph *g, const char *name, hfo_pool_kind *out);

/* h [B, S, H] float, mask [B, S] int64 -> [B, H]; nodes "/pooling/...". */
hfo_value *hfo_pool_tokens(hfo_graph *g, hfo_pool_kind kind, hfo_value *h, hfo_value *mask);

#endif
