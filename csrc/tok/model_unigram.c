/* model_unigram.c: the Unigram model (tokenizers/src/models/unigram/model.rs,
 * encode_optimized, which follows SentencePiece's unigram_model.cc).
 *
 * Viterbi over the word: for each start position (left to right) every
 * vocabulary piece that is a prefix of the rest (shortest first) relaxes the
 * node at its end with score(piece) + best(start), replacing it only on a
 * strictly better score, so ties keep the earlier candidate; when no
 * one-character piece starts there, the character becomes <unk> with score
 * min_score - 10.  Backtracking fuses runs of <unk> into one token, and, as
 * the reference does, looks the fused text up in the vocabulary again;
 * byte fallback (<0xXX> pieces) applies to text the vocabulary lacks.
 * Duplicate pieces: the last one's id and score win, as the reference's
 * token_to_ids map.  Scores are doubles, summed in the reference's order.
 *
 * The trie is over code points: a direct table for the root's BMP children
 * and one open-addressing hash of (parent, code point) -> child for the
 * rest.  Each thread keeps a small cache of recent words (most words of a
 * text repeat), which holds exactly what the Viterbi pass returned. */
#include "spm.h"
#include "tok_internal.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UG_UNK_PENALTY 10.0
#define UG_MAX_HOT 4
#define UG_HOT_MIN_CHILDREN 512

typedef struct ug_slot {
    uint64_t key;   /* (parent << 21 | cp) + 1; 0 = empty */
    uint32_t child;
} ug_slot;

/* An edge of the compact trie carries its child: the piece ending there and
 * where the child's own edges are, so a walk touches only edge arrays. */
typedef struct ug_edge {
    uint32_t cp;
    int32_t id;             /* piece ending at the child, -1 = none */
    uint32_t first, n;      /* the child's edges: ce[first, first + n) */
} ug_edge;

typedef struct unigram {
    hfo_model base;
    int32_t unk_id;
    int byte_fallback;
    uint32_t *root;         /* 65536: child of the root by BMP code point, 0 = none */
    ug_slot *slots;
    size_t mask, used;
    int32_t *node_id;       /* piece id ending at node, -1 = none */
    double *node_score;
    size_t n_nodes, cap_nodes;
    double *score;          /* by id */
    size_t n_pieces, cap_pieces;
    double unk_score;
    int32_t byte_id[256];
    int finished;
    /* the compact trie built by finish: nodes in breadth-first order, each
     * node's children contiguous and sorted by code point */
    ug_edge *ce;
    size_t root_first, root_n;
    uint32_t *croot;        /* 65536: 1 + index in ce of the root's edge for a BMP code point */
    /* depth-1 nodes with many children ("▁" has thousands): a direct BMP
     * table like the root's, instead of a binary search */
    int n_hot;
    uint32_t hot_cp[UG_MAX_HOT];
    uint32_t *hot[UG_MAX_HOT];  /* 65536 each: 1 + index in ce */
    uint64_t cache_tag;     /* identifies this model in the per-thread caches */
} unigram;

static inline uint64_t ug_hash(uint64_t k)
{
    k *= 0x9E3779B97F4A7C15ULL;
    return k ^ (k >> 29);
}

static inline uint32_t ug_child(const unigram *u, uint32_t node, uint32_t c)
{
    if (node == 0 && c < 0x10000)
        return u->root[c];
    uint64_t key = (((uint64_t)node << 21) | c) + 1;
    size_t j = (size_t)ug_hash(key) & u->mask;
    for (;;) {
        const ug_slot *s = &u->slots[j];
        if (s->key == key)
            return s->child;
        if (s->key == 0)
            return 0;
        j = (j + 1) & u->mask;
    }
}

static hfo_status ug_rehash(unigram *u, size_t size, hfo_err *err)
{
    ug_slot *t = calloc(size, sizeof *t);
    if (t == NULL)
        return hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
    for (size_t i = 0; u->slots && i <= u->mask; i++) {
        if (u->slots[i].key == 0)
            continue;
        size_t j = (size_t)ug_hash(u->slots[i].key) & (size - 1);
        while (t[j].key)
            j = (j + 1) & (size - 1);
        t[j] = u->slots[i];
    }
    free(u->slots);
    u->slots = t;
    u->mask = size - 1;
    return HFO_OK;
}

