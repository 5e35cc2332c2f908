/* t5.c: T5's blocks as ONNX subgraphs (see t5.h). */
#include "models/t5.h"
#include "models/config_check.h"

#include <float.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_LEN 512

/* printf into a name buffer.  Names here are a stack name, block and layer
 * numbers and fixed suffixes: under 200 bytes, far from NAME_LEN. */
static const char *name_fmt(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static const char *name_fmt(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    return buf;
}
#define FMT(buf, ...) name_fmt((buf), sizeof(buf), __VA_ARGS__)

void hfo_t5_config_default(hfo_t5_config *c)
{
    *c = (hfo_t5_config){
        .vocab_size = 32128,
        .d_model = 512,
        .d_kv = 64,
        .d_ff = 2048,
        .num_heads = 8,
        .num_layers = 6,
        .num_decoder_layers = 6,
        .num_buckets = 32,
        .max_distance = 128,
        .layer_norm_epsilon = 1e-6,
        .act = HFO_ACT_RELU,
        .is_gated_act = 0,
        .tie_word_embeddings = 1,
        .scale_decoder_outputs = 1,
    };
}

int hfo_t5_config_check(hfo_graph *g, const hfo_t5_config *c)
{
    const hfo_config_size sizes[] = {
        {"vocab_size", c->vocab_size}, {"d_model", c->d_model}, {"d_kv", c->d_kv},
        {"d_ff", c->d_ff}, {"num_heads", c->num_heads}, {"num_layers", c->num_layers},
        {"num_decoder_layers", c->num_decoder_layers},
        {"relative_attention_num_buckets", c->num_buckets},
        {"relative_attention_max_distance", c->max_distance},
    };
    if (hfo_config_check_sizes(g, sizes, sizeof sizes / sizeof sizes[0]) < 0)
        return -1;
    int64_t prod;
    const struct { const char *what; int64_t a, b; } products[] = {
        {"num_heads * d_kv", c->num_heads, c->d_kv}, {"d_model * d_ff", c->d_model, c->d_ff},
        {"vocab_size * d_model", c->vocab_size, c->d_model},
    };
    for (size_t i = 0; i < sizeof products / sizeof products[0]; i++) {
        if (__builtin_mul_overflow(products[i].a, products[i].b, &prod) || prod > ((int64_t)1 << 40)) {
            hfo_graph_fail(g, HFO_GRAPH_ERR_UNSUPPORTED, "config %s = %lld * %lld is too large", products[i].what,
                           (long long)products[i].a, (long long)products[i].b);
            return -1;
        }
    }
    if (c->num_layers > 100000 || c->num_decoder_layers > 100000) {
        hfo_graph_fail(g, HFO_GRAPH_ERR_UNSUPPORTED, "config num_layers is too large");
        return -1;
    }
    if (c->num_buckets < 4) {
        hfo_graph_fail(g, HFO_GRAPH_ERR_UNSUPPORTED, "config relative_attention_num_buckets = %lld: expected at least 4",
                       (long long)c->num_buckets);
        return -1;
    }
    if (!(c->layer_norm_epsilon >= 0.0) || !isfinite(c->layer_norm_epsilon)) {
        hfo_graph_fail(g, HFO_GRAPH_ERR_UNSUPPORTED, "config layer_norm_epsilon = %g: expected >= 0",
                       c->layer_norm_epsilon);
        return -1;
    }
    return 0;
}

int hfo_t5_init(hfo_t5 *m, hfo_graph *g, hfo_weights *w, const hfo_t5_config *cfg)
{
    memset(m, 0, sizeof *m);
    m->g = g;
    m->w = w;
    m->cfg = *cfg;
    return hfo_t5_config_check(g, cfg);
}

/* ---- small blocks ------------------------------------------------------- */

/* The token embedding table: "shared.weight", or a stack's own copy. */
static hfo_value *embedding(hfo_t5 *m, const char *stack)
{
    char name[NAME_LEN];
    int64_t shape[2] = {m->cfg.vocab_size, m->cfg.d_model};
    int has = hfo_weights_has(m->w, "shared.weight");
    if (has < 0)
        return NULL;
    if (!has && hfo_weights_has(m->w, FMT(name, "%s.embed_tokens.weight", stack)) == 1)
        return hfo_weights_get(m->w, name, 2, shape);
    return hfo_weights_get(m->w, "shared.weight", 2, shape);
}

/*  x ─► Pow 2 ─► ReduceMean(-1) ─► Add eps ─► Sqrt ─► Div(x, ·) ─► Mul(weight)
 *  T5LayerNorm (RMS norm, no bias, no mean); the shape onnxruntime fuses
 *  into SimplifiedLayerNormalization. */
static hfo_value *rms_norm(hfo_t5 *m, const char *module, const char *path, hfo_value *x)
{
    hfo_graph *g = m->g;
    char name[NAME_LEN], node[NAME_LEN];
    int64_t size = m->cfg.d_model;
    const int64_t last[1] = {-1};
    hfo_value *w = hfo_weights_get(m->w, FMT(name, "%s.weight", module), 1, &size);
    hfo_value *var = hfo_pow(g, FMT(node, "%s/Pow", path), x, hfo_const_f32(g, 2.0f));
    var = hfo_reduce(g, "ReduceMean", FMT(node, "%s/ReduceMean", path), var, 1, last, 1);
    var = hfo_add(g, FMT(node, "%s/Add", path), var, hfo_const_f32(g, (float)m->cfg.layer_norm_epsilon));
    hfo_value *y = hfo_div(g, FMT(node, "%s/Div", path), x, hfo_unary(g, "Sqrt", FMT(node, "%s/Sqrt", path), var));
    return hfo_mul(g, FMT(node, "%s/Mul", path), w, y);
}

/* x @ W^T for a bias-free Linear named `module`. */
static hfo_value *linear(hfo_t5 *m, const char *module, const char *path, hfo_value *x,
                         int64_t n_out, int64_t n_in)
{
    char name[NAME_LEN];
    hfo_value *wt = hfo_weights_linear(m->w, FMT(name, "%s.weight", module), n_out, n_in);
    if (x == NULL || wt == NULL)
        return NULL;
    return hfo_gemm_linear(m->g, path, x, wt, NULL);
}

/* A scalar int64: dimension `axis` of x's shape. */
static hfo_value *dim_of(hfo_graph *g, const char *path, hfo_value *x, int64_t axis)
{
    char node[NAME_LEN];
    hfo_value *shape = hfo_shape(g, FMT(node, "%s/Shape", path), x);
    return hfo_gather(g, FMT(node, "%s/Gather", path), shape, hfo_const_i64(g, axis), 0);
}

/*  relative_position (int64 [q, k]) ─► bucket (int64 [q, k])
 *
 *  bidirectional:  n = num_buckets / 2;  base = (rel > 0) * n;  rel = |rel|
 *  causal:         n = num_buckets;      base = 0;              rel = -min(rel, 0)
 *  small = rel < n/2
 *  large = n/2 + int64(log(float(max(rel, 1)) / (n/2)) / log(max_distance / (n/2)) * (n - n/2))
 *  bucket = base + where(small, rel, min(large, n - 1))
 *
 *  Parity: transformers' T5Attention._relative_position_bucket, the same
 *  float32 ops in the same order; max(rel, 1) only keeps Log off 0 where the
 *  small branch is taken anyway. */
static hfo_value *position_bucket(hfo_t5 *m, const char *path, hfo_value *rel, int bidirectional)
{
    hfo_graph *g = m->g;
    char node[NAME_LEN];
    int64_t n = m->cfg.num_buckets;
    hfo_value *base = NULL;
    if (bidirectional) {
        n /= 2;
        hfo_value *pos = hfo_op1(g, "Greater", FMT(node, "%s/Greater", path), 2,
                                 (hfo_value *[]){rel, hfo_const_i64(g, 0)}, 0, NULL);
        base = hfo_mul(g, FMT(node, "%s/Mul", path), hfo_cast(g, FMT(node, "%s/Cast", path), pos, HFO_INT64),
                       hfo_const_i64(g, n));
        rel = hfo_unary(g, "Abs", FMT(node, "%s/Abs", path), rel);
    } else {
        hfo_value *neg = hfo_op1(g, "Min", FMT(node, "%s/Min", path), 2,
                                 (hfo_value *[]){rel, hfo_const_i64(g, 0)}, 0, NULL);
        rel = hfo_unary(g, "Neg", FMT(node, "%s/Neg", path), neg);
    }
    int64_t max_exact = n / 2;
    hfo_value *small = hfo_op1(g, "Less", FMT(node, "%s/Less", path), 2,
                               (hfo_value *[]){rel, hfo_const_i64(g, max_exact)}, 0, NULL);
    hfo_value *safe = hfo_op1(g, "Max", FMT(node, "%s/Max", path), 2,
                              (hfo_value *[]){rel, hfo_const_i64(g, 1)}, 0, NULL);
    hfo_value *f = hfo_cast(g, FMT(node, "%s/Cast_1", path), safe, HFO_FLOAT);
    f = hfo_div(g, FMT(node, "%s/Div", path), f, hfo_const_f32(g, (float)max_exact));
    f = hfo_unary(g, "Log", FMT(node, "%s/Log", path), f);
    f = hfo_div(g, FMT(node, "%s/Div_1", path), f,
                hfo_const_f32(g, (float)log((double)m->cfg.max_distance / (double)max_exact)));
    f = hfo_mul(g, FMT(node, "%s/Mul_1", path), f, hfo_const_f32(g, (float)(n - max_exact)));
    hfo_value *large = hfo_add(g, FMT(node, "%s/Add", path), hfo_const_i64(g, max_exact),
                               hfo_cast(g, FMT(node, "%s/Cast_2", path), f, HFO_INT64));
    large = hfo_op1(g, "Min", FMT(node, "%s/Min_1", path), 2,
                    (hfo_value *[]){large, hfo_const_i64(g, n - 1)}, 0, NULL);
    hfo_value *bucket = hfo_where(g, FMT(node, "%s/Where", path), small, rel, large);
    return base ? hfo_add(g, FMT(node, "%s/Add_1", path), base, bucket) : bucket;
}

/*  past_len, q_len, k_len (scalars) ─► relative positions [q, k]
 *  k_pos = Range(0, k_len) ─► Unsqueeze(0) ─┐
 *  q_pos = Range(past, past + q_len) ─► Unsqueeze(1) ─► Sub(k_pos, q_pos)            */
static hfo_value *relative_positions(hfo_t5 *m, const char *path, hfo_value *past_len,
                                     hfo_value *q_len, hfo_value *k_len)
{
    hfo_graph *g = m->g;
    char node[NAME_LEN];
    hfo_value *zero = hfo_const_i64(g, 0), *one = hfo_const_i64(g, 1);
    hfo_value *q_end = hfo_add(g, FMT(node, "%s/Add", path), past_len, q_len);
    hfo_value *q_pos = hfo_op1(g, "Range", FMT(node, "%s/Range", path), 3,
                               (hfo_value *[]){past_len, q_end, one}, 0, NULL);
    hfo_value *k_pos = hfo_op1(g, "Range", FMT(node, "%s/Range_1", path), 3,
                               (hfo_value *[]){zero, k_len, one}, 0, NULL);
    q_pos = hfo_unsqueeze(g, FMT(node, "%s/Unsqueeze", path), q_pos, 1, (int64_t[]){1});
    k_pos = hfo_unsqueeze(g, FMT(node, "%s/Unsqueeze_1", path), k_pos, 1, (int64_t[]){0});
    return hfo_sub(g, FMT(node, "%s/Sub", path), k_pos, q_pos);
}

/*  rel [q, k] ─► bucket ─► Gather(relative_attention_bias [buckets, H]) ─► [q, k, H]
 *      ─► Transpose(2, 0, 1) ─► Unsqueeze(0) ─► [1, H, q, k]                        */
static hfo_value *position_bias(hfo_t5 *m, const char *stack, hfo_value *rel, int bidirectional)
{
    hfo_graph *g = m->g;
    char name[NAME_LEN], path[NAME_LEN], node[NAME_LEN];
    int64_t shape[2] = {m->cfg.num_buckets, m->cfg.num_heads};
    hfo_value *table = hfo_weights_get(
        m->w, FMT(name, "%s.block.0.layer.0.SelfAttention.relative_attention_bias.weight", stack), 2, shape);
    FMT(path, "/%s/block.0/layer.0/SelfAttention", stack);
    hfo_value *bucket = position_bucket(m, FMT(node, "%s/relative_position_bucket", path), rel, bidirectional);
    hfo_value *v = hfo_gather(g, FMT(node, "%s/relative_attention_bias/Gather", path), table, bucket, 0);
    v = hfo_transpose(g, FMT(node, "%s/Transpose", path), v, 3, (int64_t[]){2, 0, 1});
    return hfo_unsqueeze(g, FMT(node, "%s/Unsqueeze", path), v, 1, (int64_t[]){0});
}

/*  mask [B, S] int64 ─► Unsqueeze(1, 2) ─► Cast(float) ─► Sub(1 - m) ─► Mul(float min) ─► [B, 1, 1, S] */
static hfo_value *padding_bias(hfo_t5 *m, const char *path, hfo_value *mask)
{
    hfo_graph *g = m->g;
    char node[NAME_LEN];
    hfo_value *x = hfo_unsqueeze(g, FMT(node, "%s/Unsqueeze", path), mask, 2, (int64_t[]){1, 2});
    x = hfo_cast(g, FMT(node, "%s/Cast", path), x, HFO_FLOAT);
    x = hfo_sub(g, FMT(node, "%s/Sub", path), hfo_const_f32(g, 1.0f), x);
    return hfo_mul(g, FMT(node, "%s/Mul", path), x, hfo_const_f32(g, -FLT_MAX));
}

/* [B, S, H*D] ─► Reshape[0, 0, H, D] ─► Transpose(0, 2, 1, 3) ─► [B, H, S, D] */
static hfo_value *split_heads(hfo_t5 *m, const char *path, hfo_value *x)
{
    char node[NAME_LEN];
    x = hfo_reshape(m->g, FMT(node, "%s/Reshape", path), x, 4, (int64_t[]){0, 0, m->cfg.num_heads, m->cfg.d_kv});
    return hfo_transpose(m->g, FMT(node, "%s/Transpose", path), x, 4, (int64_t[]){0, 2, 1, 3});
}

/* What an attention block reads and makes. */
typedef struct attn_io {
    hfo_value *kv_states;     /* cross attention: encoder states; NULL for self attention */
    hfo_value *past_key;      /* self: concatenated before; cross: used instead of k, v */
    hfo_value *past_value;
    hfo_value *key, *value;   /* out: the cache this block presents, [B, H, S, D] */
} attn_io;

/*  x ─► q ─► split ─────────────────────────────┐
 *  kv ─► k ─► split ─► [Concat past] ─► Transpose(0,1,3,2) ─► MatMul ─► Add(bias) ─► Softmax ─┐
 *  kv ─► v ─► split ─► [Concat past] ──────────────────────────────────────────────────► MatMul
 *      ─► Transpose(0,2,1,3) ─► Reshape[0,0,H*D] ─► o ─► [B, S, d_model]
 *  No 1/sqrt(d) scaling: T5 folds it into its weights. */
static hfo_value *attention(hfo_t5 *m, const char *module, const char *path, hfo_value *x,
                            hfo_value *bias, attn_io *io)
{
    hfo_graph *g = m->g;
    const hfo_t5_config *c = &m->cfg;
    int64_t inner = c->num_heads * c->d_kv;
    char mod[NAME_LEN], sub[NAME_LEN], node[NAME_LEN];
    hfo_value *q = split_heads(m, FMT(sub, "%s/q", path),
                               linear(m, FMT(mod, "%s.q", module), FMT(sub, "%s/q", path), x, inner, c->d_model));
    hfo_value *k, *v;
    if (io->kv_states != NULL && io->past_key != NULL) {      /* cross attention, cached */
        k = io->past_key;
        v = io->past_value;
    } else {
        hfo_value *src = io->kv_states ? io->kv_states : x;
        k = split_heads(m, FMT(sub, "%s/k", path),
                        linear(m, FMT(mod, "%s.k", module), FMT(sub, "%s/k", path), src, inner, c->d_model));
        v = split_heads(m, FMT(sub, "%s/v", path),
                        linear(m, FMT(mod, "%s.v", module), FMT(sub, "%s/v", path), src, inner, c->d_model));
        if (io->kv_states == NULL && io->past_key != NULL) {
            k = hfo_concat(g, FMT(node, "%s/k/Concat", path), 2, (hfo_value *[]){io->past_key, k}, 2);
            v = hfo_concat(g, FMT(node, "%s/v/Concat", path), 2, (hfo_value *[]){io->past_value, v}, 2);
        }
    }
    io->key = k;
    io->value = v;
    hfo_value *kt = hfo_transpose(g, FMT(node, "%s/k/Transpose_1", path), k, 4, (int64_t[]){0, 1, 3, 2});
    hfo_value *s = hfo_matmul(g, FMT(node, "%s/MatMul", path), q, kt);
    s = hfo_add(g, FMT(node, "%s/Add", path), s, bias);
    s = hfo_softmax(g, FMT(node, "%s/Softmax", path), s, -1);
    hfo_value *o = hfo_matmul(g, FMT(node, "%s/MatMul_1", path), s, v);
    o = hfo_transpose(g, FMT(node, "%s/Transpose", path), o, 4, (int64_t[]){0, 2, 1, 3});
    o = hfo_reshape(g, FMT(node, "%s/Reshape", path), o, 3, (int64_t[]){0, 0, inner});
    return linear(m, FMT(mod, "%s.o", module), FMT(sub, "%s/o", path), o, c->d_model, inner);
}

/*  x ─► wi ─► act ─► wo                      (T5DenseActDense)
 *  x ─► wi_0 ─► act ─► Mul ◄─ wi_1 ◄─ x ─► wo  (T5DenseGatedActDense) */
static hfo_value *feed_forward(hfo_t5 *m, const char *module, const char *path, hfo_value *x)
{
    const hfo_t5_config *c = &m->cfg;
    char mod[NAME_LEN], sub[NAME_LEN], node[NAME_LEN];
    hfo_value *h;
    if (c->is_gated_act) {
        h = linear(m, FMT(mod, "%s.wi_0", module), FMT(sub, "%s/wi_0", path), x, c->d_ff, c->d_model);
        h = hfo_act_apply(m->g, c->act, FMT(sub, "%s/act", path), h);
        hfo_value *lin = linear(m, FMT(mod, "%s.wi_1", module), FMT(sub, "%s/wi_1", path), x, c->d_ff, c->d_model);
        h = hfo_mul(m->g, FMT(node, "%s/Mul", path), h, lin);
    } else {
        h = linear(m, FMT(mod, "%s.wi", module), FMT(sub, "%s/wi", path), x, c->d_ff, c->d_model);
        h = hfo_act_apply(m->g, c->act, FMT(sub, "%s/act", path), h);
    }
    return linear(m, FMT(mod, "%s.wo", module), FMT(sub, "%s/wo", path), h, c->d_model, c->d_ff);
}

/* x + block(norm(x)): the residual pattern of every T5 sub-layer. */
typedef enum { SUB_SELF, SUB_CROSS, SUB_FF } sublayer_kind;

static hfo_value *sublayer(hfo_t5 *m, const char *stack, int block, int idx, sublayer_kind kind,
                           hfo_value *x, hfo_value *bias, attn_io *io)
{
    char mod[NAME_LEN], path[NAME_LEN], sub_mod[NAME_LEN], sub_path[NAME_LEN], node[NAME_LEN];
    FMT(mod, "%s.block.%d.layer.%d", stack, block, idx);
    FMT(path, "/%s/block.%d/layer.%d", stack, block, idx);
    hfo_value *h = rms_norm(m, FMT(sub_mod, "%s.layer_norm", mod), FMT(sub_path, "%s/layer_norm", path), x);
    switch (kind) {
    case SUB_SELF:
        h = attention(m, FMT(sub_mod, "%s.SelfAttention", mod), FMT(sub_path, "%s/SelfAttention", path), h, bias, io);
        break;
    case SUB_CROSS:
        h = attention(m, FMT(sub_mod, "%s.EncDecAttention", mod), FMT(sub_path, "%s/EncDecAttention", path), h, bias, io);
        break;
    case SUB_FF:
        h = feed_forward(m, FMT(sub_mod, "%s.DenseReluDense", mod), FMT(sub_path, "%s/DenseReluDense", path), h);
        break;
    }
    return hfo_add(m->g, FMT(node, "%s/Add", path), x, h);
}

/* ---- the stacks --------------------------------------------------------- */

/*  input_ids ─► Gather(shared) ─► block 0..N-1 (self attention, feed forward) ─► final_layer_norm
 *  bias = position_bias(bidirectional) [1,H,S,S] + padding_bias(attention_mask) [B,1,1,S],
 *  computed once and shared by every block, as T5Stack does. */
hfo_value *hfo_t5_encoder(hfo_t5 *m)
{
    hfo_graph *g = m->g;
    hfo_dim bs[2] = {HFO_DIM_SYM("batch_size"), HFO_DIM_SYM("sequence_length")};
    hfo_value *ids = hfo_graph_input(g, "input_ids", HFO_INT64, 2, bs);
    hfo_value *mask = hfo_graph_input(g, "attention_mask", HFO_INT64, 2, bs);
    hfo_value *table = embedding(m, "encoder");
    if (ids == NULL || mask == NULL || table == NULL)
        return NULL;
    hfo_value *x = hfo_gather(g, "/encoder/embed_tokens/Gather", table, ids, 0);

    hfo_value *len = dim_of(g, "/encoder/sequence_length", ids, 1);
    hfo_value *rel = relative_positions(m, "/encoder/relative_position", hfo_const_i64(g, 0), len, len);
    hfo_value *bias = hfo_add(g, "/encoder/position_bias/Add", position_bias(m, "encoder", rel, 1),
                              padding_bias(m, "/encoder/extended_attention_mask", mask));
    for (int i = 0; i < (int)m->cfg.num_layers && x != NULL; i++) {
        attn_io io = {0};
        x = sublayer(m, "encoder", i, 0, SUB_SELF, x, bias, &io);
        x = sublayer(m, "encoder", i, 1, SUB_FF, x, NULL, NULL);
    }
    return rms_norm(m, "encoder.final_layer_norm", "/encoder/final_layer_norm", x);
}

int hfo_t5_decoder_inputs(hfo_t5 *m, int with_hidden, int with_past, hfo_t5_decoder_in *in)
{
    hfo_graph *g = m->g;
    const hfo_t5_config *c = &m->cfg;
    char name[NAME_LEN];
    hfo_dim bs[2] = {HFO_DIM_SYM("batch_size"), HFO_DIM_SYM("decoder_sequence_length")};
    hfo_dim enc_mask_dims[2] = {HFO_DIM_SYM("batch_size"), HFO_DIM_SYM("encoder_sequence_length")};
    hfo_dim enc_dims[3] = {HFO_DIM_SYM("batch_size"), HFO_DIM_SYM("encoder_sequence_length"), HFO_DIM(c->d_model)};
    hfo_dim self_past[4] = {HFO_DIM_SYM("batch_size"), HFO_DIM(c->num_heads),
                            HFO_DIM_SYM("past_decoder_sequence_length"), HFO_DIM(c->d_kv)};
    hfo_dim cross_past[4] = {HFO_DIM_SYM("batch_size"), HFO_DIM(c->num_heads),
                             HFO_DIM_SYM("encoder_sequence_length_out"), HFO_DIM(c->d_kv)};
    in->input_ids = hfo_graph_input(g, "input_ids", HFO_INT64, 2, bs);
    in->encoder_attention_mask = hfo_graph_input(g, "encoder_attention_mask", HFO_INT64, 2, enc_mask_dims);
    in->encoder_hidden_states = with_hidden
        ? hfo_graph_input(g, "encoder_hidden_states", HFO_FLOAT, 3, enc_dims) : NULL;
    for (int i = 0; with_past && i < (int)c->num_decoder_layers; i++) {
        in->self_key[i] = hfo_graph_input(g, FMT(name, "past_key_values.%d.decoder.key", i), HFO_FLOAT, 4, self_past);
        in->self_value[i] = hfo_graph_input(g, FMT(name, "past_key_values.%d.decoder.value", i), HFO_FLOAT, 4, self_past);
        in->cross_key[i] = hfo_graph_input(g, FMT(name, "past_key_values.%d.encoder.key", i), HFO_FLOAT, 4, cross_past);
        in->cross_value[i] = hfo_graph_input(g, FMT(name, "past_key_values.%d.encoder.value", i), HFO_FLOAT, 4, cross_past);
    }
    return hfo_graph_failed(g) ? -1 : 0;
}

/*  input_ids ─► Gather(shared) ─► block 0..N-1 (causal self attention [+ past],
 *  cross attention over encoder_hidden_states or the cached cross keys/values,
 *  feed forward) ─► final_layer_norm ─► [× d_model^-0.5] ─► lm_head ─► logits
 *  self bias = position_bias(causal, offset by the past length) + causal mask,
 *  cross bias = padding_bias(encoder_attention_mask). */
int hfo_t5_decoder_body(hfo_t5 *m, const hfo_t5_decoder_in *in, int use_past, hfo_t5_decoder_out *out)
{
    hfo_graph *g = m->g;
    const hfo_t5_config *c = &m->cfg;
    int n = (int)c->num_decoder_layers;
    hfo_value *table = embedding(m, "decoder");
    if (in->input_ids == NULL || in->encoder_attention_mask == NULL || table == NULL || hfo_graph_failed(g))
        return -1;
    if (!use_past && in->encoder_hidden_states == NULL) {
        hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "T5 decoder: no encoder_hidden_states and no cache");
        return -1;
    }
    hfo_value *x = hfo_gather(g, "/decoder/embed_tokens/Gather", table, in->input_ids, 0);

    /* self-attention bias over past + current positions, causal */
    hfo_value *q_len = dim_of(g, "/decoder/sequence_length", in->input_ids, 1);
    hfo_value *past_len = use_past ? dim_of(g, "/decoder/past_sequence_length", in->self_key[0], 2)
                                   : hfo_const_i64(g, 0);
    hfo_value *k_len = use_past ? hfo_add(g, "/decoder/total_sequence_length/Add", past_len, q_len) : q_len;
    hfo_value *rel = relative_positions(m, "/decoder/relative_position", past_len, q_len, k_len);
    hfo_value *future = hfo_op1(g, "Greater", "/decoder/causal_mask/Greater", 2,
                                (hfo_value *[]){rel, hfo_const_i64(g, 0)}, 0, NULL);
    hfo_value *causal = hfo_where(g, "/decoder/causal_mask/Where", future, hfo_const_f32(g, -FLT_MAX),
                                  hfo_const_f32(g, 0.0f));
    hfo_value *self_bias = hfo_add(g, "/decoder/position_bias/Add", position_bias(m, "decoder", rel, 0), causal);
    hfo_value *cross_bias = padding_bias(m, "/decoder/encoder_extended_attention_mask", in->encoder_attention_mask);

    for (int i = 0; i < n && x != NULL; i++) {
        attn_io self = {.past_key = use_past ? in->self_key[i] : NULL,
                        .past_value = use_past ? in->self_value[i] : NULL};
        attn_io cross = {.kv_states = use_past ? in->cross_key[i] : in->encoder_hidden_states,
                         .past_key = use_past ? in->cross_key[i] : NULL,
                         .past_value = use_past ? in->cross_value[i] : NULL};
        x = sublayer(m, "decoder", i, 0, SUB_SELF, x, self_bias, &self);
        x = sublayer(m, "decoder", i, 1, SUB_CROSS, x, cross_bias, &cross);
        x = sublayer(m, "decoder", i, 2, SUB_FF, x, NULL, NULL);
        out->self_key[i] = self.key;
        out->self_value[i] = self.value;
        out->cross_key[i] = cross.key;      /* with a cache: the cached ones, unchanged */
        out->cross_value[i] = cross.value;
    }
    x = rms_norm(m, "decoder.final_layer_norm", "/decoder/final_layer_norm", x);
    if (c->scale_decoder_outputs)
        x = hfo_mul(g, "/lm_head/scale/Mul", x, hfo_const_f32(g, (float)pow((double)c->d_model, -0.5)));
    hfo_value *head;
    int own_head = hfo_weights_has(m->w, "lm_head.weight");
    if (own_head < 0)
        return -1;
    if (own_head || !c->tie_word_embeddings)
        head = hfo_weights_linear(m->w, "lm_head.weight", c->vocab_size, c->d_model);
    else   /* tied: one table, transposed in the graph (onnxruntime folds it at load) */
        head = hfo_transpose(g, "/lm_head/Transpose", table, 2, (int64_t[]){1, 0});
    out->logits = hfo_matmul(g, "/lm_head/MatMul", x, head);
    return hfo_graph_failed(g) || out->logits == NULL ? -1 : 0;
}

