/* bert_recipe.c: drives the BERT recipe (csrc/models/) over the Python-free
 * graph engine with a static weight table, so it runs under AddressSanitizer,
 * UBSan and LeakSanitizer (tests/test_bert_recipe_core.py builds and runs it).
 *
 *     bert_recipe OUT_DIR     writes OUT_DIR/bert_<task>.onnx and prints the
 *                             weight table ("W <index> <name>") so the test can
 *                             rebuild the same model in transformers.
 *
 * Weight i holds 0.1*sin(0.37*k + i) (LayerNorm scales 1 + that), k the
 * element's flat index, computed in double and rounded to float. */
#include "models/bert.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
#define CHECK(cond, ...) do { if (!(cond)) { fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); failures++; } } while (0)

enum { H = 8, HEADS = 2, LAYERS = 2, I = 16, V = 11, P = 9, T = 3, LABELS = 3 };

typedef struct entry {
    char name[128];
    int rank;
    int64_t shape[2];
    float *data;
    int removed;
} entry;

typedef struct table {
    entry e[128];
    int n;
} table;

static void add(table *t, const char *name, int rank, int64_t d0, int64_t d1)
{
    entry *e = &t->e[t->n];
    snprintf(e->name, sizeof e->name, "%s", name);
    e->rank = rank;
    e->shape[0] = d0;
    e->shape[1] = d1;
    size_t n = (size_t)d0 * (size_t)(rank == 2 ? d1 : 1);
    e->data = malloc(n * sizeof(float));
    if (e->data == NULL)
        exit(2);
    int is_scale = strstr(name, "LayerNorm.weight") != NULL;
    for (size_t k = 0; k < n; k++)
        e->data[k] = (float)((is_scale ? 1.0 : 0.0) + 0.1 * sin(0.37 * (double)k + (double)t->n));
    t->n++;
}

static void linear(table *t, const char *prefix, const char *module, int64_t out, int64_t in)
{
    char name[128];
    snprintf(name, sizeof name, "%s%s.weight", prefix, module);
    add(t, name, 2, out, in);
    snprintf(name, sizeof name, "%s%s.bias", prefix, module);
    add(t, name, 1, out, 0);
}

static void norm(table *t, const char *prefix, const char *module)
{
    char name[128];
    snprintf(name, sizeof name, "%s%s.weight", prefix, module);
    add(t, name, 1, H, 0);
    snprintf(name, sizeof name, "%s%s.bias", prefix, module);
    add(t, name, 1, H, 0);
}

/* Base model under "bert." (as BertFor... checkpoints), heads without prefix. */
static void fill(table *t)
{
    const char *p = "bert.";
    char m[128];
    add(t, "bert.embeddings.word_embeddings.weight", 2, V, H);
    add(t, "bert.embeddings.position_embeddings.weight", 2, P, H);
    add(t, "bert.embeddings.token_type_embeddings.weight", 2, T, H);
    norm(t, p, "embeddings.LayerNorm");
    for (int l = 0; l < LAYERS; l++) {
        const char *qkv[3] = {"query", "key", "value"};
        for (int j = 0; j < 3; j++) {
            snprintf(m, sizeof m, "encoder.layer.%d.attention.self.%s", l, qkv[j]);
            linear(t, p, m, H, H);
        }
        snprintf(m, sizeof m, "encoder.layer.%d.attention.output.dense", l);
        linear(t, p, m, H, H);
        snprintf(m, sizeof m, "encoder.layer.%d.attention.output.LayerNorm", l);
        norm(t, p, m);
        snprintf(m, sizeof m, "encoder.layer.%d.intermediate.dense", l);
        linear(t, p, m, I, H);
        snprintf(m, sizeof m, "encoder.layer.%d.output.dense", l);
        linear(t, p, m, H, I);
        snprintf(m, sizeof m, "encoder.layer.%d.output.LayerNorm", l);
        norm(t, p, m);
    }
    linear(t, p, "pooler.dense", H, H);
    linear(t, "", "classifier", LABELS, H);
    linear(t, "", "qa_outputs", 2, H);
    linear(t, "", "cls.predictions.transform.dense", H, H);
    norm(t, "", "cls.predictions.transform.LayerNorm");
    add(t, "cls.predictions.bias", 1, V, 0);
}

static int lookups;