static hfo_status ug_new_node(unigram *u, uint32_t *out, hfo_err *err)
{
    if (u->n_nodes == u->cap_nodes) {
        size_t cap = u->cap_nodes ? u->cap_nodes * 2 : 1024;
        int32_t *ids = realloc(u->node_id, cap * sizeof *ids);
        if (ids)
            u->node_id = ids;
        double *sc = realloc(u->node_score, cap * sizeof *sc);
        if (sc)
            u->node_score = sc;
        if (!ids || !sc)
            return hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
        u->cap_nodes = cap;
    }
    if (u->n_nodes >= (1u << 31))
        return hfo_err_set(err, HFO_ERR_CONFIG, "Unigram vocabulary too large");
    u->node_id[u->n_nodes] = -1;
    u->node_score[u->n_nodes] = 0.0;
    *out = (uint32_t)u->n_nodes++;
    return HFO_OK;
}

hfo_status hfo_unigram_add(hfo_model *m, const uint32_t *cps, size_t n, double score, hfo_err *err)
{
    unigram *u = (unigram *)m;
    if (u->n_pieces == u->cap_pieces) {
        size_t cap = u->cap_pieces ? u->cap_pieces * 2 : 1024;
        double *s = realloc(u->score, cap * sizeof *s);
        if (s == NULL)
            return hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
        u->score = s;
        u->cap_pieces = cap;
    }
    int32_t id = (int32_t)u->n_pieces++;
    u->score[id] = score;
    u->finished = 0;
    if (n == 0)
        return HFO_OK;  /* an empty piece can never match */
    uint32_t node = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = cps[i];
        if (c > 0x10FFFF)
            return hfo_err_set(err, HFO_ERR_CONFIG, "Unigram piece %d is not valid Unicode", id);
        uint32_t next = ug_child(u, node, c);
        if (next == 0) {
            if (ug_new_node(u, &next, err))
                return err->code;
            if (node == 0 && c < 0x10000) {
                u->root[c] = next;
            } else {
                if ((u->used + 1) * 2 > u->mask + 1 && ug_rehash(u, (u->mask + 1) * 2, err))
                    return err->code;
                uint64_t key = (((uint64_t)node << 21) | c) + 1;
                size_t j = (size_t)ug_hash(key) & u->mask;
                while (u->slots[j].key)
                    j = (j + 1) & u->mask;
                u->slots[j].key = key;
                u->slots[j].child = next;
                u->used++;
            }
        }
        node = next;
    }
    u->node_id[node] = id;  /* last duplicate wins */
    u->node_score[node] = score;
    return HFO_OK;
}

/* The edge for code point c among ce[first, first + n), or NULL. */
static inline const ug_edge *ug_find(const ug_edge *e, uint32_t n, uint32_t c)
{
    if (n <= 8) {
        for (uint32_t k = 0; k < n; k++)
            if (e[k].cp == c)
                return &e[k];
        return NULL;
    }
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (e[mid].cp < c)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && e[lo].cp == c ? &e[lo] : NULL;
}

static inline const ug_edge *ug_root_edge(const unigram *u, uint32_t c)
{
    if (c < 0x10000) {
        uint32_t k = u->croot[c];
        return k ? &u->ce[k - 1] : NULL;
    }
    return ug_find(u->ce + u->root_first, (uint32_t)u->root_n, c);
}

static int edge_cmp(const void *a, const void *b)
{
    const ug_edge *x = a, *y = b;
    return x->cp < y->cp ? -1 : x->cp > y->cp;
}

/* Build the compact trie from the hash trie (breadth-first, so the edges of
 * the short, hot prefixes sit together). */
