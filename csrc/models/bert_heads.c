/* bert_heads.c: the task heads of BertFor... classes and sentence-embedding
 * pooling over BertModel's output (see bert.h).
 *
 * Parity references: transformers' BertForSequenceClassification,
 * BertForTokenClassification, BertForQuestionAnswering, BertForMaskedLM
 * (BertLMPredictionHead); sentence-transformers' Pooling module for
 * cls / mean / max. */
#include "models/bert.h"
#include "models/pooling.h"

#include <stdio.h>
#include <string.h>

static const struct { const char *name; hfo_bert_task task; } task_names[] = {
    {"feature-extraction", HFO_BERT_FEATURE_EXTRACTION},
    {"text-classification", HFO_BERT_TEXT_CLASSIFICATION},
    {"token-classification", HFO_BERT_TOKEN_CLASSIFICATION},
    {"question-answering", HFO_BERT_QUESTION_ANSWERING},
    {"fill-mask", HFO_BERT_FILL_MASK},
};

static const struct { const char *name; hfo_bert_pooling pooling; } pooling_names[] = {
    {"cls", HFO_BERT_POOL_CLS},
    {"mean", HFO_BERT_POOL_MEAN},
    {"max", HFO_BERT_POOL_MAX},
    {"pooler", HFO_BERT_POOL_POOLER},
};

int hfo_bert_task_from_name(hfo_graph *g, const char *name, hfo_bert_task *out)
{
    for (size_t i = 0; i < sizeof task_names / sizeof task_names[0]; i++) {
        if (strcmp(task_names[i].name, name) == 0) {
            *out = task_names[i].task;
            return 0;
        }
    }
    hfo_graph_fail(g, HFO_GRAPH_ERR_UNSUPPORTED,
                   "unsupported task '%s' for BERT (supported: feature-extraction, "
                   "text-classification, token-classification, question-answering, fill-mask)",
                   name);
    return -1;
}

int hfo_bert_pooling_from_name(hfo_graph *g, const char *name, hfo_bert_pooling *out)
{
    for (size_t i = 0; i < sizeof pooling_names / sizeof pooling_names[0]; i++) {
        if (strcmp(pooling_names[i].name, name) == 0) {
            *out = pooling_names[i].pooling;
            return 0;
        }
    }
    hfo_graph_fail(g, HFO_GRAPH_ERR_UNSUPPORTED,
                   "unsupported pooling head '%s' (supported: cls, mean, max, pooler)", name);
    return -1;
}

hfo_value *hfo_bert_pool(hfo_bert *m, hfo_bert_pooling pooling, hfo_value *h)
{
    switch (pooling) {
    case HFO_BERT_POOL_CLS:
        return hfo_pool_tokens(m->g, HFO_POOL_CLS, h, m->attention_mask);
    case HFO_BERT_POOL_MEAN:
        return hfo_pool_tokens(m->g, HFO_POOL_MEAN, h, m->attention_mask);
    case HFO_BERT_POOL_MAX:
        return hfo_pool_tokens(m->g, HFO_POOL_MAX, h, m->attention_mask);
    case HFO_BERT_POOL_POOLER:
        return hfo_bert_pooler(m, h);
    case HFO_BERT_POOL_NONE:
        break;
    }
    return hfo_graph_fail(m->g, HFO_GRAPH_ERR_USAGE, "no pooling asked for");
}

static void put(hfo_bert_outputs *out, const char *name, hfo_value *v, int rank,
                hfo_dim d0, hfo_dim d1, hfo_dim d2)
{
    size_t i = out->n++;
    out->names[i] = name;
    out->values[i] = v;
    out->rank[i] = rank;
    out->dims[i][0] = d0;
    out->dims[i][1] = d1;
    out->dims[i][2] = d2;
}

/*  h ─► qa_outputs ─► [B,S,2] ─► Split(-1) ─► Squeeze(-1) ─► start_logits
 *                                        └──► Squeeze(-1) ─► end_logits */
static int qa_head(hfo_bert *m, hfo_value *h, hfo_value **start, hfo_value **end)
{
    hfo_graph *g = m->g;
    const int64_t last = -1;
    hfo_value *x = hfo_bert_linear(m, "qa_outputs", "/qa_outputs", h, 2, m->cfg.hidden_size);
    if (x == NULL)
        return -1;
    hfo_value *in[2] = {x, hfo_const_i64s(g, 2, (int64_t[]){1, 1})};
    hfo_attr axis = HFO_A_INT("axis", -1);
    hfo_value **parts = hfo_op(g, "Split", NULL, "/Split", 2, in, 2, 1, &axis);
    if (parts == NULL)
        return -1;
    *start = hfo_squeeze(g, "/Squeeze", parts[0], 1, &last);
    *end = hfo_squeeze(g, "/Squeeze_1", parts[1], 1, &last);
    return hfo_graph_failed(g) ? -1 : 0;
}