static int lookup(void *ctx, hfo_graph *g, const char *name, hfo_tensor_view *out)
{
    (void)g;
    table *t = ctx;
    lookups++;
    for (int i = 0; i < t->n; i++) {
        entry *e = &t->e[i];
        if (!e->removed && strcmp(e->name, name) == 0) {
            out->data = e->data;
            out->dtype = HFO_FLOAT;
            out->rank = e->rank;
            out->shape[0] = e->shape[0];
            out->shape[1] = e->shape[1];
            return 1;
        }
    }
    return 0;
}

static const char *const prefixes[] = {"", "bert.", NULL};

static void config(hfo_bert_config *c)
{
    hfo_bert_config_default(c);
    c->vocab_size = V;
    c->hidden_size = H;
    c->num_hidden_layers = LAYERS;
    c->num_attention_heads = HEADS;
    c->intermediate_size = I;
    c->max_position_embeddings = P;
    c->type_vocab_size = T;
    c->layer_norm_eps = 1e-5;
    c->hidden_act = HFO_ACT_GELU_TANH;
    c->num_labels = LABELS;
}

/* Build one task into a fresh graph; write it when dir is not NULL.
 * Returns the graph's error kind (HFO_GRAPH_ERR_NONE on success). */
static hfo_error_kind build(table *t, const hfo_bert_config *c, hfo_bert_task task,
                           hfo_bert_pooling pooling, const char *dir, const char *file,
                           char *msg, size_t msg_len)
{
    hfo_graph *g = hfo_graph_new("bert", 0);
    if (g == NULL)
        exit(2);
    hfo_weights *w = hfo_weights_new(g, lookup, t, prefixes);
    hfo_bert m;
    hfo_bert_outputs out;
    if (w != NULL && hfo_bert_init(&m, g, w, c) == 0) {
        hfo_value *h = hfo_bert_encoder(&m, hfo_bert_embeddings(&m), hfo_bert_mask_bias(&m));
        if (hfo_bert_head(&m, task, pooling, h, &out) == 0 && hfo_bert_declare_outputs(&m, &out) == 0 &&
            dir != NULL) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dir, file);
            hfo_graph_write(g, path, NULL);
        }
        if (!hfo_graph_failed(g) && task == HFO_BERT_FEATURE_EXTRACTION) {
            /* asking twice for a weight returns the same value */
            int64_t shape[2] = {V, H};
            hfo_value *a = hfo_weights_get(w, "embeddings.word_embeddings.weight", 2, shape);
            CHECK(a != NULL && a == hfo_weights_get(w, "embeddings.word_embeddings.weight", 2, shape),
                  "same weight twice");
            CHECK(a != NULL && strcmp(a->name, "bert.embeddings.word_embeddings.weight") == 0,
                  "initializer under its checkpoint name, got %s", a ? a->name : "NULL");
            /* ... but not once transposed and once as is: a recipe bug */
            CHECK(hfo_weights_linear(w, "embeddings.word_embeddings.weight", V, H) == NULL &&
                  hfo_graph_error_kind(g) == HFO_GRAPH_ERR_USAGE, "transposed and plain");
            hfo_graph_clear_error(g);
        }
    }
    hfo_error_kind kind = hfo_graph_error_kind(g);
    snprintf(msg, msg_len, "%s", hfo_graph_failed(g) ? hfo_graph_error(g) : "");
    hfo_weights_free(w);
    hfo_graph_free(g);
    return kind;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: bert_recipe OUT_DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    table *t = calloc(1, sizeof *t);
    if (t == NULL)
        return 2;
    fill(t);
    for (int i = 0; i < t->n; i++)
        printf("W %d %s\n", i, t->e[i].name);

    hfo_bert_config c;
    config(&c);
    char msg[1024];
    static const struct { hfo_bert_task task; hfo_bert_pooling pooling; const char *file; } runs[] = {
        {HFO_BERT_FEATURE_EXTRACTION, HFO_BERT_POOL_MEAN, "bert_mean.onnx"},
        {HFO_BERT_FEATURE_EXTRACTION, HFO_BERT_POOL_MAX, "bert_max.onnx"},
        {HFO_BERT_FEATURE_EXTRACTION, HFO_BERT_POOL_POOLER, "bert_pooler.onnx"},
        {HFO_BERT_TEXT_CLASSIFICATION, HFO_BERT_POOL_NONE, "bert_text-classification.onnx"},
        {HFO_BERT_TOKEN_CLASSIFICATION, HFO_BERT_POOL_NONE, "bert_token-classification.onnx"},
        {HFO_BERT_QUESTION_ANSWERING, HFO_BERT_POOL_NONE, "bert_question-answering.onnx"},
        {HFO_BERT_FILL_MASK, HFO_BERT_POOL_NONE, "bert_fill-mask.onnx"},
    };
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++)
        CHECK(build(t, &c, runs[i].task, runs[i].pooling, dir, runs[i].file, msg, sizeof msg)
                  == HFO_GRAPH_ERR_NONE, "%s: %s", runs[i].file, msg);

    /* a missing weight names it and the prefixes tried */
    t->e[7].removed = 1;
    CHECK(build(t, &c, HFO_BERT_FEATURE_EXTRACTION, HFO_BERT_POOL_NONE, NULL, NULL, msg, sizeof msg)
              == HFO_GRAPH_ERR_WEIGHT && strstr(msg, "missing weight") && strstr(msg, t->e[7].name),
          "missing: %s", msg);
    t->e[7].removed = 0;

    /* a wrong shape names the tensor, what it has and what was expected */
    t->e[5].shape[0] = 5;   /* a [8, 8] query weight seen as [5, 8] */
    CHECK(build(t, &c, HFO_BERT_FEATURE_EXTRACTION, HFO_BERT_POOL_NONE, NULL, NULL, msg, sizeof msg)
              == HFO_GRAPH_ERR_WEIGHT && strstr(msg, t->e[5].name) && strstr(msg, "[5, 8]") &&
              strstr(msg, "expected [8, 8]"), "shape: %s", msg);
    t->e[5].shape[0] = 8;

    /* config problems */
    hfo_bert_config bad = c;
    bad.num_attention_heads = 3;
    CHECK(build(t, &bad, HFO_BERT_FEATURE_EXTRACTION, HFO_BERT_POOL_NONE, NULL, NULL, msg, sizeof msg)
              == HFO_GRAPH_ERR_UNSUPPORTED && strstr(msg, "num_attention_heads"), "heads: %s", msg);
    bad = c;
    bad.num_hidden_layers = 0;
    CHECK(build(t, &bad, HFO_BERT_FEATURE_EXTRACTION, HFO_BERT_POOL_NONE, NULL, NULL, msg, sizeof msg)
              == HFO_GRAPH_ERR_UNSUPPORTED && strstr(msg, "num_hidden_layers"), "layers: %s", msg);
    /* a pooling head on another task */
    CHECK(build(t, &c, HFO_BERT_FILL_MASK, HFO_BERT_POOL_CLS, NULL, NULL, msg, sizeof msg)
              == HFO_GRAPH_ERR_UNSUPPORTED, "pooling on fill-mask: %s", msg);
    /* untied decoder without its weight */
    bad = c;
    bad.tie_word_embeddings = 0;
    CHECK(build(t, &bad, HFO_BERT_FILL_MASK, HFO_BERT_POOL_NONE, NULL, NULL, msg, sizeof msg)
              == HFO_GRAPH_ERR_WEIGHT && strstr(msg, "cls.predictions.decoder.weight"), "untied: %s", msg);

    /* names parsed with errors that list what is supported */
    hfo_graph *g = hfo_graph_new("names", 0);
    hfo_act act;
    hfo_bert_task task;
    hfo_bert_pooling pool;
    CHECK(hfo_act_from_name(g, "gelu_new", &act) == 0 && act == HFO_ACT_GELU_TANH, "gelu_new");
    CHECK(hfo_act_from_name(g, "mish", &act) < 0 && strstr(hfo_graph_error(g), "'mish'") &&
          strstr(hfo_graph_error(g), "silu"), "mish: %s", hfo_graph_error(g));
    hfo_graph_clear_error(g);
    CHECK(hfo_bert_task_from_name(g, "fill-mask", &task) == 0 && task == HFO_BERT_FILL_MASK, "task");
    CHECK(hfo_bert_task_from_name(g, "translation", &task) < 0 &&
          strstr(hfo_graph_error(g), "question-answering"), "bad task");
    hfo_graph_clear_error(g);
    CHECK(hfo_bert_pooling_from_name(g, "median", &pool) < 0 && strstr(hfo_graph_error(g), "'median'"),
          "bad pooling");
    hfo_graph_clear_error(g);
    CHECK(hfo_bert_check_position_embedding_type(g, "relative_key") < 0 &&
          hfo_graph_error_kind(g) == HFO_GRAPH_ERR_UNSUPPORTED, "position type");
    hfo_graph_free(g);

    for (int i = 0; i < t->n; i++)
        free(t->e[i].data);
    free(t);
    if (failures) {
        fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    printf("all checks passed (%d lookups)\n", lookups);
    return 0;
}
