/* external_store.h: the writer's side of hfo_external_store (graph.h). */
#ifndef HFO_EXTERNAL_STORE_H
#define HFO_EXTERNAL_STORE_H

#include "graph_impl.h"

/* Where weight `v` lives in the store: its offset when already there (*is_new
 * 0), or a newly reserved, aligned offset at the end (*is_new 1) that the
 * caller must fill, in reservation order, before the next write.  -1 when out
 * of memory. */
int hfo_store_place(hfo_external_store *s, const value_rec *v, uint64_t nbytes, uint64_t *offset, int *is_new);

/* Begin and end one model's writes: end(ok=1) keeps its reservations (their
 * bytes are written); end(ok=0) forgets them, and commit cuts the file to
 * what committed models use. */
void hfo_store_begin(hfo_external_store *s);
void hfo_store_end(hfo_external_store *s, int ok);

/* The file to pwrite reserved tensors to; -1 when it failed earlier. */
int hfo_store_fd(const hfo_external_store *s);
const char *hfo_store_path(const hfo_external_store *s);     /* the final path */
const char *hfo_store_name(const hfo_external_store *s);     /* its base name */

#endif
