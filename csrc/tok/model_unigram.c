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
 * The trie is a double array over symbols (the vocabulary's characters,
 * most frequent first), built once by hfo_unigram_finish: one dependent
 * load per character.  Each thread keeps a cache of words (most words of a
 * text repeat), which holds exactly what the Viterbi pass returned. */
#include "spm.h"
#include "tok_internal.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UG_UNK_PENALTY 10.0
#define UG_PIECE 0x80000000u    /* in ug_da.check: a piece ends at this slot */
#define UG_FREE 0x7FFFFFFFu     /* ug_da.check of a free slot (no parent has that index) */
#define UG_MAX_SLOTS 0x7FFFFFF0u
#define UG_DIRECT 255           /* characters with a symbol of their own */
#define UG_UNROLL 4             /* Viterbi: trie steps taken without branches */
#define UG_MAX_MISSES 256       /* building: bases tried for a node before going past the end */

/* The trie is a double array (as SentencePiece's darts, but over symbols,
 * not bytes): each code point of the vocabulary is one symbol (two for rare
 * characters of a large alphabet; 0: in no piece), and the child of slot p
 * by symbol c is slot q = da[p].base + c when da[q].check (without the
 * UG_PIECE bit) is p.  One load per step. */
typedef struct ug_da {
    uint32_t base;
    uint32_t check;
} ug_da;

typedef struct unigram {
    hfo_model base;
    int32_t unk_id;
    int byte_fallback;
    /* the pieces as added: piece i is pcps[poff[i], poff[i + 1]) */
    uint32_t *pcps, *poff;
    size_t n_pcps, cap_pcps;
    double *score;          /* by id */
    size_t n_pieces, cap_pieces;
    double unk_score;
    int32_t byte_id[256];
    int finished;
    /* built by finish: symbols by code point (blk[c >> 8] is a page of 256) */
    uint16_t *blk;          /* 0x1100 pages indices; page 0 is all zeros */
    uint32_t *page;
    uint32_t n_sym;         /* A */
    ug_da *da;
    int32_t *pid;           /* by slot: the piece ending there (when UG_PIECE) */
    size_t n_da;
} unigram;

static inline uint32_t ug_sym(const unigram *u, uint32_t c)
{
    return c < 0x110000 ? u->page[(size_t)u->blk[c >> 8] << 8 | (c & 0xFF)] : 0;
}

/* The child of slot p by symbol sy (>= 1), or 0 (the root is nobody's child). */
static inline uint32_t ug_step(const unigram *u, uint32_t p, uint32_t sy)
{
    uint32_t q = u->da[p].base + sy;
    return (u->da[q].check & ~UG_PIECE) == p ? q : 0;
}

hfo_status hfo_unigram_add(hfo_model *m, const uint32_t *cps, size_t n, double score, hfo_err *err)
{
    unigram *u = (unigram *)m;
    if (u->n_pieces + 1 >= u->cap_pieces) {
        size_t cap = u->cap_pieces ? u->cap_pieces * 2 : 1024;
        double *s = realloc(u->score, cap * sizeof *s);
        if (s)
            u->score = s;
        uint32_t *o = realloc(u->poff, (cap + 1) * sizeof *o);
        if (o)
            u->poff = o;
        if (!s || !o)
            return hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
        u->cap_pieces = cap;
    }
    if (n > UINT32_MAX - u->n_pcps || u->n_pieces >= INT32_MAX - 1)
        return hfo_err_set(err, HFO_ERR_CONFIG, "Unigram vocabulary too large");
    for (size_t i = 0; i < n; i++)
        if (cps[i] > 0x10FFFF)
            return hfo_err_set(err, HFO_ERR_CONFIG, "Unigram piece %zu is not valid Unicode",
                               u->n_pieces);
    if (u->n_pcps + n > u->cap_pcps) {
        size_t cap = u->cap_pcps ? u->cap_pcps : 4096;
        while (cap < u->n_pcps + n)
            cap *= 2;
        uint32_t *c = realloc(u->pcps, cap * sizeof *c);
        if (c == NULL)
            return hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
        u->pcps = c;
        u->cap_pcps = cap;
    }
    if (n)
        memcpy(u->pcps + u->n_pcps, cps, n * sizeof *cps);
    u->n_pcps += n;
    u->score[u->n_pieces] = score;
    u->poff[0] = 0;
    u->poff[++u->n_pieces] = (uint32_t)u->n_pcps;
    u->finished = 0;
    u->base.word_tag = 0;   /* walks cache its words again once finished */
    return HFO_OK;
}

