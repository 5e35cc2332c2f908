/* tok_internal.h: what the stages share: the normalized string, growable
 * vectors, and the stage vtables.  Not for the glue. */
#ifndef HFO_TOK_INTERNAL_H
#define HFO_TOK_INTERNAL_H

#include "tok.h"

/* ---- normalized.c: a normalized string carrying its alignment ----------
 * cp[i] came from original code points [os[i], oe[i]) of the caller's text.
 * Every transform keeps the alignment, so token offsets can be mapped back:
 * a token over normalized [a, b) covers original [os[a], oe[b-1]). */
typedef struct hfo_norm {
    uint32_t *cp, *os, *oe;
    size_t len, cap;
} hfo_norm;

void hfo_norm_free(hfo_norm *ns);
hfo_status hfo_norm_grow(hfo_norm *ns, size_t extra, hfo_err *err);
static inline void hfo_norm_push(hfo_norm *ns, uint32_t c, uint32_t s, uint32_t e)
{
    /* caller has reserved room with hfo_norm_grow */
    ns->cp[ns->len] = c;
    ns->os[ns->len] = s;
    ns->oe[ns->len] = e;
    ns->len++;
}
/* Copy text[begin, end) with identity alignment (no normalizer).
 * Fails on lone surrogates. */
hfo_status hfo_norm_from_text(hfo_norm *ns, const hfo_text *t, size_t begin, size_t end,
                              hfo_err *err);
/* Error for a lone surrogate at text index i. */
hfo_status hfo_err_surrogate(hfo_err *err, uint32_t c, size_t i);

/* A span [start, end) */
typedef struct hfo_span { uint32_t start, end; } hfo_span;
typedef struct hfo_spans { hfo_span *v; size_t len, cap; } hfo_spans;
hfo_status hfo_spans_push(hfo_spans *s, uint32_t start, uint32_t end, hfo_err *err);

/* Tokens a model produced for one word, offsets relative to the word. */
typedef struct hfo_pieces {
    int32_t *id;
    uint32_t *start, *end;
    size_t len, cap;
} hfo_pieces;
/* Room for at least one more piece. */
hfo_status hfo_pieces_grow(hfo_pieces *p, hfo_err *err);
/* Room for `extra` more pieces (written directly, then len updated). */
hfo_status hfo_pieces_reserve(hfo_pieces *p, size_t extra, hfo_err *err);
static inline hfo_status hfo_pieces_push(hfo_pieces *p, int32_t id, uint32_t start, uint32_t end,
                                         hfo_err *err)
{
    if (p->len == p->cap && hfo_pieces_grow(p, err))
        return err->code;
    p->id[p->len] = id;
    p->start[p->len] = start;
    p->end[p->len] = end;
    p->len++;
    return HFO_OK;
}

/* ---- stage vtables ------------------------------------------------------ */
struct hfo_normalizer {
    /* Normalize text[begin, end) into out (appending; out->len is 0 on entry). */
    hfo_status (*run)(const hfo_normalizer *self, const hfo_text *t, size_t begin, size_t end,
                      hfo_norm *out, hfo_err *err);
    void (*free)(hfo_normalizer *self);
};

struct hfo_pretok {
    /* Split ns into words (spans of ns); may rewrite ns (Metaspace does). */
    hfo_status (*split)(const hfo_pretok *self, hfo_norm *ns, hfo_spans *words, hfo_err *err);
    void (*free)(hfo_pretok *self);
};

struct hfo_model {
    /* Append the tokens of one word (code points cps[0, n)) to out. */
    hfo_status (*tokenize)(const hfo_model *self, const uint32_t *cps, size_t n, hfo_pieces *out,
                           hfo_err *err);
    void (*free)(hfo_model *self);
    /* Its words' tokens may be kept in word_cache.c under this tag (a fresh
     * hfo_wc_new_tag() each time the vocabulary is finished); 0: never. */
    uint64_t word_tag;
};

