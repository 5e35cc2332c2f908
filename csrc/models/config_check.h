/* config_check.h: checks every recipe makes of the sizes in a config.
 *
 *     const hfo_config_size sizes[] = {{"hidden_size", c->hidden_size}, {"num_layers", c->n}};
 *     if (hfo_config_check_sizes(g, sizes, 2) < 0) return -1;   // error names the field
 */
#ifndef HFO_MODELS_CONFIG_CHECK_H
#define HFO_MODELS_CONFIG_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "graph/graph.h"

typedef struct hfo_config_size {
    const char *name;     /* the config.json key, for the message */
    int64_t value;
} hfo_config_size;

/* Each value must be a positive size no larger than 2^40.  0, or -1 with
 * HFO_GRAPH_ERR_UNSUPPORTED recorded in g naming the first bad field. */
int hfo_config_check_sizes(hfo_graph *g, const hfo_config_size *sizes, size_t n);

#endif