static hfo_status ug_compact(unigram *u, hfo_err *err)
{
    size_t nn = u->n_nodes;
    uint32_t *cnt = calloc(nn + 1, sizeof *cnt), *order = malloc(nn * sizeof *order);
    size_t *edge_of = malloc(nn * sizeof *edge_of);   /* by BFS position: its edge in ce */
    ug_edge *by_parent = malloc((nn ? nn : 1) * sizeof *by_parent);
    ug_edge *ce = malloc((nn ? nn : 1) * sizeof *ce);
    uint32_t *croot = calloc(0x10000, sizeof *croot);
    hfo_status st = HFO_OK;
    if (!cnt || !order || !edge_of || !by_parent || !ce || !croot) {
        st = hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
        goto done;
    }
    /* edges grouped by parent (counting sort); .first holds the old child id */
    for (uint32_t c = 0; c < 0x10000; c++)
        if (u->root[c])
            cnt[1]++;
    for (size_t i = 0; i <= u->mask; i++)
        if (u->slots[i].key)
            cnt[((u->slots[i].key - 1) >> 21) + 1]++;
    for (size_t i = 1; i <= nn; i++)
        cnt[i] += cnt[i - 1];
    for (uint32_t c = 0; c < 0x10000; c++)
        if (u->root[c])
            by_parent[cnt[0]++] = (ug_edge){c, -1, u->root[c], 0};
    for (size_t i = 0; i <= u->mask; i++) {
        if (!u->slots[i].key)
            continue;
        uint64_t k = u->slots[i].key - 1;
        size_t p = (size_t)(k >> 21);
        by_parent[cnt[p]++] = (ug_edge){(uint32_t)(k & 0x1FFFFF), -1, u->slots[i].child, 0};
    }
    /* now parent p's edges are by_parent[p ? cnt[p - 1] : 0, cnt[p]) */
    size_t head = 0, tail = 0, ne = 0;
    order[tail++] = 0;
    while (head < tail) {
        size_t pos = head++;
        uint32_t old = order[pos];
        size_t b = old ? cnt[old - 1] : 0, e = cnt[old];
        qsort(by_parent + b, e - b, sizeof *by_parent, edge_cmp);
        if (pos == 0) {
            u->root_first = ne;
            u->root_n = e - b;
        } else {
            ce[edge_of[pos]].first = (uint32_t)ne;
            ce[edge_of[pos]].n = (uint32_t)(e - b);
        }
        for (size_t k = b; k < e; k++) {
            uint32_t child = by_parent[k].first;
            edge_of[tail] = ne;
            order[tail++] = child;
            ce[ne] = (ug_edge){by_parent[k].cp, u->node_id[child], 0, 0};
            if (old == 0 && by_parent[k].cp < 0x10000)
                croot[by_parent[k].cp] = (uint32_t)ne + 1;
            ne++;
        }
    }
    free(u->ce);
    free(u->croot);
    u->ce = ce;
    u->croot = croot;
    ce = NULL;
    croot = NULL;
    for (int h = 0; h < u->n_hot; h++)
        free(u->hot[h]);
    u->n_hot = 0;
    for (size_t k = 0; k < u->root_n && u->n_hot < UG_MAX_HOT; k++) {
        const ug_edge *r = &u->ce[u->root_first + k];
        if (r->n < UG_HOT_MIN_CHILDREN || r->cp >= 0x10000)
            continue;
        uint32_t *t = calloc(0x10000, sizeof *t);
        if (t == NULL) {
            st = hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
            goto done;
        }
        for (uint32_t j = 0; j < r->n; j++)
            if (u->ce[r->first + j].cp < 0x10000)
                t[u->ce[r->first + j].cp] = r->first + j + 1;
        u->hot_cp[u->n_hot] = r->cp;
        u->hot[u->n_hot++] = t;
    }
done:
    free(cnt);
    free(order);
    free(edge_of);
    free(by_parent);
    free(ce);
    free(croot);
    return st;
}

/* id of the piece spelled cps[0, n), or -1 */
static int32_t ug_lookup(const unigram *u, const uint32_t *cps, size_t n)
{
    uint32_t node = 0;
    for (size_t i = 0; i < n; i++)
        if ((node = ug_child(u, node, cps[i])) == 0)
            return -1;
    return n ? u->node_id[node] : -1;
}

static uint64_t next_tag = 1;
static pthread_mutex_t tag_lock = PTHREAD_MUTEX_INITIALIZER;

hfo_status hfo_unigram_finish(hfo_model *m, hfo_err *err)
{
    unigram *u = (unigram *)m;
    double min_score = INFINITY;
    for (size_t i = 0; i < u->n_pieces; i++)
        if (u->score[i] < min_score)
            min_score = u->score[i];
    u->unk_score = min_score - UG_UNK_PENALTY;
    if (ug_compact(u, err))
        return err->code;
    for (int b = 0; b < 256; b++) {
        char name[8];
        uint32_t cps[6];
        snprintf(name, sizeof name, "<0x%02X>", b);
        for (int k = 0; k < 6; k++)
            cps[k] = (uint8_t)name[k];
        u->byte_id[b] = ug_lookup(u, cps, 6);
    }
    if (u->unk_id >= (int32_t)u->n_pieces)
        return hfo_err_set(err, HFO_ERR_CONFIG,
                           "Unigram: unk_id %d is outside the vocabulary (%zu pieces)",
                           u->unk_id, u->n_pieces);
    pthread_mutex_lock(&tag_lock);
    u->cache_tag = next_tag++;
    pthread_mutex_unlock(&tag_lock);
    u->finished = 1;
    return HFO_OK;
}