/* ---- building the double array ------------------------------------------ */
typedef struct ug_build {
    const uint32_t *ksym, *koff;   /* keys as symbols, like pcps/poff */
    uint32_t *order;                 /* ids sorted by key, then id */
    ug_da *da;
    int32_t *pid;
    uint32_t *nf;                    /* next free slot >= i (path-compressed) */
    size_t cap;
} ug_build;

static const ug_build *sort_ctx;   /* qsort has no context argument; finish holds build_lock */
static pthread_mutex_t build_lock = PTHREAD_MUTEX_INITIALIZER;

/* A key to sort: its first four symbols packed (most significant first,
 * so comparing them compares the keys' starts), then the key itself. */
typedef struct ug_sortkey {
    uint64_t head;
    uint32_t id;
} ug_sortkey;

static int key_cmp(const void *a, const void *b)
{
    const ug_sortkey *x = a, *y = b;
    if (x->head != y->head)
        return x->head < y->head ? -1 : 1;
    const uint32_t *kx = sort_ctx->ksym + sort_ctx->koff[x->id], *ky = sort_ctx->ksym + sort_ctx->koff[y->id];
    uint32_t nx = sort_ctx->koff[x->id + 1] - sort_ctx->koff[x->id];
    uint32_t ny = sort_ctx->koff[y->id + 1] - sort_ctx->koff[y->id];
    for (uint32_t i = 0; i < nx && i < ny; i++)
        if (kx[i] != ky[i])
            return kx[i] < ky[i] ? -1 : 1;
    if (nx != ny)
        return nx < ny ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int grow_slots(ug_build *b, size_t need)
{
    if (need <= b->cap)
        return 0;
    if (need > UG_MAX_SLOTS)
        return -1;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < need)
        cap *= 2;
    if (cap > UG_MAX_SLOTS)
        cap = UG_MAX_SLOTS;
    ug_da *da = realloc(b->da, cap * sizeof *da);
    if (da)
        b->da = da;
    int32_t *pid = realloc(b->pid, cap * sizeof *pid);
    if (pid)
        b->pid = pid;
    uint32_t *nf = realloc(b->nf, cap * sizeof *nf);
    if (nf)
        b->nf = nf;
    if (!da || !pid || !nf)
        return -1;
    for (size_t i = b->cap; i < cap; i++) {
        b->da[i] = (ug_da){0, UG_FREE};
        b->pid[i] = 0;   /* read only with UG_PIECE (the unrolled walk reads it anyway) */
        b->nf[i] = (uint32_t)i;
    }
    b->cap = cap;
    return 0;
}

/* smallest free slot >= i (i < cap; the last slot of the array is never used) */
static uint32_t next_free(ug_build *b, uint32_t i)
{
    uint32_t r = i;
    while (b->nf[r] != r)
        r = b->nf[r];
    while (b->nf[i] != r) {
        uint32_t nx = b->nf[i];
        b->nf[i] = r;
        i = nx;
    }
    return r;
}

static void take_slot(ug_build *b, uint32_t q, uint32_t parent)
{
    b->da[q].check = parent;
    b->nf[q] = q + 1;
}

/* Breadth-first over the sorted keys: a node is a range of keys sharing
 * their first `depth` symbols; its children go at base + symbol. */