/* ---- word_cache.c -------------------------------------------------------- */
#define HFO_WC_MAX_CHARS 16   /* a word's bytes fill at most key[2] */
#define HFO_WC_MAX_TOK 3      /* tokens an entry holds */
#define HFO_WC_ID_BITS 21     /* bits of each id (ids below 2^21 only) */
#define HFO_WC_SET_BITS 14
#define HFO_WC_SETS (1 << HFO_WC_SET_BITS)   /* two entries each: 1 MiB per thread */
typedef struct hfo_wc_entry {
    uint64_t key[2];          /* the (normalized) word, a byte per character, zero padded */
    uint32_t tag;             /* hfo_wc_tag(); 0: empty */
    uint8_t n_tok;
    uint8_t end[HFO_WC_MAX_TOK];   /* token k is [end[k - 1], end[k]) (end[-1] = 0) */
    uint64_t ids;             /* token k's id in bits [21k, 21k + 21) */
} hfo_wc_entry;
/* A word's two possible places, one cache line: the newer entry first. */
typedef struct hfo_wc_set {
    hfo_wc_entry way[2];
} hfo_wc_set;
typedef struct hfo_wc {
    /* how this thread's lookups fared lately, for walks whose misses cost
     * more than the cache saves on hits (hfo_wc_try, hfo_wc_count) */
    uint32_t probes, hits, pause;
    _Alignas(64) hfo_wc_set set[HFO_WC_SETS];
} hfo_wc;
uint64_t hfo_wc_new_tag(void);
/* An entry's tag: the model's word_tag (< 2^26), a flag of the walk's (what
 * besides the bytes the tokens depend on: T5, Metaspace's prefix) and the
 * word's length in characters (<= HFO_WC_MAX_CHARS).  Every walk uses this
 * one layout: tags of different models or flags never meet. */
static inline uint32_t hfo_wc_tag(uint64_t word_tag, int flag, size_t n)
{
    return (uint32_t)(word_tag << 6) | (uint32_t)(flag != 0) << 5 | (uint32_t)n;
}
/* This thread's cache, or NULL when out of memory. */
hfo_wc *hfo_wc_table(void);
/* The set a word is kept in. */
static inline hfo_wc_set *hfo_wc_set_of(hfo_wc *wc, uint32_t tag, const uint64_t key[2])
{
    /* multiplicative: the top bits mix all of the key */
    uint64_t h = (key[0] ^ tag) * 0x9E3779B97F4A7C15ULL + key[1] * 0xC2B2AE3D27D4EB4FULL;
    return &wc->set[h >> (64 - HFO_WC_SET_BITS)];
}
/* The entry of the set that holds this word, or NULL.  Both ways are
 * compared without a branch: which one holds a word does not predict. */
static inline const hfo_wc_entry *hfo_wc_find(const hfo_wc_set *s, uint32_t tag,
                                              const uint64_t key[2])
{
    const hfo_wc_entry *a = &s->way[0], *b = &s->way[1];
    uint64_t da = (a->key[0] ^ key[0]) | (a->key[1] ^ key[1]) | (a->tag ^ tag);
    uint64_t db = (b->key[0] ^ key[0]) | (b->key[1] ^ key[1]) | (b->tag ^ tag);
    /* masks, not branches (the compiler would otherwise test way by way) */
    uintptr_t ma = (uintptr_t)0 - (uintptr_t)(da == 0), mb = (uintptr_t)0 - (uintptr_t)(db == 0);
    __asm__("" : "+r"(ma), "+r"(mb));
    return (const hfo_wc_entry *)(((uintptr_t)a & ma) | ((uintptr_t)b & mb & ~ma));
}
/* An entry's ids, unpacked. */
static inline void hfo_wc_ids(const hfo_wc_entry *e, int32_t id[HFO_WC_MAX_TOK])
{
    for (int k = 0; k < HFO_WC_MAX_TOK; k++)
        id[k] = (int32_t)((e->ids >> (HFO_WC_ID_BITS * k)) & ((1u << HFO_WC_ID_BITS) - 1));
}
/* Zero the key's bytes from n (<= 16) on, without a branch. */
#define HFO_WC_KM(n) {(n) >= 8 ? ~0ULL : (1ULL << (8 * (n))) - 1, \
                      (n) >= 16 ? ~0ULL : (n) <= 8 ? 0 : (1ULL << (8 * ((n) - 8))) - 1}