/* ---- per-thread word cache ---------------------------------------------- */
#define UC_WAYS 32768         /* entries, direct mapped: 4 MB per thread */
#define UC_MAX_CPS 16
#define UC_MAX_TOK 8

typedef struct uc_entry {
    uint64_t tag;             /* model tag; 0 = empty */
    uint8_t n, n_tok;
    uint8_t end[UC_MAX_TOK];  /* token k covers [end[k-1], end[k]) */
    int32_t id[UC_MAX_TOK];
    uint32_t cps[UC_MAX_CPS];
} uc_entry;

static pthread_key_t uc_key;
static pthread_once_t uc_once = PTHREAD_ONCE_INIT;
static int uc_ok;

static void uc_destroy(void *p)
{
    free(p);
}

static void uc_init(void)
{
    uc_ok = pthread_key_create(&uc_key, uc_destroy) == 0;
}

/* The table: UC_WAYS entries, then UC_WAYS 32-bit checks (hash and model
 * tag mixed), small enough to stay in L2 so a miss rarely touches the entry. */
static uc_entry *uc_table(void)
{
    pthread_once(&uc_once, uc_init);
    if (!uc_ok)
        return NULL;
    uc_entry *t = pthread_getspecific(uc_key);
    if (t == NULL) {
        t = calloc(UC_WAYS, sizeof *t + sizeof(uint32_t));
        if (t && pthread_setspecific(uc_key, t) != 0) {
            free(t);
            t = NULL;
        }
    }
    return t;
}

static inline uint32_t uc_hash(const uint32_t *cps, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ n;
    for (size_t i = 0; i < n; i++)
        h = (h ^ cps[i]) * 0x100000001B3ULL;
    h ^= h >> 31;
    return (uint32_t)h;
}

/* ---- encoding ------------------------------------------------------------- */
typedef struct ug_cell {
    double score;
    int32_t start;  /* -1: not reached */
    int32_t id;
} ug_cell;

static hfo_status push_unk(const unigram *u, const uint32_t *cps, size_t s, size_t e,
                           hfo_pieces *out, hfo_err *err)
{
    int32_t id = ug_lookup(u, cps + s, e - s);
    if (id >= 0)
        return hfo_pieces_push(out, id, (uint32_t)s, (uint32_t)e, err);
    if (u->byte_fallback) {
        uint8_t bytes[4 * 64];
        size_t nb = 0, q = s;
        int ok = 1;
        /* in chunks, so long runs need no allocation */
        size_t mark = out->len;
        while (q < e && ok) {
            nb = 0;
            for (; q < e && nb + 4 <= sizeof bytes; q++) {
                uint32_t c = cps[q];
                if (c < 0x80) {
                    bytes[nb++] = (uint8_t)c;
                } else if (c < 0x800) {
                    bytes[nb++] = (uint8_t)(0xC0 | (c >> 6));
                    bytes[nb++] = (uint8_t)(0x80 | (c & 0x3F));
                } else if (c < 0x10000) {
                    bytes[nb++] = (uint8_t)(0xE0 | (c >> 12));
                    bytes[nb++] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
                    bytes[nb++] = (uint8_t)(0x80 | (c & 0x3F));
                } else {
                    bytes[nb++] = (uint8_t)(0xF0 | (c >> 18));
                    bytes[nb++] = (uint8_t)(0x80 | ((c >> 12) & 0x3F));
                    bytes[nb++] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
                    bytes[nb++] = (uint8_t)(0x80 | (c & 0x3F));
                }
            }
            for (size_t b = 0; b < nb; b++) {
                if (u->byte_id[bytes[b]] < 0) {
                    ok = 0;
                    break;
                }
                if (hfo_pieces_push(out, u->byte_id[bytes[b]], (uint32_t)s, (uint32_t)e, err))
                    return err->code;
            }
        }
        if (ok)
            return HFO_OK;
        out->len = mark;
    }
    if (u->unk_id < 0)
        return hfo_err_set(err, HFO_ERR_CONFIG,
                           "Unigram: text has characters outside the vocabulary and the model "
                           "has no unk token");
    return hfo_pieces_push(out, u->unk_id, (uint32_t)s, (uint32_t)e, err);
}

