/* bert.c: BertModel's blocks as ONNX subgraphs (see bert.h).
 *
 * Parity reference: transformers' modeling_bert.py (BertEmbeddings,
 * BertSelfAttention eager path, BertSelfOutput, BertIntermediate,
 * BertOutput, BertPooler); additions are kept in the same order as there so
 * float rounding matches. */
#include "models/bert.h"
#include "models/config_check.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_MAX_LEN 512
#define FMT(buf, ...) (snprintf((buf), sizeof(buf), __VA_ARGS__), (buf))

void hfo_bert_config_default(hfo_bert_config *c)
{
    *c = (hfo_bert_config){
        .vocab_size = 30522,
        .hidden_size = 768,
        .num_hidden_layers = 12,
        .num_attention_heads = 12,
        .intermediate_size = 3072,
        .max_position_embeddings = 512,
        .type_vocab_size = 2,
        .layer_norm_eps = 1e-12,
        .hidden_act = HFO_ACT_GELU,
        .num_labels = 2,
        .tie_word_embeddings = 1,
    };
}

int hfo_bert_config_check(hfo_graph *g, const hfo_bert_config *c)
{
    const hfo_config_size sizes[] = {
        {"vocab_size", c->vocab_size},
        {"hidden_size", c->hidden_size},
        {"num_hidden_layers", c->num_hidden_layers},
        {"num_attention_heads", c->num_attention_heads},
        {"intermediate_size", c->intermediate_size},
        {"max_position_embeddings", c->max_position_embeddings},
        {"type_vocab_size", c->type_vocab_size},
        {"num_labels", c->num_labels},
    };
    if (hfo_config_check_sizes(g, sizes, sizeof sizes / sizeof sizes[0]) < 0)
        return -1;
    if (c->num_hidden_layers > 100000) {
        hfo_graph_fail(g, HFO_GRAPH_ERR_UNSUPPORTED, "config num_hidden_layers = %lld is too large",
                       (long long)c->num_hidden_layers);
        return -1;
    }
    if (c->hidden_size % c->num_attention_heads != 0) {
        hfo_graph_fail(g, HFO_GRAPH_ERR_UNSUPPORTED,
                       "config hidden_size = %lld is not a multiple of num_attention_heads = %lld",
                       (long long)c->hidden_size, (long long)c->num_attention_heads);
        return -1;
    }
    if (!(c->layer_norm_eps >= 0.0) || !isfinite(c->layer_norm_eps)) {
        hfo_graph_fail(g, HFO_GRAPH_ERR_UNSUPPORTED, "config layer_norm_eps = %g: expected >= 0",
                       c->layer_norm_eps);
        return -1;
    }
    return 0;
}

int hfo_bert_check_position_embedding_type(hfo_graph *g, const char *type)
{
    if (strcmp(type, "absolute") == 0)
        return 0;
    hfo_graph_fail(g, HFO_GRAPH_ERR_UNSUPPORTED,
                   "unsupported position_embedding_type '%s' (supported: absolute)", type);
    return -1;
}

int hfo_bert_init(hfo_bert *m, hfo_graph *g, hfo_weights *w, const hfo_bert_config *cfg)
{
    memset(m, 0, sizeof *m);
    m->g = g;
    m->w = w;
    m->cfg = *cfg;
    if (hfo_bert_config_check(g, cfg) < 0)
        return -1;
    hfo_dim bs[2] = {HFO_DIM_SYM("batch_size"), HFO_DIM_SYM("sequence_length")};
    m->input_ids = hfo_graph_input(g, "input_ids", HFO_INT64, 2, bs);
    m->attention_mask = hfo_graph_input(g, "attention_mask", HFO_INT64, 2, bs);
    m->token_type_ids = hfo_graph_input(g, "token_type_ids", HFO_INT64, 2, bs);
    return hfo_graph_failed(g) ? -1 : 0;
}

hfo_value *hfo_bert_linear(hfo_bert *m, const char *module, const char *path, hfo_value *x,
                           int64_t n_out, int64_t n_in)
{
    char name[PATH_MAX_LEN];
    hfo_value *wt = hfo_weights_linear(m->w, FMT(name, "%s.weight", module), n_out, n_in);
    hfo_value *b = hfo_weights_get(m->w, FMT(name, "%s.bias", module), 1, &n_out);
    if (x == NULL || wt == NULL || b == NULL)
        return NULL;
    return hfo_gemm_linear(m->g, path, x, wt, b);
}