static const uint64_t hfo_wc_key_mask[HFO_WC_MAX_CHARS + 1][2] = {
    HFO_WC_KM(0), HFO_WC_KM(1), HFO_WC_KM(2), HFO_WC_KM(3), HFO_WC_KM(4), HFO_WC_KM(5),
    HFO_WC_KM(6), HFO_WC_KM(7), HFO_WC_KM(8), HFO_WC_KM(9), HFO_WC_KM(10), HFO_WC_KM(11),
    HFO_WC_KM(12), HFO_WC_KM(13), HFO_WC_KM(14), HFO_WC_KM(15), HFO_WC_KM(16)};
#undef HFO_WC_KM
static inline void hfo_wc_key_cut(uint64_t key[2], size_t n)
{
    key[0] &= hfo_wc_key_mask[n][0];
    key[1] &= hfo_wc_key_mask[n][1];
}
/* Whether to look the next word up: after HFO_WC_SAMPLE lookups of which
 * fewer than half hit, the next HFO_WC_PAUSE words go without. */
#define HFO_WC_SAMPLE 1024
#define HFO_WC_PAUSE 16384
static inline int hfo_wc_try(hfo_wc *wc)
{
    if (wc->pause == 0)
        return 1;
    wc->pause--;
    return 0;
}
static inline void hfo_wc_count(hfo_wc *wc, int hit)
{
    wc->hits += (uint32_t)hit;
    if (++wc->probes == HFO_WC_SAMPLE) {
        if (wc->hits < HFO_WC_SAMPLE / 2)
            wc->pause = HFO_WC_PAUSE;
        wc->probes = wc->hits = 0;
    }
}
/* Keep what the model made of the word (n characters) in its set, as the
 * newer entry, when its tokens tile the word and are few and small enough. */
void hfo_wc_put(hfo_wc_set *s, uint32_t tag, const uint64_t key[2], size_t n, const hfo_pieces *p);

/* ---- added_tokens.c ------------------------------------------------------ */
typedef struct hfo_added {
    uint32_t *cps;
    size_t n;
    int32_t id;
    unsigned flags;
} hfo_added;

typedef struct hfo_added_set {
    hfo_added *v;
    size_t len, cap;
    uint64_t first_bits[1024];  /* bitmap of (first code point & 0xFFFF) */
    uint32_t one_first;         /* the first code point of every token, or UINT32_MAX */
} hfo_added_set;

/* A piece of split text: either an added token (id >= 0) or plain text (id < 0). */
typedef struct hfo_seg { size_t start, end; int32_t id; } hfo_seg;
typedef struct hfo_segs { hfo_seg *v; size_t len, cap; } hfo_segs;

hfo_status hfo_added_add(hfo_added_set *set, const uint32_t *cps, size_t n, int32_t id,
                         unsigned flags, hfo_err *err);
void hfo_added_free(hfo_added_set *set);
/* Split t[0, t->len) at the added tokens whose HFO_ADDED_NORMALIZED flag
 * equals `normalized`, leftmost-longest, honouring lstrip/rstrip/single_word;
 * with skip_special, a special token's match is left in the text. */
hfo_status hfo_added_split(const hfo_added_set *set, int normalized, int skip_special,
                           const hfo_text *t, hfo_segs *out, hfo_err *err);

