/* activations.c: hidden_act as ONNX ops (see activations.h).
 *
 * Parity: the formulas are transformers' ACT2FN (activations.py); the erf
 * form matches torch.nn.functional.gelu, the tanh form gelu_new /
 * gelu_pytorch_tanh / gelu_fast (the same function written three ways). */
#include "models/activations.h"

#include <stdio.h>
#include <string.h>

static const struct { const char *name; hfo_act act; } act_names[] = {
    {"gelu", HFO_ACT_GELU},
    {"gelu_python", HFO_ACT_GELU},
    {"gelu_new", HFO_ACT_GELU_TANH},
    {"gelu_pytorch_tanh", HFO_ACT_GELU_TANH},
    {"gelu_fast", HFO_ACT_GELU_TANH},
    {"quick_gelu", HFO_ACT_QUICK_GELU},
    {"relu", HFO_ACT_RELU},
    {"silu", HFO_ACT_SILU},
    {"swish", HFO_ACT_SILU},
    {"tanh", HFO_ACT_TANH},
};

const char *hfo_act_supported(void)
{
    return "gelu, gelu_python, gelu_new, gelu_pytorch_tanh, gelu_fast, quick_gelu, "
           "relu, silu, swish, tanh";
}

int hfo_act_from_name(hfo_graph *g, const char *name, hfo_act *out)
{
    for (size_t i = 0; i < sizeof act_names / sizeof act_names[0]; i++) {
        if (strcmp(act_names[i].name, name) == 0) {
            *out = act_names[i].act;
            return 0;
        }
    }
    hfo_graph_fail(g, HFO_GRAPH_ERR_UNSUPPORTED, "unsupported hidden_act '%s' (supported: %s)",
                   name, hfo_act_supported());
    return -1;
}

#define NAME(buf, op) (snprintf((buf), sizeof(buf), "%s/%s", path, (op)), (buf))

/*   x ──► Div(√2) ──► Erf ──► Add(1) ──► Mul(x) ──► Mul(0.5) ──► y   */
static hfo_value *gelu_erf(hfo_graph *g, const char *path, hfo_value *x)
{
    char n[512];
    hfo_value *t = hfo_div(g, NAME(n, "Div"), x, hfo_const_f32(g, 1.4142135381698608f));
    t = hfo_unary(g, "Erf", NAME(n, "Erf"), t);
    t = hfo_add(g, NAME(n, "Add"), t, hfo_const_f32(g, 1.0f));
    t = hfo_mul(g, NAME(n, "Mul"), x, t);
    return hfo_mul(g, NAME(n, "Mul_1"), t, hfo_const_f32(g, 0.5f));
}

/*   x ─► Pow(3) ─► Mul(0.044715) ─► Add(x) ─► Mul(√(2/π)) ─► Tanh ─► Add(1) ─┐
 *   x ─► Mul(0.5) ──────────────────────────────────────────────────────► Mul ─► y */
static hfo_value *gelu_tanh(hfo_graph *g, const char *path, hfo_value *x)
{
    char n[512];
    hfo_value *t = hfo_pow(g, NAME(n, "Pow"), x, hfo_const_f32(g, 3.0f));
    t = hfo_mul(g, NAME(n, "Mul"), t, hfo_const_f32(g, 0.044715f));
    t = hfo_add(g, NAME(n, "Add"), x, t);
    t = hfo_mul(g, NAME(n, "Mul_1"), t, hfo_const_f32(g, 0.7978845608028654f));
    t = hfo_unary(g, "Tanh", NAME(n, "Tanh"), t);
    t = hfo_add(g, NAME(n, "Add_1"), t, hfo_const_f32(g, 1.0f));
    hfo_value *h = hfo_mul(g, NAME(n, "Mul_2"), x, hfo_const_f32(g, 0.5f));
    return hfo_mul(g, NAME(n, "Mul_3"), h, t);
}

/*   x ─► [Mul(k)] ─► Sigmoid ─► Mul(x) ─► y      (k = 1.702 for quick_gelu) */
static hfo_value *x_sigmoid(hfo_graph *g, const char *path, hfo_value *x, float k)
{
    char n[512];
    hfo_value *t = x;
    if (k != 1.0f)
        t = hfo_mul(g, NAME(n, "Mul"), x, hfo_const_f32(g, k));
    t = hfo_unary(g, "Sigmoid", NAME(n, "Sigmoid"), t);
    return hfo_mul(g, NAME(n, k != 1.0f ? "Mul_1" : "Mul"), x, t);
}

hfo_value *hfo_act_apply(hfo_graph *g, hfo_act act, const char *path, hfo_value *x)
{
    char n[512];
    switch (act) {
    case HFO_ACT_GELU:
        return gelu_erf(g, path, x);
    case HFO_ACT_GELU_TANH:
        return gelu_tanh(g, path, x);
    case HFO_ACT_QUICK_GELU:
        return x_sigmoid(g, path, x, 1.702f);
    case HFO_ACT_SILU:
        return x_sigmoid(g, path, x, 1.0f);
    case HFO_ACT_RELU:
        return hfo_unary(g, "Relu", NAME(n, "Relu"), x);
    case HFO_ACT_TANH:
        return hfo_unary(g, "Tanh", NAME(n, "Tanh"), x);
    }
    return hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "bad activation %d", (int)act);
}