static hfo_status ug_build_da(unigram *u, ug_build *b, size_t n_keys, size_t n_ksym, size_t *n_da,
                              hfo_err *err)
{
    typedef struct { uint32_t slot, lo, hi, depth; } item;
    item *q = malloc((n_ksym + 1) * sizeof *q);   /* one per trie node */
    uint32_t *syms = malloc((u->n_sym + 1) * sizeof *syms);
    uint32_t *ord = malloc((u->n_sym + 1) * sizeof *ord);
    hfo_status st = HFO_OK;
    size_t head = 0, tail = 0, top = 1;
    uint32_t frontier = 1;   /* past the last slot taken */
    if (!q || !syms || !ord || grow_slots(b, u->n_sym + 2) < 0) {
        st = hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
        goto done;
    }
    take_slot(b, 0, UG_FREE);
    q[tail++] = (item){0, 0, (uint32_t)n_keys, 0};
    while (head < tail) {
        item it = q[head++];
        uint32_t lo = it.lo, d = it.depth;
        /* keys ending here come first; the last of them (highest id) wins */
        while (lo < it.hi && b->koff[b->order[lo] + 1] - b->koff[b->order[lo]] == d) {
            if (d > 0) {
                b->da[it.slot].check |= UG_PIECE;
                b->pid[it.slot] = (int32_t)b->order[lo];
            }
            lo++;
        }
        if (lo == it.hi)
            continue;
        size_t k = 0;
        for (uint32_t i = lo; i < it.hi; i++) {
            uint32_t c = b->ksym[b->koff[b->order[i]] + d];
            if (k == 0 || syms[k - 1] != c)
                syms[k++] = c;
        }
        /* the first base where every child's slot is free; after
         * UG_MAX_MISSES tries, past the last slot taken (as darts-clone
         * gives up on full blocks): the build stays fast for big alphabets,
         * and later nodes fill the holes */
        for (size_t j = 0; j < k; j++)
            ord[j] = (uint32_t)j;
        uint32_t f = next_free(b, syms[0]), base, misses = 0;
        for (;;) {
            base = f - syms[0];
            if (grow_slots(b, (size_t)base + u->n_sym + 2) < 0) {
                st = hfo_err_set(err, HFO_ERR_NOMEM, "Unigram vocabulary too large");
                goto done;
            }
            size_t j = 1;
            while (j < k && b->da[base + syms[ord[j]]].check == UG_FREE)
                j++;
            if (j == k)
                break;
            /* check the child that collided first next time */
            uint32_t o = ord[j];
            memmove(ord + 2, ord + 1, (j - 1) * sizeof *ord);
            ord[1] = o;
            f = ++misses < UG_MAX_MISSES ? next_free(b, f + 1) : next_free(b, frontier > syms[0] ? frontier : syms[0]);
        }
        b->da[it.slot].base = base;
        if ((size_t)base + u->n_sym + 1 > top)
            top = (size_t)base + u->n_sym + 1;
        /* children in symbol order, each with its range of keys */
        uint32_t i = lo;
        for (size_t j = 0; j < k; j++) {
            uint32_t e = i;
            while (e < it.hi && b->ksym[b->koff[b->order[e]] + d] == syms[j])
                e++;
            take_slot(b, base + syms[j], it.slot);
            if (base + syms[j] >= frontier)
                frontier = base + syms[j] + 1;
            q[tail++] = (item){base + syms[j], i, e, d + 1};
            i = e;
        }
    }
    *n_da = top;
done:
    free(q);
    free(syms);
    free(ord);
    return st;
}

typedef struct { uint32_t cp, count; } ug_char;

static int char_by_count(const void *a, const void *b)
{
    const ug_char *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return x->cp < y->cp ? -1 : x->cp > y->cp;
}

/* Symbols: the vocabulary's code points, most frequent first (so the dense
 * part of the double array is the busy one). */
static hfo_status ug_alphabet(unigram *u, hfo_err *err)
{
    hfo_status st = HFO_OK;
    uint32_t *count = NULL;
    ug_char *ch = NULL;
    uint16_t *blk = calloc(0x1100, sizeof *blk);
    uint32_t *page = NULL;
    if (!blk)
        goto oom;
    /* count the code points in pages of 256 (blocks in use get a page) */
    size_t n_pages = 1;
    for (size_t i = 0; i < u->n_pcps; i++)
        if (blk[u->pcps[i] >> 8] == 0)
            blk[u->pcps[i] >> 8] = (uint16_t)n_pages++;
    count = calloc(n_pages << 8, sizeof *count);
    if (count == NULL)
        goto oom;
    for (size_t i = 0; i < u->n_pcps; i++)
        count[(size_t)blk[u->pcps[i] >> 8] << 8 | (u->pcps[i] & 0xFF)]++;
    size_t a = 0;
    for (size_t k = 0; k < (n_pages << 8); k++)
        a += count[k] != 0;
    ch = malloc((a ? a : 1) * sizeof *ch);
    if (ch == NULL)
        goto oom;
    a = 0;
    for (uint32_t b = 0; b < 0x1100; b++)
        if (blk[b])
            for (uint32_t c = 0; c < 256; c++)
                if (count[(size_t)blk[b] << 8 | c])
                    ch[a++] = (ug_char){b << 8 | c, count[(size_t)blk[b] << 8 | c]};
    qsort(ch, a, sizeof *ch, char_by_count);
    page = calloc(n_pages << 8, sizeof *page);
    if (page == NULL)
        goto oom;
    /* the UG_DIRECT most frequent characters are one symbol; the others
     * two (a group, then 1..256), so no node has more than a few thousand
     * possible children and the double array packs well whatever the
     * alphabet (darts works on bytes for the same reason) */
    uint32_t top = 0;
    for (size_t i = 0; i < a; i++) {
        uint32_t sy;
        if (i < UG_DIRECT) {
            sy = (uint32_t)i + 1;
        } else {
            uint32_t r = (uint32_t)(i - UG_DIRECT);
            sy = (UG_DIRECT + 1 + (r >> 8)) | (1 + (r & 0xFF)) << 16;
        }
        page[(size_t)blk[ch[i].cp >> 8] << 8 | (ch[i].cp & 0xFF)] = sy;
        if ((sy & 0xFFFF) > top)
            top = sy & 0xFFFF;
        if ((sy >> 16) > top)
            top = sy >> 16;
    }
    free(u->blk);
    free(u->page);
    u->blk = blk;
    u->page = page;
    u->n_sym = top;
    blk = NULL;
    page = NULL;
    goto done;
oom:
    st = hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
done:
    free(count);
    free(ch);
    free(blk);
    free(page);
    return st;
}