static hfo_status ug_viterbi(const unigram *u, const uint32_t *cps, size_t n, hfo_pieces *out,
                             hfo_err *err)
{
    ug_cell stack_cells[257];
    ug_cell *cell = stack_cells;
    if (n + 1 > sizeof stack_cells / sizeof stack_cells[0]) {
        cell = malloc((n + 1) * sizeof *cell);
        if (cell == NULL)
            return hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i <= n; i++)
        cell[i].start = -1;
    cell[0].score = 0.0;
    for (size_t s = 0; s < n; s++) {
        double base = cell[s].score;
        int single = 0;
        const ug_edge *ed = ug_root_edge(u, cps[s]);
        for (size_t e = s; ed; ) {
            int32_t id = ed->id;
            if (id >= 0) {
                double cand = u->score[id] + base;
                ug_cell *t = &cell[e + 1];
                if (t->start < 0 || cand > t->score) {
                    t->score = cand;
                    t->start = (int32_t)s;
                    t->id = id;
                }
                if (e == s)
                    single = 1;
            }
            if (++e == n)
                break;
            uint32_t c = cps[e];
            if (e == s + 1 && c < 0x10000 && u->n_hot && ed->n >= UG_HOT_MIN_CHILDREN) {
                int h = 0;
                while (h < u->n_hot && u->hot_cp[h] != cps[s])
                    h++;
                if (h < u->n_hot) {
                    uint32_t k = u->hot[h][c];
                    ed = k ? &u->ce[k - 1] : NULL;
                    continue;
                }
            }
            ed = ug_find(u->ce + ed->first, ed->n, c);
        }
        if (!single) {
            double cand = u->unk_score + base;
            ug_cell *t = &cell[s + 1];
            if (t->start < 0 || cand > t->score) {
                if (u->unk_id < 0) {
                    if (cell != stack_cells)
                        free(cell);
                    return hfo_err_set(err, HFO_ERR_CONFIG,
                                       "Unigram: text has characters outside the vocabulary "
                                       "and the model has no unk token");
                }
                t->score = cand;
                t->start = (int32_t)s;
                t->id = u->unk_id;
            }
        }
    }
    /* backtrack into out (reversed), then reverse */
    size_t mark = out->len;
    hfo_status st = HFO_OK;
    size_t e = n, unk_end = 0;
    int in_unk = 0;
    while (e > 0) {
        ug_cell *c = &cell[e];
        size_t s = (size_t)c->start;
        if (u->unk_id >= 0 && c->id == u->unk_id) {
            if (!in_unk) {
                in_unk = 1;
                unk_end = e;
            }
        } else {
            if (in_unk) {
                /* placeholder for the fused unknown run [e, unk_end) */
                if ((st = hfo_pieces_push(out, -2, (uint32_t)e, (uint32_t)unk_end, err)))
                    goto done;
                in_unk = 0;
            }
            if ((st = hfo_pieces_push(out, c->id, (uint32_t)s, (uint32_t)e, err)))
                goto done;
        }
        e = s;
    }
    if (in_unk && (st = hfo_pieces_push(out, -2, 0, (uint32_t)unk_end, err)))
        goto done;
    for (size_t a = mark, b = out->len; a + 1 < b; a++, b--) {
        int32_t ti = out->id[a];
        uint32_t ts = out->start[a], te = out->end[a];
        out->id[a] = out->id[b - 1];
        out->start[a] = out->start[b - 1];
        out->end[a] = out->end[b - 1];
        out->id[b - 1] = ti;
        out->start[b - 1] = ts;
        out->end[b - 1] = te;
    }
    /* resolve the fused unknown runs (may expand into byte tokens) */
    for (size_t k = mark; k < out->len; k++) {
        if (out->id[k] != -2)
            continue;
        int32_t id = ug_lookup(u, cps + out->start[k], out->end[k] - out->start[k]);
        if (id >= 0) {
            out->id[k] = id;
            continue;
        }
        if (!u->byte_fallback) {
            out->id[k] = u->unk_id;
            continue;
        }
        /* rare: rebuild the tail with the byte tokens */
        hfo_pieces tail = {0};
        for (size_t q = k; q < out->len; q++)
            if ((st = hfo_pieces_push(&tail, out->id[q], out->start[q], out->end[q], err)))
                break;
        size_t tl = tail.len;
        out->len = k;
        if (st == HFO_OK)
            st = push_unk(u, cps, tail.start[0], tail.end[0], out, err);
        size_t resume = out->len;
        for (size_t q = 1; q < tl && st == HFO_OK; q++)
            st = hfo_pieces_push(out, tail.id[q], tail.start[q], tail.end[q], err);
        free(tail.id);
        free(tail.start);
        free(tail.end);
        if (st)
            goto done;
        k = resume - 1;
    }
done:
    if (cell != stack_cells)
        free(cell);
    return st;
}