/*  h ─► transform.dense ─► act ─► transform.LayerNorm ─► MatMul(word_embeddingsᵀ) ─► Add(bias) ─► logits
 *  (the decoder is tied to the word embeddings unless tie_word_embeddings is false) */
static hfo_value *mlm_head(hfo_bert *m, hfo_value *h)
{
    hfo_graph *g = m->g;
    const hfo_bert_config *c = &m->cfg;
    hfo_value *x = hfo_bert_linear(m, "cls.predictions.transform.dense",
                                   "/cls/predictions/transform/dense", h,
                                   c->hidden_size, c->hidden_size);
    if (x == NULL)
        return NULL;
    x = hfo_act_apply(g, c->hidden_act, "/cls/predictions/transform/transform_act_fn", x);
    x = hfo_bert_layer_norm(m, "cls.predictions.transform.LayerNorm",
                            "/cls/predictions/transform/LayerNorm", x, c->hidden_size,
                            c->layer_norm_eps);
    hfo_value *wt;
    if (c->tie_word_embeddings) {
        int64_t shape[2] = {c->vocab_size, c->hidden_size};
        hfo_value *emb = hfo_weights_get(m->w, "embeddings.word_embeddings.weight", 2, shape);
        wt = hfo_transpose(g, "/cls/predictions/decoder/Transpose", emb, 2, (int64_t[]){1, 0});
    } else {
        wt = hfo_weights_linear(m->w, "cls.predictions.decoder.weight", c->vocab_size,
                                c->hidden_size);
    }
    /* BertLMPredictionHead.bias is shared with decoder.bias; either name may be saved. */
    const char *bias_name = "cls.predictions.bias";
    int has = hfo_weights_has(m->w, bias_name);
    if (has < 0)
        return NULL;
    if (!has && hfo_weights_has(m->w, "cls.predictions.decoder.bias") == 1)
        bias_name = "cls.predictions.decoder.bias";
    hfo_value *b = hfo_weights_get(m->w, bias_name, 1, &c->vocab_size);
    x = hfo_matmul(g, "/cls/predictions/decoder/MatMul", x, wt);
    return hfo_add(g, "/cls/predictions/decoder/Add", x, b);
}

int hfo_bert_head(hfo_bert *m, hfo_bert_task task, hfo_bert_pooling pooling, hfo_value *h,
                  hfo_bert_outputs *out)
{
    hfo_graph *g = m->g;
    const hfo_bert_config *c = &m->cfg;
    const hfo_dim B = HFO_DIM_SYM("batch_size"), S = HFO_DIM_SYM("sequence_length");
    const hfo_dim H = HFO_DIM(c->hidden_size), L = HFO_DIM(c->num_labels), none = HFO_DIM_ANY;
    memset(out, 0, sizeof *out);
    if (h == NULL)
        return -1;
    if (pooling != HFO_BERT_POOL_NONE && task != HFO_BERT_FEATURE_EXTRACTION) {
        hfo_graph_fail(g, HFO_GRAPH_ERR_UNSUPPORTED,
                       "a pooling head only applies to the feature-extraction task");
        return -1;
    }
    hfo_value *x, *start = NULL, *end = NULL;
    switch (task) {
    case HFO_BERT_FEATURE_EXTRACTION:
        put(out, "last_hidden_state", h, 3, B, S, H);
        if (pooling != HFO_BERT_POOL_NONE)
            put(out, "sentence_embedding", hfo_bert_pool(m, pooling, h), 2, B, H, none);
        break;
    case HFO_BERT_TEXT_CLASSIFICATION:
        x = hfo_bert_linear(m, "classifier", "/classifier", hfo_bert_pooler(m, h),
                            c->num_labels, c->hidden_size);
        put(out, "logits", x, 2, B, L, none);
        break;
    case HFO_BERT_TOKEN_CLASSIFICATION:
        x = hfo_bert_linear(m, "classifier", "/classifier", h, c->num_labels, c->hidden_size);
        put(out, "logits", x, 3, B, S, L);
        break;
    case HFO_BERT_QUESTION_ANSWERING:
        if (qa_head(m, h, &start, &end) < 0)
            return -1;
        put(out, "start_logits", start, 2, B, S, none);
        put(out, "end_logits", end, 2, B, S, none);
        break;
    case HFO_BERT_FILL_MASK:
        put(out, "logits", mlm_head(m, h), 3, B, S, HFO_DIM(c->vocab_size));
        break;
    }
    for (size_t i = 0; i < out->n; i++)
        if (out->values[i] == NULL)
            return -1;
    return hfo_graph_failed(g) ? -1 : 0;
}

int hfo_bert_declare_outputs(hfo_bert *m, hfo_bert_outputs *out)
{
    for (size_t i = 0; i < out->n; i++) {
        hfo_value *v = hfo_graph_output(m->g, out->values[i], out->names[i], out->rank[i],
                                        out->dims[i]);
        if (v == NULL)
            return -1;
        out->values[i] = v;
    }
    return 0;
}