hfo_value *hfo_bert_layer_norm(hfo_bert *m, const char *module, const char *path, hfo_value *x,
                               int64_t size, double eps)
{
    char name[PATH_MAX_LEN], node[PATH_MAX_LEN + 64];
    /* Checkpoints from the TensorFlow era name them gamma/beta. */
    int modern = hfo_weights_has(m->w, FMT(name, "%s.weight", module));
    if (modern < 0)
        return NULL;
    if (!modern && hfo_weights_has(m->w, FMT(name, "%s.gamma", module)) != 1)
        modern = 1;  /* neither: report the modern name as missing */
    hfo_value *scale = hfo_weights_get(m->w, FMT(name, "%s.%s", module, modern ? "weight" : "gamma"),
                                       1, &size);
    hfo_value *bias = hfo_weights_get(m->w, FMT(name, "%s.%s", module, modern ? "bias" : "beta"),
                                      1, &size);
    if (x == NULL || scale == NULL || bias == NULL)
        return NULL;
    return hfo_layer_norm(m->g, FMT(node, "%s/LayerNormalization", path), x, scale, bias,
                          (float)eps);
}

/*  input_ids ──► Gather(word_embeddings) ─────────┐
 *  token_type_ids ──► Gather(token_type_emb.) ──► Add ──► Add ──► LayerNorm ──► [B,S,H]
 *  position_ids[:, :S] ──► Gather(position_emb.) ──────────┘
 *  input_ids ─► Shape ─► Gather(1) ─► Unsqueeze ─► S
 *
 * position_ids is a constant arange(max_position_embeddings)[None, :] sliced to
 * the sequence length, as torch exports BERT's position_ids buffer; that is the
 * pattern onnxruntime's optimizer fuses into EmbedLayerNormalization. */
hfo_value *hfo_bert_embeddings(hfo_bert *m)
{
    hfo_graph *g = m->g;
    const hfo_bert_config *c = &m->cfg;
    int64_t word_shape[2] = {c->vocab_size, c->hidden_size};
    int64_t type_shape[2] = {c->type_vocab_size, c->hidden_size};
    int64_t pos_shape[2] = {c->max_position_embeddings, c->hidden_size};
    hfo_value *word = hfo_weights_get(m->w, "embeddings.word_embeddings.weight", 2, word_shape);
    hfo_value *type = hfo_weights_get(m->w, "embeddings.token_type_embeddings.weight", 2, type_shape);
    hfo_value *pos = hfo_weights_get(m->w, "embeddings.position_embeddings.weight", 2, pos_shape);
    if (word == NULL || type == NULL || pos == NULL)
        return NULL;

    hfo_value *x = hfo_gather(g, "/embeddings/word_embeddings/Gather", word, m->input_ids, 0);
    hfo_value *t = hfo_gather(g, "/embeddings/token_type_embeddings/Gather", type,
                              m->token_type_ids, 0);
    x = hfo_add(g, "/embeddings/Add", x, t);

    size_t n = (size_t)c->max_position_embeddings;
    int64_t *arange = malloc(n * sizeof *arange);
    if (arange == NULL)
        return hfo_graph_fail(g, HFO_GRAPH_ERR_NOMEM, "out of memory building position ids");
    for (size_t i = 0; i < n; i++)
        arange[i] = (int64_t)i;
    hfo_value *ids = hfo_const(g, HFO_INT64, 2, (int64_t[]){1, c->max_position_embeddings}, arange);
    free(arange);
    hfo_value *seq = hfo_shape(g, "/embeddings/Shape", m->input_ids);
    seq = hfo_gather(g, "/embeddings/Gather", seq, hfo_const_i64(g, 1), 0);
    seq = hfo_unsqueeze(g, "/embeddings/Unsqueeze", seq, 1, (int64_t[]){0});
    ids = hfo_slice(g, "/embeddings/Slice", ids, hfo_const_i64s(g, 1, (int64_t[]){0}), seq,
                    hfo_const_i64s(g, 1, (int64_t[]){1}), hfo_const_i64s(g, 1, (int64_t[]){1}));
    hfo_value *p = hfo_gather(g, "/embeddings/position_embeddings/Gather", pos, ids, 0);
    x = hfo_add(g, "/embeddings/Add_1", x, p);
    return hfo_bert_layer_norm(m, "embeddings.LayerNorm", "/embeddings/LayerNorm", x,
                               c->hidden_size, c->layer_norm_eps);
}