/* ---- workspace --------------------------------------------------------- */
struct hfo_ws {
    hfo_norm ns;
    hfo_spans words;
    hfo_pieces pieces;
    hfo_segs segs, nsegs;
    hfo_encoding ea, eb;   /* the sequences of the item being encoded, reused */
    hfo_arena *arena;      /* where the item's output block comes from; NULL: malloc */
    int split_special;     /* the call's hfo_call.split_special, for the walk */
};

/* ---- encoding.c --------------------------------------------------------- */
/* Room for `extra` more tokens; the common case (room enough) inline. */
hfo_status hfo_enc_grow(hfo_encoding *e, size_t extra, hfo_err *err);
/* Room for exactly n tokens in an empty encoding, the block from arena when
 * not NULL (malloc if the arena cannot give it). */
hfo_status hfo_enc_reserve_in(hfo_encoding *e, size_t n, hfo_arena *arena, hfo_err *err);
static inline hfo_status hfo_enc_reserve(hfo_encoding *e, size_t extra, hfo_err *err)
{
    return e->len + extra <= e->cap ? HFO_OK : hfo_enc_grow(e, extra, err);
}
/* Empty e (and free its overflowings) but keep its arrays for reuse. */
void hfo_enc_reset(hfo_encoding *e);
/* Free e's overflowing parts only. */
void hfo_enc_drop_overflow(hfo_encoding *e);
static inline void hfo_enc_push(hfo_encoding *e, int32_t id, int32_t type_id, uint8_t special,
                                uint32_t s, uint32_t end, int32_t word)
{
    size_t i = e->len++;
    e->ids[i] = id;
    e->type_ids[i] = type_id;
    e->special[i] = special;
    e->offsets[2 * i] = s;
    e->offsets[2 * i + 1] = end;
    e->words[i] = word;
}
/* Encoding::set_sequence_id: all of e (and of each overflowing part) is sequence s. */
void hfo_enc_set_sequence(hfo_encoding *e, int s);
hfo_status hfo_enc_clone(const hfo_encoding *src, hfo_encoding *dst, hfo_err *err);
/* Encoding::truncate, direction right (left = 0) or left */
hfo_status hfo_enc_truncate(hfo_encoding *e, size_t max_len, size_t stride, hfo_err *err);
hfo_status hfo_enc_truncate_dir(hfo_encoding *e, size_t max_len, size_t stride, int left, hfo_err *err);
/* Encoding::merge_with: self += pair (pair is consumed), overflows combined. */
hfo_status hfo_enc_merge_with(hfo_encoding *self, hfo_encoding *pair, hfo_err *err);
/* truncate_encodings (tokenizers/src/utils/truncation.rs) */
hfo_status hfo_enc_truncate_pair(hfo_encoding *a, hfo_encoding *b, hfo_trunc strategy,
                                 size_t max_length, size_t stride, hfo_err *err);
hfo_status hfo_enc_truncate_pair_dir(hfo_encoding *a, hfo_encoding *b, hfo_trunc strategy,
                                     size_t max_length, size_t stride, int left, hfo_err *err);

/* ---- postproc_template.c ------------------------------------------------ */
/* Where a walk over one sequence (added tokens, normalizer, pre-tokenizer,
 * model) hands its results: each word's pieces (offsets within ns, from the
 * word's start a) and each added token (offsets in the original text).
 * tokenizer.c encodes through it; tokens.c collects token strings.  Each
 * call is one split of tokenizers' PreTokenizedString, in order, so a sink
 * numbers words by counting its calls (Encoding.word_ids). */