static hfo_status ug_compact(unigram *u, hfo_err *err)
{
    hfo_status st = ug_alphabet(u, err);
    if (st)
        return st;
    ug_build b = {0};
    /* the keys: each piece as symbols (one or two per code point) */
    uint32_t *ksym = malloc((2 * u->n_pcps + 1) * sizeof *ksym);
    uint32_t *koff = malloc((u->n_pieces + 1) * sizeof *koff);
    b.order = malloc((u->n_pieces ? u->n_pieces : 1) * sizeof *b.order);
    if (!ksym || !koff || !b.order) {
        st = hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
        goto done;
    }
    size_t nks = 0, nk = 0;
    for (size_t i = 0; i < u->n_pieces; i++) {
        koff[i] = (uint32_t)nks;
        for (size_t k = u->poff[i]; k < u->poff[i + 1]; k++) {
            uint32_t sy = ug_sym(u, u->pcps[k]);
            ksym[nks++] = sy & 0xFFFF;
            if (sy >> 16)
                ksym[nks++] = sy >> 16;
        }
        if (u->poff[i + 1] > u->poff[i])   /* an empty piece can never match */
            b.order[nk++] = (uint32_t)i;
    }
    koff[u->n_pieces] = (uint32_t)nks;
    if (nks > UINT32_MAX - 1) {
        st = hfo_err_set(err, HFO_ERR_CONFIG, "Unigram vocabulary too large");
        goto done;
    }
    b.ksym = ksym;
    b.koff = koff;
    /* symbols are < 2^16; a shorter key's missing symbols are 0, below any */
    ug_sortkey *sk = malloc((nk ? nk : 1) * sizeof *sk);
    if (sk == NULL) {
        st = hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < nk; i++) {
        uint32_t id = b.order[i], n = koff[id + 1] - koff[id];
        uint64_t head = 0;
        for (uint32_t q = 0; q < 4; q++)
            head = head << 16 | (q < n ? ksym[koff[id] + q] : 0);
        sk[i] = (ug_sortkey){head, id};
    }
    pthread_mutex_lock(&build_lock);
    sort_ctx = &b;
    qsort(sk, nk, sizeof *sk, key_cmp);
    sort_ctx = NULL;
    pthread_mutex_unlock(&build_lock);
    for (size_t i = 0; i < nk; i++)
        b.order[i] = sk[i].id;
    free(sk);
    size_t n_da = 0;
    if ((st = ug_build_da(u, &b, nk, nks, &n_da, err)))
        goto done;
    /* n_da <= b.cap: every base + symbol stays inside the array */
    free(u->da);
    free(u->pid);
    u->da = b.da;
    u->pid = b.pid;
    u->n_da = n_da;
    b.da = NULL;
    b.pid = NULL;
done:
    free(ksym);
    free(koff);
    free(b.order);
    free(b.da);
    free(b.pid);
    free(b.nf);
    return st;
}