int hfo_t5_decoder(hfo_t5 *m, int with_past, hfo_t5_decoder_in *in, hfo_t5_decoder_out *out)
{
    if (hfo_t5_decoder_inputs(m, !with_past, with_past, in) < 0)
        return -1;
    return hfo_t5_decoder_body(m, in, with_past, out);
}

/* Declare a branch's outputs: logits, then per layer the decoder and encoder
 * key/value, named "<branch>.logits", "<branch>.present.<i>...". */
static int branch_outputs(hfo_t5 *m, hfo_graph *b, const char *branch, const hfo_t5_decoder_out *o)
{
    char name[NAME_LEN];
    if (hfo_graph_output(b, o->logits, FMT(name, "%s.logits", branch), -1, NULL) == NULL)
        return -1;
    for (int i = 0; i < (int)m->cfg.num_decoder_layers; i++) {
        hfo_value *vals[4] = {o->self_key[i], o->self_value[i], o->cross_key[i], o->cross_value[i]};
        const char *what[4] = {"decoder.key", "decoder.value", "encoder.key", "encoder.value"};
        for (int k = 0; k < 4; k++)
            if (hfo_graph_output(b, vals[k], FMT(name, "%s.present.%d.%s", branch, i, what[k]), -1, NULL) == NULL)
                return -1;
    }
    return 0;
}