/*  attention_mask ─► Unsqueeze(1) ─► Unsqueeze(2) ─► Cast(float) ─► Sub(1 - m) ─► Mul(float min)
 *  [B,S]                                                              ─► [B,1,1,S]
 *  Parity: transformers' get_extended_attention_mask, (1 - mask) * finfo(float32).min. */
hfo_value *hfo_bert_mask_bias(hfo_bert *m)
{
    hfo_graph *g = m->g;
    hfo_value *x = hfo_unsqueeze(g, "/extended_attention_mask/Unsqueeze", m->attention_mask,
                                 1, (int64_t[]){1});
    x = hfo_unsqueeze(g, "/extended_attention_mask/Unsqueeze_1", x, 1, (int64_t[]){2});
    x = hfo_cast(g, "/extended_attention_mask/Cast", x, HFO_FLOAT);
    x = hfo_sub(g, "/extended_attention_mask/Sub", hfo_const_f32(g, 1.0f), x);
    return hfo_mul(g, "/extended_attention_mask/Mul", x, hfo_const_f32(g, -FLT_MAX));
}

/* One of query/key/value: Linear, then split heads.
 *   x ─► MatMul ─► Add ─► Reshape[0,0,N,D] ─► Transpose(perm) */
static hfo_value *heads(hfo_bert *m, int layer, const char *which, hfo_value *x,
                        const int64_t perm[4])
{
    const hfo_bert_config *c = &m->cfg;
    char module[PATH_MAX_LEN], path[PATH_MAX_LEN], node[PATH_MAX_LEN + 64];
    int64_t d = c->hidden_size / c->num_attention_heads;
    FMT(module, "encoder.layer.%d.attention.self.%s", layer, which);
    FMT(path, "/encoder/layer.%d/attention/self/%s", layer, which);
    hfo_value *y = hfo_bert_linear(m, module, path, x, c->hidden_size, c->hidden_size);
    y = hfo_reshape(m->g, FMT(node, "%s/Reshape", path), y, 4,
                    (int64_t[]){0, 0, c->num_attention_heads, d});
    return hfo_transpose(m->g, FMT(node, "%s/Transpose", path), y, 4, perm);
}

/*  x ─► query ─► Reshape ─► Transpose(0,2,1,3) ─┐
 *  x ─► key ───► Reshape ─► Transpose(0,2,3,1) ─► MatMul ─► Div(√D) ─► Add(mask) ─► Softmax ─┐
 *  x ─► value ─► Reshape ─► Transpose(0,2,1,3) ──────────────────────────────────────────► MatMul
 *      ─► Transpose(0,2,1,3) ─► Reshape[0,0,H] ─► context [B,S,H]
 */
hfo_value *hfo_bert_self_attention(hfo_bert *m, int layer, hfo_value *x, hfo_value *mask_bias)
{
    hfo_graph *g = m->g;
    const hfo_bert_config *c = &m->cfg;
    static const int64_t bhsd[4] = {0, 2, 1, 3}, bhds[4] = {0, 2, 3, 1};
    char node[PATH_MAX_LEN];
    int64_t d = c->hidden_size / c->num_attention_heads;

    hfo_value *q = heads(m, layer, "query", x, bhsd);
    hfo_value *k = heads(m, layer, "key", x, bhds);
    hfo_value *v = heads(m, layer, "value", x, bhsd);
    hfo_value *s = hfo_matmul(g, FMT(node, "/encoder/layer.%d/attention/self/MatMul", layer), q, k);
    s = hfo_div(g, FMT(node, "/encoder/layer.%d/attention/self/Div", layer), s,
                hfo_const_f32(g, (float)sqrt((double)d)));
    s = hfo_add(g, FMT(node, "/encoder/layer.%d/attention/self/Add", layer), s, mask_bias);
    s = hfo_softmax(g, FMT(node, "/encoder/layer.%d/attention/self/Softmax", layer), s, 3);
    hfo_value *o = hfo_matmul(g, FMT(node, "/encoder/layer.%d/attention/self/MatMul_1", layer), s, v);
    o = hfo_transpose(g, FMT(node, "/encoder/layer.%d/attention/self/Transpose", layer), o, 4, bhsd);
    return hfo_reshape(g, FMT(node, "/encoder/layer.%d/attention/self/Reshape", layer), o, 3,
                       (int64_t[]){0, 0, c->hidden_size});
}