/* id of the piece spelled cps[0, n), or -1 */
static int32_t ug_lookup(const unigram *u, const uint32_t *cps, size_t n)
{
    uint32_t p = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t sy = ug_sym(u, cps[i]);
        if (sy == 0 || (p = ug_step(u, p, sy & 0xFFFF)) == 0)
            return -1;
        if ((sy >> 16) && (p = ug_step(u, p, sy >> 16)) == 0)
            return -1;
    }
    return n && (u->da[p].check & UG_PIECE) ? u->pid[p] : -1;
}

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
    u->finished = 1;
    /* identifies this state of the model in its own per-thread cache and in
     * word_cache.c's (0: never cached) */
    u->base.word_tag = hfo_wc_new_tag();
    return HFO_OK;
}

/* ---- per-thread word cache ---------------------------------------------- */
/* Two tables of words and what the Viterbi pass made of them (tokens
 * tiling the word), each in sets of UC_WAYS entries with a 16-bit tag per
 * entry (the tags stay in L2: a word not in the table is known without
 * reading its set):
 *   short: <= 12 BMP code points (the Metaspace prefix included), <= 6
 *          tokens, 64-byte entries, 32768 of them (2 MB);
 *   long:  13-28 code points, <= 12 tokens, 128-byte entries, 4096 (520 KB
 *          with its tags: 2.6 MB per thread in all).
 * (On the shared corpora 94% of the words are short; the short table hits
 * 96% of the English words and 64% of the multilingual ones.  The long
 * words are few but each costs a long search: in the English text, 1.4% of
 * the words and 98% of them repeats, they were most of the Viterbi time.) */
#define UC_WAYS 4             /* entries per set, replaced in turn */

/* The helpers below take a table's shape and are always inlined, so each
 * call site is compiled for one shape (one out-of-line copy with the
 * generic loops made the cache's hit path 35% slower). */
#define UC_INLINE static inline __attribute__((always_inline))

typedef struct uc_shape {
    size_t entries;           /* a multiple of UC_WAYS, a power of two */
    size_t size;              /* bytes per entry */
    size_t n_w;               /* 64-bit words of text: 4 code points each */
    size_t max_tok;
} uc_shape;

/* An entry: uint64_t key (model tag << 8 | n; 0 = empty); uint64_t w[n_w]
 * (the word as 16-bit units, zero padded); uint8_t n_tok; uint8_t
 * end[max_tok] (token k covers [end[k-1], end[k])); int32_t id[max_tok]
 * at the next multiple of 4. */
#define UC_SHORT_SHAPE 32768, 64, 3, 6
#define UC_LONG_SHAPE 4096, 128, 7, 12
#define UC_MAX_NW 7           /* the longest shape's n_w: w[] and the hash's multipliers */
static const uc_shape UC_SHORT = {UC_SHORT_SHAPE};
static const uc_shape UC_LONG = {UC_LONG_SHAPE};

/* Where n_tok and id[] sit in an entry. */
#define UC_OFF_TOK(n_w) (8 + 8 * (n_w))
#define UC_OFF_ID(n_w, max_tok) ((UC_OFF_TOK(n_w) + 1 + (max_tok) + 3) & ~(size_t)3)

/* Each field inside the entry, ends in a byte, lengths in the key's byte. */
#define UC_FITS(entries, size, n_w, max_tok)                                           \
    ((UC_OFF_ID(n_w, max_tok) + 4 * (max_tok) <= (size)) &&                           \
     (n_w) <= UC_MAX_NW && 4 * (n_w) < 256 && (entries) % UC_WAYS == 0 &&           \
     ((entries) & ((entries) - 1)) == 0 && (size) % 64 == 0)
#define UC_FITS_OF(...) UC_FITS(__VA_ARGS__)   /* expands a shape macro into the four */
_Static_assert(UC_FITS_OF(UC_SHORT_SHAPE), "short word-cache entry layout");
_Static_assert(UC_FITS_OF(UC_LONG_SHAPE), "long word-cache entry layout");

UC_INLINE size_t uc_off_tok(const uc_shape *sh)
{
    return UC_OFF_TOK(sh->n_w);
}

UC_INLINE size_t uc_off_id(const uc_shape *sh)
{
    return UC_OFF_ID(sh->n_w, sh->max_tok);
}

/* A table: its entries, then a tag per entry, then a byte per set (the
 * way to replace next). */
static inline size_t uc_bytes(const uc_shape *sh)
{
    return sh->entries * (sh->size + sizeof(uint16_t)) + sh->entries / UC_WAYS;
}

