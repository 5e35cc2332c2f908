/* external_store.c: one external data file shared by several models. */
#include "external_store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ALIGN 4096

typedef struct store_entry {
    const void *data;
    hfo_dtype src_dtype, dtype;
    hfo_xform xform;
    int rank;
    int64_t dims[HFO_MAX_RANK];   /* stored shape: same bytes viewed otherwise are another tensor */
    uint64_t nbytes, offset;
} store_entry;

struct hfo_external_store {
    char *path, *tmp_path;
    const char *name;            /* points into path */
    int fd;
    store_entry *entries;
    size_t n, cap;
    uint64_t written, reserved;  /* end of the kept tensors; end of the last reservation */
    size_t n_begin;              /* entries before the current model */
    uint64_t written_begin;
    int committed;
};

hfo_external_store *hfo_external_store_open(const char *path, char *err, size_t err_len)
{
    hfo_external_store *s = calloc(1, sizeof *s);
    size_t len = strlen(path);
    if (s != NULL)
        s->fd = -1;
    if (s == NULL || (s->path = strdup(path)) == NULL || (s->tmp_path = malloc(len + 16)) == NULL) {
        snprintf(err, err_len, "out of memory");
        hfo_external_store_free(s);
        return NULL;
    }
    const char *slash = strrchr(s->path, '/');
    s->name = slash ? slash + 1 : s->path;
    if (s->name[0] == '\0') {
        snprintf(err, err_len, "'%s' is a folder, not a file name", path);
        hfo_external_store_free(s);
        return NULL;
    }
    snprintf(s->tmp_path, len + 16, "%s.tmp-XXXXXX", path);
    s->fd = mkstemp(s->tmp_path);
    if (s->fd < 0) {
        snprintf(err, err_len, "cannot write '%s': %s", path, strerror(errno));
        free(s->tmp_path);
        s->tmp_path = NULL;
        hfo_external_store_free(s);
        return NULL;
    }
    mode_t mask = umask(0);
    umask(mask);
    (void)fchmod(s->fd, 0666 & ~mask);
    return s;
}

int hfo_external_store_commit(hfo_external_store *s, char *err, size_t err_len)
{
    if (s->committed)
        return 0;
    /* bytes past `written` belong to a model whose write failed */
    if (s->fd < 0) {
        snprintf(err, err_len, "cannot write '%s': an earlier write failed", s->path);
        return -1;
    }
    int bad = ftruncate(s->fd, (off_t)s->written) != 0 ? errno : 0;
    if (close(s->fd) != 0 && bad == 0)   /* closed either way: never close the number twice */
        bad = errno;
    s->fd = -1;
    if (bad != 0) {
        snprintf(err, err_len, "cannot write '%s': %s", s->path, strerror(bad));
        return -1;
    }
    if (rename(s->tmp_path, s->path) != 0) {
        snprintf(err, err_len, "cannot rename '%s' to '%s': %s", s->tmp_path, s->path, strerror(errno));
        return -1;
    }
    s->committed = 1;
    return 0;
}

void hfo_external_store_free(hfo_external_store *s)
{
    if (s == NULL)
        return;
    if (s->fd >= 0)
        close(s->fd);
    if (!s->committed && s->tmp_path != NULL)
        unlink(s->tmp_path);
    free(s->entries);
    free(s->tmp_path);
    free(s->path);
    free(s);
}

uint64_t hfo_external_store_size(const hfo_external_store *s) { return s->written; }
int hfo_store_fd(const hfo_external_store *s) { return s->fd; }
const char *hfo_store_path(const hfo_external_store *s) { return s->path; }
const char *hfo_store_name(const hfo_external_store *s) { return s->name; }

int hfo_store_place(hfo_external_store *s, const value_rec *v, uint64_t nbytes, uint64_t *offset, int *is_new)
{
    for (size_t i = 0; i < s->n; i++) {
        const store_entry *e = &s->entries[i];
        int same = e->data == v->data && e->src_dtype == v->src_dtype && e->dtype == v->pub.dtype
            && e->xform == v->xform && e->nbytes == nbytes && e->rank == v->pub.rank;
        for (int d = 0; same && d < e->rank; d++)
            same = e->dims[d] == v->pub.dims[d].size;
        if (same) {
            *offset = e->offset;
            *is_new = 0;
            return 0;
        }
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        store_entry *grown = realloc(s->entries, cap * sizeof *grown);
        if (grown == NULL)
            return -1;
        s->entries = grown;
        s->cap = cap;
    }
    uint64_t at = (s->reserved + ALIGN - 1) / ALIGN * ALIGN;
    store_entry *e = &s->entries[s->n++];
    *e = (store_entry){.data = v->data, .src_dtype = v->src_dtype, .dtype = v->pub.dtype,
                       .xform = v->xform, .rank = v->pub.rank, .nbytes = nbytes, .offset = at};
    for (int d = 0; d < v->pub.rank && d < HFO_MAX_RANK; d++)
        e->dims[d] = v->pub.dims[d].size;
    s->reserved = at + nbytes;
    *offset = at;
    *is_new = 1;
    return 0;
}

void hfo_store_begin(hfo_external_store *s)
{
    s->n_begin = s->n;
    s->written_begin = s->written;
    s->reserved = s->written;
}

void hfo_store_end(hfo_external_store *s, int ok)
{
    if (ok) {
        s->written = s->reserved;
        return;
    }
    /* forget this model's tensors; the next model's reservations reuse the space */
    s->n = s->n_begin;
    s->written = s->reserved = s->written_begin;
}