typedef struct hfo_tok_sink {
    hfo_status (*word)(void *ctx, const hfo_norm *ns, uint32_t a, const hfo_pieces *p, hfo_err *err);
    hfo_status (*added)(void *ctx, int32_t id, uint32_t os, uint32_t oe, hfo_err *err);
    void *ctx;
    /* Optional: a word whose characters each keep their place, the original
     * text's [base, base + ends[n - 1]): token k is ids[k] over
     * [base + ends[k - 1], base + ends[k]) (ends[-1] = 0).  The same as word
     * with those pieces.  Walks look words up in the word cache only for a
     * sink that has it (a hit has no characters to give word). */
    hfo_status (*plain)(void *ctx, uint32_t base, const int32_t *ids, const uint8_t *ends, size_t n,
                        hfo_err *err);
} hfo_tok_sink;
/* The encoding sink (tokenizer.c): ids with offsets into the original
 * text, and word indices.  tokenizers numbers the splits of a text (each
 * sink call), while a pre-tokenized word's tokens all get the word's
 * position in the list.  Type ids and the special mask are left to the
 * caller (tokenizer.c fills them when a call truncates; the template sets
 * them otherwise).  walk_bert.c writes cached words straight into `out`
 * when a sink's plain is hfo_enc_plain. */
typedef struct hfo_enc_sink {
    hfo_encoding *out;
    int32_t word;   /* the next split's index, or the fixed one */
    int32_t step;   /* 1: count splits; 0: pre-tokenized word */
    int lean;       /* hfo_call.ids_only or no_offsets: offsets and word indices are not written */
} hfo_enc_sink;
hfo_status hfo_enc_plain(void *ctx, uint32_t base, const int32_t *ids, const uint8_t *ends,
                         size_t n, hfo_err *err);

/* Walk the sequence t (uses ws's scratch). */
hfo_status hfo_tok_walk(const hfo_tok *tok, hfo_ws *ws, const hfo_text *t, const hfo_tok_sink *sink,
                        hfo_err *err);

typedef struct hfo_template {
    hfo_piece *pieces;   /* ids arrays owned */
    size_t n;
    int set;
    /* what the pieces add up to, for an output's exact size: the special
     * ids, and how often each sequence appears (tokenizers accepts "$A $A") */
    size_t n_special, copies[2];
} hfo_template;
void hfo_template_free(hfo_template *t);
hfo_status hfo_template_init(hfo_template *t, const hfo_piece *pieces, size_t n, hfo_err *err);
size_t hfo_template_n_special(const hfo_template *t);
/* Apply: result in out (initialised by the caller, empty; its block from
 * arena when not NULL); a (and b) are left empty (hfo_enc_reset).  lean:
 * a's and b's offsets and word indices were not written (hfo_call.no_offsets)
 * and out's are left unwritten too. */
hfo_status hfo_template_apply(const hfo_template *t, hfo_encoding *a, hfo_encoding *b,
                              int add_special_tokens, int lean, hfo_arena *arena, hfo_encoding *out,
                              hfo_err *err);
/* The same for hfo_call.ids_only when nothing overflowed: out gets the ids
 * (a block of 4 bytes a token from arena, when not NULL) and the sequences'
 * ranges, its other arrays NULL. */
hfo_status hfo_template_apply_ids(const hfo_template *t, hfo_encoding *a, hfo_encoding *b,
                                  int add_special_tokens, hfo_arena *arena, hfo_encoding *out,
                                  hfo_err *err);

/* ---- normalizer_bert.c: pieces the fused BERT walk (walk_bert.c) shares */
#define HFO_BERT_MAX_OUT 32    /* most code points one input character becomes */
#define HFO_BERT_DROP 0xFF     /* hfo_bert_norm_ascii: the character is removed */
/* What each ASCII character becomes, or NULL when n is not a BertNormalizer. */
const uint8_t *hfo_bert_norm_ascii(const hfo_normalizer *n);
/* n is a BertNormalizer that keeps ASCII letters and digits (or lowers all
 * the letters), the space, and tab, line feed and carriage return as (or
 * as) whitespace: what walk_bert.c's 64-byte scan relies on. */
int hfo_bert_norm_scan_ok(const hfo_normalizer *n);
/* One non-ASCII, non-surrogate character's output (see normalizer_bert.c),
 * remembered per code point below 0x10000; _direct: worked out afresh
 * (what the memo holds, for tests). */
