/* activations.h: the `hidden_act` functions of Hugging Face configs as ONNX
 * subgraphs, shaped as torch exports them so onnxruntime fuses them
 * (Gelu / FastGelu / BiasGelu).
 *
 *     hfo_act act;
 *     if (hfo_act_from_name(g, cfg_hidden_act, &act) < 0) return NULL;  // error names it
 *     hfo_value *y = hfo_act_apply(g, act, "/encoder/layer.0/intermediate/intermediate_act_fn", x);
 */
#ifndef HFO_MODELS_ACTIVATIONS_H
#define HFO_MODELS_ACTIVATIONS_H

#include "graph/graph.h"

typedef enum hfo_act {
    HFO_ACT_GELU,        /* "gelu", "gelu_python": x/2 (1 + erf(x/sqrt 2)) */
    HFO_ACT_GELU_TANH,   /* "gelu_new", "gelu_pytorch_tanh", "gelu_fast":
                            x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
    HFO_ACT_QUICK_GELU,  /* "quick_gelu": x sigmoid(1.702 x) */
    HFO_ACT_RELU,        /* "relu" */
    HFO_ACT_SILU,        /* "silu", "swish": x sigmoid(x) */
    HFO_ACT_TANH,        /* "tanh" */
} hfo_act;

/* The supported names, comma-separated (static string). */
const char *hfo_act_supported(void);

/* Parse a config's activation name.  0, or -1 with HFO_GRAPH_ERR_UNSUPPORTED
 * recorded in g naming `name` and listing the supported ones. */
int hfo_act_from_name(hfo_graph *g, const char *name, hfo_act *out);

/* y = act(x), nodes named "<path>/<Op>". */
hfo_value *hfo_act_apply(hfo_graph *g, hfo_act act, const char *path, hfo_value *x);

#endif
