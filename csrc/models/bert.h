/* bert.h: BertModel (and its task heads) as an ONNX graph.
 *
 *     hfo_bert_config cfg;
 *     hfo_bert_config_default(&cfg);          // transformers.BertConfig's defaults
 *     cfg.hidden_size = 384; ...              // the glue fills it from config.json
 *     hfo_bert m;
 *     if (hfo_bert_init(&m, g, weights, &cfg) < 0) ...          // declares the inputs
 *     hfo_value *h = hfo_bert_encoder(&m, hfo_bert_embeddings(&m), hfo_bert_mask_bias(&m));
 *     hfo_bert_outputs out;
 *     hfo_bert_head(&m, HFO_BERT_FEATURE_EXTRACTION, HFO_BERT_POOL_MEAN, h, &out);
 *     hfo_bert_declare_outputs(&m, &out);
 *
 * Every block returns its output value (NULL on error, recorded in the graph;
 * errors are sticky so a chain of blocks is checked once).  Weights are
 * looked up through `weights` by their Hugging Face names (prefix "bert."
 * optional); node names are paths mirroring the module tree, e.g.
 * "/encoder/layer.0/attention/self/query/MatMul".  The graph is shaped as
 * torch exports BERT so that onnxruntime fuses LayerNorm+residual
 * (SkipLayerNormalization), bias+Gelu and friends.
 *
 * Inputs: input_ids, attention_mask, token_type_ids: int64 [batch_size,
 * sequence_length].  Position ids are 0..sequence_length-1 ("absolute").
 */
#ifndef HFO_MODELS_BERT_H
#define HFO_MODELS_BERT_H

#include "graph/graph.h"
#include "models/activations.h"
#include "models/weights.h"

typedef struct hfo_bert_config {
    int64_t vocab_size;              /* 30522 */
    int64_t hidden_size;             /* 768 */
    int64_t num_hidden_layers;       /* 12 */
    int64_t num_attention_heads;     /* 12 */
    int64_t intermediate_size;       /* 3072 */
    int64_t max_position_embeddings; /* 512 */
    int64_t type_vocab_size;         /* 2 */
    double layer_norm_eps;           /* 1e-12 */
    hfo_act hidden_act;              /* gelu */
    int64_t num_labels;              /* 2 (classification heads) */
    int tie_word_embeddings;         /* 1: the fill-mask decoder is the word embeddings */
} hfo_bert_config;

/* transformers.BertConfig's defaults. */
void hfo_bert_config_default(hfo_bert_config *c);
/* Sizes positive, hidden_size divisible by heads.  0 or -1 (HFO_GRAPH_ERR_UNSUPPORTED). */
int hfo_bert_config_check(hfo_graph *g, const hfo_bert_config *c);
/* Only "absolute" is supported.  0 or -1 (HFO_GRAPH_ERR_UNSUPPORTED naming it). */
int hfo_bert_check_position_embedding_type(hfo_graph *g, const char *type);

typedef struct hfo_bert {
    hfo_graph *g;                    /* borrowed */
    hfo_weights *w;                  /* borrowed */
    hfo_bert_config cfg;
    hfo_value *input_ids, *attention_mask, *token_type_ids;  /* graph inputs */
} hfo_bert;

/* Check the config and declare the three inputs.  0 or -1 (error in g). */
int hfo_bert_init(hfo_bert *m, hfo_graph *g, hfo_weights *w, const hfo_bert_config *cfg);

/* x @ W^T + b for the nn.Linear `module` ("encoder.layer.0.output.dense")
 * with nodes under `path`.  x [..., n_in] -> [..., n_out]. */
hfo_value *hfo_bert_linear(hfo_bert *m, const char *module, const char *path, hfo_value *x,
                           int64_t n_out, int64_t n_in);
/* LayerNormalization over the last axis with `module`.weight/.bias
 * (or the old .gamma/.beta).  [..., H] -> [..., H] */
hfo_value *hfo_bert_layer_norm(hfo_bert *m, const char *module, const char *path, hfo_value *x,
                               int64_t size, double eps);

