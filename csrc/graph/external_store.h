/* external_store.h: the writer's side of hfo_external_store (graph.h). */
#ifndef HFO_EXTERNAL_STORE_H
#define HFO_EXTERNAL_STORE_H

#include <stdio.h>

#include "graph_impl.h"

/* Where weight `v` lives in the store: its offset when already there (*is_new
 * 0), or a newly reserved, aligned offset at the end (*is_new 1) that the
 * caller must fill, in reservation order, before the next write.  -1 when out
 * of memory. */
int hfo_store_place(hfo_external_store *s, const value_rec *v, uint64_t nbytes, uint64_t *offset, int *is_new);

/* Begin and end one model's writes: end(ok=0) forgets the reservations and
 * bytes of this model, so the file only holds what committed models use. */
void hfo_store_begin(hfo_external_store *s);
void hfo_store_end(hfo_external_store *s, int ok);

FILE *hfo_store_file(hfo_external_store *s);
uint64_t hfo_store_written(const hfo_external_store *s);     /* bytes in the file now */
void hfo_store_set_written(hfo_external_store *s, uint64_t n);
const char *hfo_store_path(const hfo_external_store *s);     /* the final path */
const char *hfo_store_name(const hfo_external_store *s);     /* its base name */

#endif
