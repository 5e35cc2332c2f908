/* pooling.c: see pooling.h.  Parity reference: sentence-transformers'
 * Pooling module (mean: sum(h * mask) / clamp(sum(mask), min=1e-9); max:
 * padded positions set to -1e9 first; cls: position 0). */
#include "models/pooling.h"

#include <string.h>

int hfo_pool_from_name(hfo_graph *g, const char *name, hfo_pool_kind *out)
{
    static const struct { const char *name; hfo_pool_kind kind; } names[] = {
        {"cls", HFO_POOL_CLS}, {"mean", HFO_POOL_MEAN}, {"max", HFO_POOL_MAX},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(names[i].name, name) == 0) {
            *out = names[i].kind;
            return 0;
        }
    }
    hfo_graph_fail(g, HFO_GRAPH_ERR_UNSUPPORTED, "unsupported pooling head '%s' (supported: cls, mean, max)", name);
    return -1;
}

/*  mask [B,S] ─► Unsqueeze(-1) ─► Cast(float) ─► m [B,S,1]
 *  h ─► Mul(m) ─► ReduceSum(1) ─────────────────────► Div ─► [B,H]
 *  m ─► ReduceSum(1) ─► Max(1e-9) ──────────────────┘
 *
 *  mask ─► Unsqueeze(-1) ─► Cast(bool) ─► Where(h, -1e9) ─► ReduceMax(1) ─► [B,H]
 */
hfo_value *hfo_pool_tokens(hfo_graph *g, hfo_pool_kind kind, hfo_value *h, hfo_value *mask)
{
    const int64_t axis1 = 1, last = -1;
    hfo_value *m, *x, *n;
    switch (kind) {
    case HFO_POOL_CLS:
        return hfo_gather(g, "/pooling/Gather", h, hfo_const_i64(g, 0), 1);
    case HFO_POOL_MEAN:
        m = hfo_unsqueeze(g, "/pooling/Unsqueeze", mask, 1, &last);
        m = hfo_cast(g, "/pooling/Cast", m, HFO_FLOAT);
        x = hfo_mul(g, "/pooling/Mul", h, m);
        x = hfo_reduce(g, "ReduceSum", "/pooling/ReduceSum", x, 1, &axis1, 0);
        n = hfo_reduce(g, "ReduceSum", "/pooling/ReduceSum_1", m, 1, &axis1, 0);
        n = hfo_op1(g, "Max", "/pooling/Max", 2, (hfo_value *[]){n, hfo_const_f32(g, 1e-9f)}, 0, NULL);
        return hfo_div(g, "/pooling/Div", x, n);
    case HFO_POOL_MAX:
        m = hfo_unsqueeze(g, "/pooling/Unsqueeze", mask, 1, &last);
        m = hfo_cast(g, "/pooling/Cast", m, HFO_BOOL);
        x = hfo_where(g, "/pooling/Where", m, h, hfo_const_f32(g, -1e9f));
        return hfo_reduce(g, "ReduceMax", "/pooling/ReduceMax", x, 1, &axis1, 0);
    }
    return hfo_graph_fail(g, HFO_GRAPH_ERR_USAGE, "unknown pooling kind %d", (int)kind);
}