hfo_value *hfo_bert_embeddings(hfo_bert *m);          /* -> [B, S, H] */
hfo_value *hfo_bert_mask_bias(hfo_bert *m);           /* -> [B, 1, 1, S]: 0 or float min */
hfo_value *hfo_bert_self_attention(hfo_bert *m, int layer, hfo_value *x, hfo_value *mask_bias);
                                                      /* [B,S,H] -> context [B,S,H] */
hfo_value *hfo_bert_attention(hfo_bert *m, int layer, hfo_value *x, hfo_value *mask_bias);
                                                      /* self-attention + output dense + residual LN */
hfo_value *hfo_bert_feed_forward(hfo_bert *m, int layer, hfo_value *x);  /* [B,S,H] -> [B,S,H] */
hfo_value *hfo_bert_layer(hfo_bert *m, int layer, hfo_value *x, hfo_value *mask_bias);
hfo_value *hfo_bert_encoder(hfo_bert *m, hfo_value *x, hfo_value *mask_bias);  /* all layers */
hfo_value *hfo_bert_pooler(hfo_bert *m, hfo_value *h);  /* tanh(dense(h[:, 0])): [B, H] */

/* ---- task heads (bert_heads.c) ---------------------------------------- */

typedef enum hfo_bert_task {
    HFO_BERT_FEATURE_EXTRACTION,     /* last_hidden_state (+ sentence_embedding) */
    HFO_BERT_TEXT_CLASSIFICATION,    /* logits [B, num_labels] */
    HFO_BERT_TOKEN_CLASSIFICATION,   /* logits [B, S, num_labels] */
    HFO_BERT_QUESTION_ANSWERING,     /* start_logits, end_logits [B, S] */
    HFO_BERT_FILL_MASK,              /* logits [B, S, vocab_size] */
} hfo_bert_task;

typedef enum hfo_bert_pooling {
    HFO_BERT_POOL_NONE,
    HFO_BERT_POOL_CLS,               /* h[:, 0] */
    HFO_BERT_POOL_MEAN,              /* attention-mask weighted mean over tokens */
    HFO_BERT_POOL_MAX,               /* max over real tokens */
    HFO_BERT_POOL_POOLER,            /* BertPooler's output */
} hfo_bert_pooling;

/* Parse optimum's task names / pooling names.  0 or -1 (HFO_GRAPH_ERR_UNSUPPORTED
 * naming the value and listing the supported ones). */
int hfo_bert_task_from_name(hfo_graph *g, const char *name, hfo_bert_task *out);
int hfo_bert_pooling_from_name(hfo_graph *g, const char *name, hfo_bert_pooling *out);

#define HFO_BERT_MAX_OUTPUTS 4
typedef struct hfo_bert_outputs {
    size_t n;
    const char *names[HFO_BERT_MAX_OUTPUTS];   /* static strings */
    hfo_value *values[HFO_BERT_MAX_OUTPUTS];
    int rank[HFO_BERT_MAX_OUTPUTS];
    hfo_dim dims[HFO_BERT_MAX_OUTPUTS][3];
} hfo_bert_outputs;

/* The head for `task` over the encoder output `h`; fills `out` with the
 * named results (pooling only for feature extraction; POOL_NONE otherwise).
 * 0 or -1 (error in g). */
int hfo_bert_head(hfo_bert *m, hfo_bert_task task, hfo_bert_pooling pooling, hfo_value *h,
                  hfo_bert_outputs *out);
/* Declare every result of `out` as a graph output with symbolic dims; the
 * values in `out` are replaced by the output values.  0 or -1. */
int hfo_bert_declare_outputs(hfo_bert *m, hfo_bert_outputs *out);

/* Pooling over h [B,S,H] with attention_mask [B,S] (and the pooler for
 * POOL_POOLER): -> [B, H] */
hfo_value *hfo_bert_pool(hfo_bert *m, hfo_bert_pooling pooling, hfo_value *h);

#endif