/*  x ─► self-attention ─► output.dense ─► Add(x) ─► output.LayerNorm ─► [B,S,H] */
hfo_value *hfo_bert_attention(hfo_bert *m, int layer, hfo_value *x, hfo_value *mask_bias)
{
    const hfo_bert_config *c = &m->cfg;
    char module[PATH_MAX_LEN], path[PATH_MAX_LEN], node[PATH_MAX_LEN + 64];
    hfo_value *ctx = hfo_bert_self_attention(m, layer, x, mask_bias);
    hfo_value *y = hfo_bert_linear(m, FMT(module, "encoder.layer.%d.attention.output.dense", layer),
                                   FMT(path, "/encoder/layer.%d/attention/output/dense", layer),
                                   ctx, c->hidden_size, c->hidden_size);
    y = hfo_add(m->g, FMT(node, "/encoder/layer.%d/attention/output/Add", layer), y, x);
    return hfo_bert_layer_norm(m, FMT(module, "encoder.layer.%d.attention.output.LayerNorm", layer),
                               FMT(path, "/encoder/layer.%d/attention/output/LayerNorm", layer),
                               y, c->hidden_size, c->layer_norm_eps);
}

/*  x ─► intermediate.dense ─► act ─► output.dense ─► Add(x) ─► output.LayerNorm ─► [B,S,H] */
hfo_value *hfo_bert_feed_forward(hfo_bert *m, int layer, hfo_value *x)
{
    const hfo_bert_config *c = &m->cfg;
    char module[PATH_MAX_LEN], path[PATH_MAX_LEN], node[PATH_MAX_LEN + 64];
    hfo_value *y = hfo_bert_linear(m, FMT(module, "encoder.layer.%d.intermediate.dense", layer),
                                   FMT(path, "/encoder/layer.%d/intermediate/dense", layer),
                                   x, c->intermediate_size, c->hidden_size);
    if (y == NULL)
        return NULL;
    y = hfo_act_apply(m->g, c->hidden_act,
                      FMT(path, "/encoder/layer.%d/intermediate/intermediate_act_fn", layer), y);
    y = hfo_bert_linear(m, FMT(module, "encoder.layer.%d.output.dense", layer),
                        FMT(path, "/encoder/layer.%d/output/dense", layer),
                        y, c->hidden_size, c->intermediate_size);
    y = hfo_add(m->g, FMT(node, "/encoder/layer.%d/output/Add", layer), y, x);
    return hfo_bert_layer_norm(m, FMT(module, "encoder.layer.%d.output.LayerNorm", layer),
                               FMT(path, "/encoder/layer.%d/output/LayerNorm", layer),
                               y, c->hidden_size, c->layer_norm_eps);
}

hfo_value *hfo_bert_layer(hfo_bert *m, int layer, hfo_value *x, hfo_value *mask_bias)
{
    return hfo_bert_feed_forward(m, layer, hfo_bert_attention(m, layer, x, mask_bias));
}

hfo_value *hfo_bert_encoder(hfo_bert *m, hfo_value *x, hfo_value *mask_bias)
{
    for (int i = 0; i < (int)m->cfg.num_hidden_layers && x != NULL; i++)
        x = hfo_bert_layer(m, i, x, mask_bias);
    return x;
}

/*  h ─► Gather(index 0, axis 1) ─► dense ─► Tanh ─► [B,H] */
hfo_value *hfo_bert_pooler(hfo_bert *m, hfo_value *h)
{
    hfo_graph *g = m->g;
    int64_t hs = m->cfg.hidden_size;
    hfo_value *x = hfo_gather(g, "/pooler/Gather", h, hfo_const_i64(g, 0), 1);
    x = hfo_bert_linear(m, "pooler.dense", "/pooler/dense", x, hs, hs);
    return hfo_unary(g, "Tanh", "/pooler/activation/Tanh", x);
}