static hfo_status ug_tokenize(const hfo_model *self, const uint32_t *cps, size_t n,
                              hfo_pieces *out, hfo_err *err)
{
    const unigram *u = (const unigram *)self;
    if (n == 0)
        return HFO_OK;
    if (!u->finished)
        return hfo_err_set(err, HFO_ERR_CONFIG, "Unigram model used before hfo_unigram_finish");
    if (n > UC_MAX_CPS)
        return ug_viterbi(u, cps, n, out, err);
    uc_entry *table = uc_table();
    if (table == NULL)
        return ug_viterbi(u, cps, n, out, err);
    uint32_t h = uc_hash(cps, n), slot = h & (UC_WAYS - 1);
    uint32_t *check = (uint32_t *)(table + UC_WAYS);
    uint32_t chk = ((h >> 15) ^ (uint32_t)(u->cache_tag * 0x9E3779B9u)) | 1u;
    uc_entry *ce = &table[slot];
    if (check[slot] == chk && ce->tag == u->cache_tag && ce->n == n &&
        memcmp(ce->cps, cps, n * 4) == 0) {
        uint32_t prev = 0;
        for (uint32_t k = 0; k < ce->n_tok; k++) {
            if (hfo_pieces_push(out, ce->id[k], prev, ce->end[k], err))
                return err->code;
            prev = ce->end[k];
        }
        return HFO_OK;
    }
    size_t mark = out->len;
    if (ug_viterbi(u, cps, n, out, err))
        return err->code;
    size_t nt = out->len - mark;
    if (nt > UC_MAX_TOK)
        return HFO_OK;
    for (size_t k = 0; k < nt; k++) {
        /* cache only tokens that tile the word (byte fallback tokens share spans) */
        if (out->start[mark + k] != (k ? out->end[mark + k - 1] : 0))
            return HFO_OK;
    }
    check[slot] = chk;
    ce->tag = u->cache_tag;
    ce->n = (uint8_t)n;
    ce->n_tok = (uint8_t)nt;
    memcpy(ce->cps, cps, n * 4);
    for (size_t k = 0; k < nt; k++) {
        ce->id[k] = out->id[mark + k];
        ce->end[k] = (uint8_t)out->end[mark + k];
    }
    return HFO_OK;
}

static void ug_free(hfo_model *self)
{
    unigram *u = (unigram *)self;
    if (u == NULL)
        return;
    free(u->root);
    free(u->slots);
    free(u->node_id);
    free(u->node_score);
    free(u->score);
    free(u->ce);
    free(u->croot);
    for (int h = 0; h < u->n_hot; h++)
        free(u->hot[h]);
    free(u);
}

hfo_model *hfo_unigram_new(int32_t unk_id, int byte_fallback)
{
    unigram *u = calloc(1, sizeof *u);
    if (u == NULL)
        return NULL;
    u->base.tokenize = ug_tokenize;
    u->base.free = ug_free;
    u->unk_id = unk_id;
    u->byte_fallback = byte_fallback;
    u->root = calloc(0x10000, sizeof *u->root);
    hfo_err err;
    uint32_t root;
    if (u->root == NULL || ug_rehash(u, 1024, &err) || ug_new_node(u, &root, &err)) {
        ug_free(&u->base);
        return NULL;
    }
    return &u->base;
}

void hfo_model_free(hfo_model *n)
{
    if (n)
        n->free(n);
}
