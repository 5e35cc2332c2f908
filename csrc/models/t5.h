/* t5.h: T5's encoder and decoder as ONNX graphs, the three files optimum
 * exports for text2text-generation:
 *
 *   encoder_model.onnx            input_ids, attention_mask -> last_hidden_state
 *   decoder_model.onnx            input_ids, encoder_attention_mask, encoder_hidden_states
 *                                 -> logits, present.{i}.decoder.key|value, present.{i}.encoder.key|value
 *   decoder_with_past_model.onnx  the same plus past_key_values.{i}.decoder|encoder.key|value
 *                                 -> logits, present.{i}.decoder.key|value
 *   decoder_model_merged.onnx     both decoders behind an If on use_cache_branch
 *
 *     hfo_t5 m;
 *     hfo_t5_config cfg;
 *     hfo_t5_config_default(&cfg);          // then fill from config.json
 *     if (hfo_t5_init(&m, g, weights, &cfg) == 0) {
 *         hfo_value *h = hfo_t5_encoder(&m);   // adds the inputs, returns last_hidden_state
 *         hfo_graph_output(g, h, "last_hidden_state", 3, dims);
 *     }
 *
 * Relative position buckets are computed inside the graph from the
 * sequence lengths, so every length works, and follow transformers'
 * T5Attention._relative_position_bucket op for op (float32 Log, Div, Mul,
 * truncating Cast) so the buckets are the same.  Caches are laid out as
 * transformers and optimum do: [batch, heads, length, d_kv].
 *
 * Weights are looked up by their Hugging Face names ("shared.weight",
 * "encoder.block.0.layer.0.SelfAttention.q.weight", ...); errors are
 * recorded in the graph (see weights.h).  Parity reference: transformers'
 * modeling_t5.py (T5LayerNorm, T5Attention + eager_attention_forward,
 * T5DenseActDense, T5DenseGatedActDense, T5Stack, T5ForConditionalGeneration).
 */
#ifndef HFO_MODELS_T5_H
#define HFO_MODELS_T5_H

#include "graph/graph.h"
#include "models/activations.h"
#include "models/weights.h"

typedef struct hfo_t5_config {
    int64_t vocab_size, d_model, d_kv, d_ff, num_heads;
    int64_t num_layers, num_decoder_layers;
    int64_t num_buckets, max_distance;       /* relative_attention_num_buckets / _max_distance */
    double layer_norm_epsilon;
    hfo_act act;                             /* dense_act_fn */
    int is_gated_act;                        /* wi_0, wi_1 instead of wi */
    int tie_word_embeddings;                 /* lm_head is shared.weight */
    int scale_decoder_outputs;               /* multiply by d_model^-0.5 before lm_head */
} hfo_t5_config;

/* T5Config's defaults (t5-small). */
void hfo_t5_config_default(hfo_t5_config *c);
/* 0, or -1 with HFO_GRAPH_ERR_UNSUPPORTED recorded naming the bad field. */
int hfo_t5_config_check(hfo_graph *g, const hfo_t5_config *c);

typedef struct hfo_t5 {
    hfo_graph *g;
    hfo_weights *w;
    hfo_t5_config cfg;
} hfo_t5;

int hfo_t5_init(hfo_t5 *m, hfo_graph *g, hfo_weights *w, const hfo_t5_config *cfg);

/* Adds inputs input_ids, attention_mask; returns last_hidden_state [B, S, d_model]. */
hfo_value *hfo_t5_encoder(hfo_t5 *m);

/* A decoder's inputs: per layer arrays of num_decoder_layers values, owned by
 * the caller (the values are the graph's). */
typedef struct hfo_t5_decoder_in {
    hfo_value *input_ids;                    /* [B, S] int64 */
    hfo_value *encoder_attention_mask;       /* [B, S_enc] int64 */
    hfo_value *encoder_hidden_states;        /* [B, S_enc, d_model]; NULL when only caches are used */
    hfo_value **self_key, **self_value;      /* past_key_values.{i}.decoder.*: [B, H, past, d_kv] */
    hfo_value **cross_key, **cross_value;    /* past_key_values.{i}.encoder.*: [B, H, S_enc, d_kv] */
} hfo_t5_decoder_in;

typedef struct hfo_t5_decoder_out {
    hfo_value *logits;                       /* [B, S, vocab] */
    hfo_value **self_key, **self_value;      /* [B, H, past + S, d_kv] */
    hfo_value **cross_key, **cross_value;    /* [B, H, S_enc, d_kv] (the cached ones when reading a cache) */
} hfo_t5_decoder_out;

/* Declare the decoder's graph inputs on m->g: input_ids, encoder_attention_mask,
 * encoder_hidden_states (with_hidden), past_key_values.* (with_past; `in`'s
 * arrays must have room).  0 or -1 (error set). */
int hfo_t5_decoder_inputs(hfo_t5 *m, int with_hidden, int with_past, hfo_t5_decoder_in *in);

/* Build the decoder on m->g (the graph or a subgraph) from `in`: over the
 * caches when use_past, else over encoder_hidden_states.  Fills `out`
 * (arrays owned by the caller).  0 or -1 (error set). */
int hfo_t5_decoder_body(hfo_t5 *m, const hfo_t5_decoder_in *in, int use_past, hfo_t5_decoder_out *out);

/* decoder_model (with_past 0) or decoder_with_past_model (1): inputs, then body. */
int hfo_t5_decoder(hfo_t5 *m, int with_past, hfo_t5_decoder_in *in, hfo_t5_decoder_out *out);

/* decoder_model_merged: every input of both plus use_cache_branch (bool [1]),
 * an If choosing the branch; `outputs` receives the If's 1 + 4 * layers
 * values: logits, then per layer decoder key, value, encoder key, value.
 * then_out / else_out are scratch for the branches (arrays owned by the caller). */
int hfo_t5_decoder_merged(hfo_t5 *m, hfo_t5_decoder_in *in, hfo_t5_decoder_out *then_out,
                          hfo_t5_decoder_out *else_out, hfo_value **outputs);

#endif