size_t hfo_bert_norm_char(const hfo_normalizer *n, uint32_t c, uint32_t *out, int *mark);
size_t hfo_bert_norm_char_direct(const hfo_normalizer *n, uint32_t c, uint32_t *out, int *mark);
/* In hfo_bert_norm_char's output: a mark strip_accents removes, kept until
 * canonical ordering (it moves the marks around it) has run. */
#define HFO_MARK_STRIP 0x80000000u
/* What hfo_bert_norm_char's *mark reports: a mark canonical ordering may
 * move, and one it keeps (then ordering can change offsets); a flagged
 * stripped mark (only removing them is needed without the first). */
#define HFO_MARKS_REORDER 1
#define HFO_MARKS_STRIPPED 2
/* With HFO_MARKS_REORDER in marks: NFD's canonical ordering of combining
 * marks over ns[from, len); then the HFO_MARK_STRIP marks removed (len may
 * shrink). */
void hfo_norm_reorder_marks(hfo_norm *ns, size_t from, int marks);
/* pretok_bert.c */
int hfo_pretok_is_bert(const hfo_pretok *p);
/* walk_bert.c: BertNormalizer, BertPreTokenizer and the model in one pass
 * over raw text[begin, end), each word handed to the sink as it ends.  The
 * same result as normalizing, splitting and tokenizing stage by stage. */
hfo_status hfo_walk_bert(const hfo_tok *tok, hfo_ws *ws, const hfo_text *t, size_t begin,
                         size_t end, const hfo_tok_sink *sink, hfo_err *err);

/* ---- normalizer_precompiled.c: pieces the fused T5 walk (walk_t5.c) shares
 * The normalizer as steps: each turns original characters [i, next) into
 * zero or more characters, and hfo_pc_align gives every output character
 * its alignment as NormalizedString::transform does over spm_precompiled's
 * change list, streaming (the one look back: a step that outputs nothing
 * changes the character before it). */
typedef struct hfo_pc_step {
    size_t next, old;      /* consumed original characters [i, next), old = next - i */
    size_t n, cap;
    uint32_t *cp;          /* output cp[0, n): local or malloc'ed (hfo_pc_step_free) */
    uint32_t local[32];
} hfo_pc_step;
void hfo_pc_step_init(hfo_pc_step *st);
void hfo_pc_step_free(hfo_pc_step *st);
/* BMP characters no rule changes when they are a cluster alone (bitmap), or
 * NULL when n is not a Precompiled normalizer. */
const uint64_t *hfo_pc_same(const hfo_normalizer *n);
/* Of those, the plain ones that are not whitespace: a run of them followed
 * by a plain character (or the end) is copied as it is into a word. */
const uint64_t *hfo_pc_word(const hfo_normalizer *n);
/* BMP characters of grapheme class Other, CR, LF or Control: between two of
 * them there is a break (except CR LF), so each is a cluster alone. */
extern uint64_t hfo_pc_plain[1024];
static inline int hfo_bit(const uint64_t *bits, uint32_t c)
{
    return c < 0x10000 && (bits[c >> 6] >> (c & 63) & 1);
}
/* The step at t[i] (i < end).  *per_char_end: the end of the cluster being
 * normalized character by character (0 at the start of the text). */
hfo_status hfo_pc_step_at(const hfo_normalizer *n, const hfo_text *t, size_t i, size_t end,
                          size_t *per_char_end, hfo_pc_step *st, hfo_err *err);
/* The step of a plain character that is a cluster alone. */
hfo_status hfo_pc_step_char(const hfo_normalizer *n, uint32_t c, hfo_pc_step *st, hfo_err *err);

typedef struct hfo_pc_align {
    size_t begin, n_old, j;  /* j: original characters the entries so far account for */
    int have_prev;           /* an entry was output for this text */
    int32_t prev_ch;         /* its change (> 0: inserted) */
    size_t prev_j;           /* j when it was output */
} hfo_pc_align;
static inline void hfo_pc_align_init(hfo_pc_align *a, size_t begin, size_t end)
{
    a->begin = begin;
    a->n_old = end - begin;
    a->j = 0;
    a->have_prev = 0;
    a->prev_ch = 0;
    a->prev_j = 0;
}
/* m characters output unchanged, each its own cluster (a copied run):
 * what m calls of hfo_pc_align_next with change 0 leave. */