/*  use_cache_branch ─► If ─┬─ then (use_cache_branch): decoder over the caches;
 *                          │    the encoder caches pass through
 *                          └─ else (no_cache_branch): decoder over encoder_hidden_states
 *  ─► logits, present.{i}.decoder|encoder.key|value
 *  One file for the first step and the next ones (optimum's decoder_model_merged.onnx):
 *  the weights are stored once and both branches read them. */
int hfo_t5_decoder_merged(hfo_t5 *m, hfo_t5_decoder_in *in, hfo_t5_decoder_out *then_out,
                          hfo_t5_decoder_out *else_out, hfo_value **outputs)
{
    hfo_graph *g = m->g;
    int n = (int)m->cfg.num_decoder_layers;
    if (hfo_t5_decoder_inputs(m, 1, 1, in) < 0)
        return -1;
    hfo_dim one[1] = {HFO_DIM(1)};
    hfo_value *flag = hfo_graph_input(g, "use_cache_branch", HFO_BOOL, 1, one);
    hfo_graph *then_g = hfo_graph_subgraph(g, "use_cache_branch");
    hfo_graph *else_g = hfo_graph_subgraph(g, "no_cache_branch");
    if (flag == NULL || then_g == NULL || else_g == NULL)
        return -1;
    m->g = then_g;
    int rc = hfo_t5_decoder_body(m, in, 1, then_out);
    if (rc == 0) {
        for (int i = 0; i < n; i++) {   /* a branch hands on outer values through Identity */
            char name[NAME_LEN];
            then_out->cross_key[i] = hfo_unary(then_g, "Identity", FMT(name, "/present.%d.encoder.key", i),
                                               in->cross_key[i]);
            then_out->cross_value[i] = hfo_unary(then_g, "Identity", FMT(name, "/present.%d.encoder.value", i),
                                                 in->cross_value[i]);
        }
        rc = branch_outputs(m, then_g, "use_cache_branch", then_out);
    }
    m->g = else_g;
    if (rc == 0)
        rc = hfo_t5_decoder_body(m, in, 0, else_out);
    if (rc == 0)
        rc = branch_outputs(m, else_g, "no_cache_branch", else_out);
    m->g = g;
    if (rc < 0)
        return -1;
    hfo_value *cond = hfo_squeeze(g, "/use_cache_branch/Squeeze", flag, 1, (int64_t[]){0});
    hfo_attr branches[2] = {HFO_A_GRAPH("then_branch", then_g), HFO_A_GRAPH("else_branch", else_g)};
    hfo_value **outs = hfo_op(g, "If", NULL, "/If", 1, &cond, (size_t)(1 + 4 * n), 2, branches);
    if (outs == NULL)
        return -1;
    for (int i = 0; i < 1 + 4 * n; i++)
        outputs[i] = outs[i];
    return 0;
}
