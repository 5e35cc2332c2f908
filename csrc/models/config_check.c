/* config_check.c: see config_check.h. */
#include "models/config_check.h"

int hfo_config_check_sizes(hfo_graph *g, const hfo_config_size *sizes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (sizes[i].value <= 0 || sizes[i].value > ((int64_t)1 << 40)) {
            hfo_graph_fail(g, HFO_GRAPH_ERR_UNSUPPORTED, "config %s = %lld: expected a positive size",
                           sizes[i].name, (long long)sizes[i].value);
            return -1;
        }
    }
    return 0;
}