static inline void hfo_pc_align_run(hfo_pc_align *a, size_t m)
{
    a->j += m;
    a->have_prev = 1;
    a->prev_ch = 0;
    a->prev_j = a->j - 1;
}
/* Alignment [*s, *e) of the next output character, whose change is ch: 1
 * for a character a step inserted beyond its original count, -d for a
 * step's last character when it had d fewer than the original, else 0. */
static inline void hfo_pc_align_next(hfo_pc_align *a, int32_t ch, uint32_t *s, uint32_t *e)
{
    a->have_prev = 1;
    a->prev_ch = ch;
    a->prev_j = a->j;
    if (ch > 0) {
        *s = (uint32_t)(a->j ? a->begin + a->j - 1 : a->begin);
        *e = a->j ? *s + 1 : *s;
        return;
    }
    size_t jj = a->j < a->n_old ? a->j : a->n_old - 1;  /* cannot happen; never read past */
    *s = (uint32_t)(a->begin + jj);
    *e = *s + 1;
    a->j += 1 + (size_t)(-(int64_t)ch);
}
/* A step that output nothing for `old` characters: the previous output
 * character absorbs them (lost when there is none).  Returns 1 when that
 * character's alignment changes, to [*s, *e). */
static inline int hfo_pc_align_removed(hfo_pc_align *a, size_t old, uint32_t *s, uint32_t *e)
{
    if (!a->have_prev)
        return 0;
    if (a->prev_ch > 0) {
        /* an inserted character becomes an ordinary one */
        a->prev_ch = 1 - (int32_t)old;
        size_t jj = a->prev_j < a->n_old ? a->prev_j : a->n_old - 1;
        *s = (uint32_t)(a->begin + jj);
        *e = *s + 1;
        a->j = a->prev_j + old;
        return 1;
    }
    a->prev_ch -= (int32_t)old;
    a->j += old;
    return 0;
}
/* The change of output character k of a step (n out for old in). */
static inline int32_t hfo_pc_change(size_t k, size_t n, size_t old)
{
    if (n > old)
        return k >= old ? 1 : 0;
    return n < old && k == n - 1 ? -(int32_t)(old - n) : 0;
}

/* ---- pretok_metaspace.c ------------------------------------------------- */
/* Rust's char::is_whitespace (White_Space), what WhitespaceSplit splits at */
static inline int hfo_is_white_space(uint32_t c)
{
    if (c > 0x20 && c < 0x80)
        return 0;
    if (c < 0x80)
        return c == ' ' || (c >= 0x09 && c <= 0x0D);
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
           c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}
/* The settings of a Metaspace pre-tokenizer (1), or 0 when p is another. */
int hfo_pretok_metaspace_get(const hfo_pretok *p, uint32_t *repl, int *prepend, int *split,
                             int *ws_split);
/* walk_t5.c: the Precompiled normalizer, WhitespaceSplit + Metaspace and the
 * model in one pass over raw text[begin, end), each word handed to the sink
 * as it ends; the stage-by-stage walk's result.  hfo_walk_t5_applies says
 * whether tok has those stages (and no normalized added tokens). */
int hfo_walk_t5_applies(const hfo_tok *tok);
hfo_status hfo_walk_t5(const hfo_tok *tok, hfo_ws *ws, const hfo_text *t, size_t begin,
                       size_t end, const hfo_tok_sink *sink, hfo_err *err);

/* ---- the tokenizer ------------------------------------------------------ */
struct hfo_tok {
    hfo_normalizer *normalizer;
    hfo_pretok *pretok;
    hfo_model *model;
    hfo_added_set added;
    int has_raw_added, has_norm_added;
    hfo_template single, pair;
};

#endif