UC_INLINE uint16_t *uc_tags(const uc_shape *sh, unsigned char *t)
{
    return (uint16_t *)(t + sh->entries * sh->size);
}

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

/* This thread's tables: the short one, the long one after it. */
static unsigned char *uc_tables(void)
{
    pthread_once(&uc_once, uc_init);
    if (!uc_ok)
        return NULL;
    unsigned char *t = pthread_getspecific(uc_key);
    if (t == NULL) {
        size_t size = uc_bytes(&UC_SHORT) + uc_bytes(&UC_LONG);
        size = (size + 63) & ~(size_t)63;
        t = aligned_alloc(64, size);
        if (t) {
            memset(t, 0, size);
            if (pthread_setspecific(uc_key, t) != 0) {
                free(t);
                t = NULL;
            }
        }
    }
    return t;
}

/* The word packed into w[0, n_w) (1 if it is all BMP). */
UC_INLINE int uc_pack(const uint32_t *cps, size_t n, uint64_t *w, size_t n_w)
{
    uint32_t any = 0;
    for (size_t k = 0; k < n_w; k++)
        w[k] = 0;
    for (size_t i = 0; i < n; i++) {
        any |= cps[i];
        w[i >> 2] |= (uint64_t)(cps[i] & 0xFFFF) << (16 * (i & 3));
    }
    return any < 0x10000;
}

/* The word's set (its first entry) and tag. */
UC_INLINE size_t uc_slot(const uc_shape *sh, const uint64_t *w, uint64_t key, uint16_t *tag)
{
    static const uint64_t mult[UC_MAX_NW] = {0x9E3779B97F4A7C15ULL, 0xC2B2AE3D27D4EB4FULL,
                                             0x165667B19E3779F9ULL, 0x27D4EB2F165667C5ULL,
                                             0x94D049BB133111EBULL, 0xBF58476D1CE4E5B9ULL,
                                             0xFF51AFD7ED558CCDULL};
    uint64_t h = key * 0xD6E8FEB86659FD93ULL;
    for (size_t k = 0; k < sh->n_w; k++)
        h ^= w[k] * mult[k];
    *tag = (uint16_t)(h >> 16) | 1;
    return ((size_t)(h >> 40) & (sh->entries / UC_WAYS - 1)) * UC_WAYS;
}

/* The word's entry in table t, or NULL; *slot and *tag say where it goes. */
UC_INLINE unsigned char *uc_find(const uc_shape *sh, unsigned char *t, const uint64_t *w,
                                 uint64_t key, size_t *slot, uint16_t *tag)
{
    const uint16_t *tags = uc_tags(sh, t);
    *slot = uc_slot(sh, w, key, tag);
    for (size_t k = 0; k < UC_WAYS; k++) {
        if (tags[*slot + k] != *tag)
            continue;
        unsigned char *e = t + (*slot + k) * sh->size;
        uint64_t ek;
        memcpy(&ek, e, 8);
        if (ek != key)
            continue;
        int same = 1;
        for (size_t q = 0; q < sh->n_w && same; q++) {
            uint64_t x;
            memcpy(&x, e + 8 + 8 * q, 8);
            same = x == w[q];
        }
        if (same)
            return e;
    }
    return NULL;
}

/* Append entry e's tokens to out. */
UC_INLINE hfo_status uc_replay(const uc_shape *sh, const unsigned char *e, hfo_pieces *out,
                               hfo_err *err)
{
    size_t nt = e[uc_off_tok(sh)];
    if (hfo_pieces_reserve(out, nt, err))
        return err->code;
    const uint8_t *end = e + uc_off_tok(sh) + 1;
    int32_t *id = out->id + out->len;
    uint32_t *st = out->start + out->len, *en = out->end + out->len;
    uint32_t prev = 0;
    for (size_t k = 0; k < nt; k++) {
        memcpy(&id[k], e + uc_off_id(sh) + 4 * k, 4);
        st[k] = prev;
        en[k] = prev = end[k];
    }
    out->len += nt;
    return HFO_OK;
}

/* Keep out's tokens from mark on as the word's entry (when they fit and
 * tile the word; byte fallback tokens share spans). */
UC_INLINE void uc_store(const uc_shape *sh, unsigned char *t, const uint64_t *w, uint64_t key,
                        size_t slot, uint16_t tag, const hfo_pieces *out, size_t mark)
{
    size_t nt = out->len - mark;
    if (nt > sh->max_tok)
        return;
    for (size_t k = 0; k < nt; k++)
        if (out->start[mark + k] != (k ? out->end[mark + k - 1] : 0))
            return;
    uint16_t *tags = uc_tags(sh, t);
    uint8_t *next = (uint8_t *)(tags + sh->entries) + slot / UC_WAYS;
    size_t way = *next;   /* the set's ways are replaced in turn */
    *next = (uint8_t)((way + 1) % UC_WAYS);
    unsigned char *e = t + (slot + way) * sh->size;
    tags[slot + way] = tag;
    memcpy(e, &key, 8);
    memcpy(e + 8, w, 8 * sh->n_w);
    e[uc_off_tok(sh)] = (uint8_t)nt;
    for (size_t k = 0; k < nt; k++) {
        e[uc_off_tok(sh) + 1 + k] = (uint8_t)out->end[mark + k];
        memcpy(e + uc_off_id(sh) + 4 * k, &out->id[mark + k], 4);
    }
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

#define UG_STACK 256

static hfo_status ug_viterbi(const unigram *u, const uint32_t *cps, size_t n, hfo_pieces *out,
                             hfo_err *err)
{
    ug_cell stack_cells[UG_STACK + 1];
    uint32_t stack_syms[UG_STACK + UG_UNROLL];
    ug_cell *cell = stack_cells;
    uint32_t *sym = stack_syms;
    if (n > UG_STACK) {
        cell = malloc((n + 1) * sizeof *cell);
        sym = malloc((n + UG_UNROLL) * sizeof *sym);
        if (cell == NULL || sym == NULL) {
            free(cell);
            free(sym);
            return hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
        }
    }
    hfo_status st = HFO_OK;
    for (size_t i = 0; i < n; i++) {
        sym[i] = ug_sym(u, cps[i]);
        cell[i + 1].start = -1;
    }
    for (size_t i = n; i < n + UG_UNROLL; i++)
        sym[i] = 0;   /* never matches */
    cell[0].score = 0.0;
    cell[0].start = 0;
    const ug_da *da = u->da;
    for (size_t s = 0; s < n; s++) {
        double base = cell[s].score;
        if (sym[s] == 0) {
            /* in no piece: only the unknown from s reaches s + 1 */
            if (u->unk_id < 0) {
                st = hfo_err_set(err, HFO_ERR_CONFIG,
                                 "Unigram: text has characters outside the vocabulary "
                                 "and the model has no unk token");
                goto done;
            }
            cell[s + 1].score = u->unk_score + base;
            cell[s + 1].start = (int32_t)s;
            cell[s + 1].id = u->unk_id;
            continue;
        }
        int single = 0;
        uint32_t p = 0;
        size_t e = s;
        if (u->n_sym <= UG_DIRECT) {
            /* the first UG_UNROLL steps without branches: a slot whose check
             * fails is still inside the array (every base + symbol is), so
             * the walk goes on with masks; relaxing is masked too */
            uint32_t alive = 1;
            for (size_t d = 0; d < UG_UNROLL; d++) {
                uint32_t q = da[p].base + sym[s + d];
                uint32_t chk = da[q].check;
                alive &= (chk & ~UG_PIECE) == p;
                uint32_t piece = alive & (chk >> 31);
                double cand = u->score[u->pid[q]] + base;
                ug_cell *t = &cell[s + d + 1];
                if (piece && (t->start < 0 || cand > t->score)) {
                    t->score = cand;
                    t->start = (int32_t)s;
                    t->id = u->pid[q];
                }
                if (d == 0)
                    single = (int)piece;
                p = q;
            }
            if (!alive)
                goto walked;
            e = s + UG_UNROLL;
        }
        /* every piece starting at s, shortest first (common prefix search) */
        for (; e < n; e++) {
            /* symbol 0 never matches: no slot's parent is at its base + 0 */
            uint32_t sy = sym[e];
            uint32_t q = da[p].base + (sy & 0xFFFF);
            uint32_t chk = da[q].check;
            if ((chk & ~UG_PIECE) != p)
                break;
            if (sy >> 16) {   /* a rare character's second symbol */
                p = q;
                q = da[p].base + (sy >> 16);
                chk = da[q].check;
                if ((chk & ~UG_PIECE) != p)
                    break;
            }
            p = q;
            if (chk & UG_PIECE) {
                int32_t id = u->pid[q];
                double cand = u->score[id] + base;
                ug_cell *t = &cell[e + 1];
                if (t->start < 0 || cand > t->score) {
                    t->score = cand;
                    t->start = (int32_t)s;
                    t->id = id;
                }
                single |= e == s;
            }
        }
walked:
        if (!single) {
            double cand = u->unk_score + base;
            ug_cell *t = &cell[s + 1];
            if (t->start < 0 || cand > t->score) {
                if (u->unk_id < 0) {
                    st = hfo_err_set(err, HFO_ERR_CONFIG,
                                     "Unigram: text has characters outside the vocabulary "
                                     "and the model has no unk token");
                    goto done;
                }
                t->score = cand;
                t->start = (int32_t)s;
                t->id = u->unk_id;
            }
        }
    }
    /* backtrack: count the tokens (a run of <unk> is one), then fill from the end */
    size_t nt = 0;
    int in_unk = 0;
    for (size_t e = n; e > 0; e = (size_t)cell[e].start) {
        int unk = u->unk_id >= 0 && cell[e].id == u->unk_id;
        nt += !(unk && in_unk);
        in_unk = unk;
    }
    if ((st = hfo_pieces_reserve(out, nt, err)))
        goto done;
    size_t mark = out->len, k = mark + nt, unk_end = 0;
    in_unk = 0;
    int any_unk = 0;
    for (size_t e = n; e > 0;) {
        size_t s = (size_t)cell[e].start;
        if (u->unk_id >= 0 && cell[e].id == u->unk_id) {
            if (!in_unk) {
                unk_end = e;
                in_unk = 1;
                any_unk = 1;
                k--;
            }
            /* placeholder for the fused unknown run [s, unk_end) */
            out->id[k] = -2;
            out->start[k] = (uint32_t)s;
            out->end[k] = (uint32_t)unk_end;
        } else {
            in_unk = 0;
            k--;
            out->id[k] = cell[e].id;
            out->start[k] = (uint32_t)s;
            out->end[k] = (uint32_t)e;
        }
        e = s;
    }
    out->len = mark + nt;
    if (!any_unk)
        goto done;
    /* resolve the fused unknown runs (may expand into byte tokens) */
    for (k = mark; k < out->len; k++) {
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
    if (cell != stack_cells) {
        free(cell);
        free(sym);
    }
    return st;
}

/* Through the cache: a word seen before is replayed, a new one searched
 * and kept. */
UC_INLINE hfo_status ug_cached(const unigram *u, const uc_shape *sh, unsigned char *t,
                               const uint32_t *cps, size_t n, hfo_pieces *out, hfo_err *err)
{
    uint64_t w[UC_MAX_NW];
    if (!uc_pack(cps, n, w, sh->n_w))
        return ug_viterbi(u, cps, n, out, err);
    uint64_t key = u->base.word_tag << 8 | n;
    size_t slot;
    uint16_t tag;
    const unsigned char *e = uc_find(sh, t, w, key, &slot, &tag);
    if (e)
        return uc_replay(sh, e, out, err);
    size_t mark = out->len;
    if (ug_viterbi(u, cps, n, out, err))
        return err->code;
    uc_store(sh, t, w, key, slot, tag, out, mark);
    return HFO_OK;
}

static hfo_status ug_tokenize(const hfo_model *self, const uint32_t *cps, size_t n,
                              hfo_pieces *out, hfo_err *err)
{
    const unigram *u = (const unigram *)self;
    if (n == 0)
        return HFO_OK;
    if (!u->finished)
        return hfo_err_set(err, HFO_ERR_CONFIG, "Unigram model used before hfo_unigram_finish");
    unsigned char *t = n <= 4 * UC_LONG.n_w && u->base.word_tag ? uc_tables() : NULL;
    if (t == NULL)
        return ug_viterbi(u, cps, n, out, err);
    if (n <= 4 * UC_SHORT.n_w)
        return ug_cached(u, &UC_SHORT, t, cps, n, out, err);
    return ug_cached(u, &UC_LONG, t + uc_bytes(&UC_SHORT), cps, n, out, err);
}

static void ug_free(hfo_model *self)
{
    unigram *u = (unigram *)self;
    if (u == NULL)
        return;
    free(u->pcps);
    free(u->poff);
    free(u->score);
    free(u->blk);
    free(u->page);
    free(u->da);
    free(u->pid);
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
    return &u->base;
}

void hfo_model_free(hfo_model *n)
{
    if (n)
        n->free(n);
}
