/* tok.h: the tokenizer engine's public API (Python-free).
 *
 * A tokenizer is a pipeline of stages, the same as Hugging Face `tokenizers`:
 *   added tokens (matched in the raw text) -> normalizer -> pre-tokenizer
 *   -> model -> post-processor (truncation, template) -> padding (by caller)
 * Each stage is a small vtable (tok_internal.h); BERT plugs in
 * normalizer_bert.c, pretok_bert.c, model_wordpiece.c and
 * postproc_template.c.  Text comes in as code units of width 1, 2 or 4 (the
 * three layouts of a CPython str, but nothing here knows about Python), and
 * offsets come out in code points of that text.
 *
 *     hfo_err err;
 *     hfo_tok *tok = hfo_tok_new();                      // caller frees: hfo_tok_free
 *     hfo_tok_set_normalizer(tok, hfo_normalizer_bert_new(1, 1, 1, 1));
 *     hfo_tok_set_pretok(tok, hfo_pretok_bert_new());
 *     hfo_model *wp = hfo_wordpiece_new(100, 100, "##"); // unk id, max chars, prefix
 *     hfo_wordpiece_add(wp, cps, n, id, &err);           // once per vocab entry
 *     hfo_wordpiece_finish(wp);                          // words may be cached
 *     hfo_tok_set_model(tok, wp);                        // tok owns wp from here
 *     hfo_tok_set_template(tok, 0, pieces, n_pieces, &err);
 *     hfo_text t = {"hello world", 11, 1};
 *     hfo_call call = HFO_CALL_DEFAULT;
 *     hfo_encoding enc;                                  // caller frees: hfo_enc_free
 *     if (hfo_tok_encode(tok, ws, &t, NULL, &call, &enc, &err) != HFO_OK) ...
 *
 * Errors: every fallible function returns an hfo_status and fills an
 * hfo_err with a message; the glue turns it into an exception.
 * Thread safety: a configured hfo_tok is read-only during encoding; each
 * thread uses its own hfo_ws (workspace).
 */
#ifndef HFO_TOK_H
#define HFO_TOK_H

#include "common/arena.h"

#include <stddef.h>
#include <stdint.h>

typedef enum hfo_status {
    HFO_OK = 0,
    HFO_ERR_NOMEM = 1,
    HFO_ERR_INPUT = 2,   /* bad text (lone surrogate) or bad call arguments */
    HFO_ERR_CONFIG = 3,  /* bad tokenizer configuration */
} hfo_status;

typedef struct hfo_err {
    hfo_status code;
    char msg[256];
} hfo_err;

/* Record an error; returns code so callers can `return hfo_err_set(...)`. */
hfo_status hfo_err_set(hfo_err *err, hfo_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A borrowed run of code units: kind 1 (Latin-1), 2 (UCS-2) or 4 (UCS-4). */
typedef struct hfo_text {
    const void *data;
    size_t len;
    int kind;
} hfo_text;

static inline uint32_t hfo_text_at(const hfo_text *t, size_t i)
{
    switch (t->kind) {
    case 1: return ((const uint8_t *)t->data)[i];
    case 2: return ((const uint16_t *)t->data)[i];
    default: return ((const uint32_t *)t->data)[i];
    }
}

/* One encoded sequence (or pair), with the overflowing parts truncation cut off. */
typedef struct hfo_encoding {
    int32_t *ids;
    int32_t *type_ids;
    uint8_t *special;     /* 1 for tokens the post-processor added */
    uint32_t *offsets;    /* 2 per token: [start, end) in code points */
    int32_t *words;       /* word index within its sequence; -1 for the post-processor's tokens */
    size_t len, cap;      /* the five arrays are one allocation starting at ids */
    /* tokenizers' sequence_ranges: tokens [seq_start[s], seq_end[s]) come from
     * sequence s (0 = text, 1 = text_pair) when bit s of seq_set is set */
    size_t seq_start[2], seq_end[2];
    unsigned seq_set;
    struct hfo_encoding *overflow;  /* owned array of n_overflow encodings */
    size_t n_overflow, cap_overflow;
    /* The arrays' block belongs to an hfo_arena (a batch's, see
     * hfo_tok_encode_batch_ex): hfo_enc_free leaves it alone, and the
     * arena must outlive the encoding. */
    unsigned char in_arena;
} hfo_encoding;

void hfo_enc_init(hfo_encoding *e);
/* Frees the arrays and the overflow list (recursively); e is re-initialised. */
void hfo_enc_free(hfo_encoding *e);
/* The same without re-initialising e, for an array of encodings about to be
 * freed itself. */
void hfo_enc_release(hfo_encoding *e);

typedef enum hfo_trunc {
    HFO_TRUNC_NONE = 0,
    HFO_TRUNC_LONGEST_FIRST = 1,
    HFO_TRUNC_ONLY_FIRST = 2,
    HFO_TRUNC_ONLY_SECOND = 3,
} hfo_trunc;

typedef struct hfo_call {
    int add_special_tokens;
    hfo_trunc truncation;
    size_t max_length;   /* used when truncation != NONE */
    size_t stride;
    int truncate_left;   /* truncation_side="left": keep the end of each sequence */
    int split_special;   /* split_special_tokens: special added tokens in the text are plain text */
    /* Only the ids are wanted (a ragged output): the encodings of the call
     * get ids and the sequences' ranges only; their other arrays are not
     * written (and NULL when nothing overflowed). */
    int ids_only;
    /* Offsets and word indices are not wanted: those two arrays of the
     * encodings are not written (the rest is as usual). */
    int no_offsets;
} hfo_call;

#define HFO_CALL_DEFAULT ((hfo_call){1, HFO_TRUNC_NONE, 0, 0, 0, 0, 0, 0})

/* Stage handles (opaque; see tok_internal.h). */
typedef struct hfo_normalizer hfo_normalizer;
typedef struct hfo_pretok hfo_pretok;
typedef struct hfo_model hfo_model;
typedef struct hfo_tok hfo_tok;
typedef struct hfo_ws hfo_ws;

/* Stage constructors: return NULL when out of memory; ownership passes to
 * the tokenizer with hfo_tok_set_*. */
hfo_normalizer *hfo_normalizer_bert_new(int clean_text, int handle_chinese_chars,
                                        int strip_accents, int lowercase);
hfo_pretok *hfo_pretok_bert_new(void);
hfo_model *hfo_wordpiece_new(int32_t unk_id, size_t max_input_chars_per_word,
                             const uint32_t *prefix, size_t prefix_len);
/* Add one vocabulary entry (code points, not NUL terminated). */
hfo_status hfo_wordpiece_add(hfo_model *m, const uint32_t *cps, size_t n, int32_t id, hfo_err *err);
/* After the entries: the walks may cache words' tokens again (an addition
 * turns that off). */
void hfo_wordpiece_finish(hfo_model *m);

/* Tokenizer. Caller frees with hfo_tok_free (which frees the stages). */
hfo_tok *hfo_tok_new(void);
void hfo_tok_free(hfo_tok *tok);
void hfo_tok_set_normalizer(hfo_tok *tok, hfo_normalizer *n);   /* takes ownership */
void hfo_tok_set_pretok(hfo_tok *tok, hfo_pretok *p);           /* takes ownership */
void hfo_tok_set_model(hfo_tok *tok, hfo_model *m);             /* takes ownership */

/* Added tokens (tokenizer.json "added_tokens"). Content is copied. */
enum {
    HFO_ADDED_SPECIAL = 1, HFO_ADDED_NORMALIZED = 2, HFO_ADDED_LSTRIP = 4,
    HFO_ADDED_RSTRIP = 8, HFO_ADDED_SINGLE_WORD = 16,
};
hfo_status hfo_tok_add_token(hfo_tok *tok, const uint32_t *cps, size_t n, int32_t id,
                             unsigned flags, hfo_err *err);

/* Post-processor template (TemplateProcessing): pieces of a single (pair=0)
 * or pair (pair=1) template.  A piece is a sequence (seq = 0 for A, 1 for B;
 * ids NULL) or a special token (seq = -1; n_ids ids, copied). */
typedef struct hfo_piece {
    int seq;
    int32_t type_id;
    const int32_t *ids;
    size_t n_ids;
} hfo_piece;
hfo_status hfo_tok_set_template(hfo_tok *tok, int pair, const hfo_piece *pieces, size_t n,
                                hfo_err *err);
/* How many tokens the template adds for a single (pair=0) or pair input. */
size_t hfo_tok_n_special(const hfo_tok *tok, int pair);

/* Run only the normalizer over t: *out is a malloc'ed array of *n_out code
 * points the caller frees with free(). */
hfo_status hfo_tok_normalize(const hfo_tok *tok, const hfo_text *t, uint32_t **out, size_t *n_out,
                             hfo_err *err);

/* Per-thread scratch space. Caller frees with hfo_ws_free. NULL on OOM. */
hfo_ws *hfo_ws_new(void);
void hfo_ws_free(hfo_ws *ws);

/* Encode one sequence (b == NULL) or pair: added tokens, normalizer,
 * pre-tokenizer, model, truncation and template.  *out is initialised by the
 * call and owned by the caller (hfo_enc_free), also on error. */
hfo_status hfo_tok_encode(const hfo_tok *tok, hfo_ws *ws, const hfo_text *a, const hfo_text *b,
                          const hfo_call *call, hfo_encoding *out, hfo_err *err);

/* Encode n items on the thread pool (nthreads <= 0: all of the pool).
 * out[i] is initialised for every i and owned by the caller.  On error the
 * first failing item's index is stored in *bad_index. */
hfo_status hfo_tok_encode_batch(const hfo_tok *tok, const hfo_text *a, const hfo_text *b,
                                size_t n, const hfo_call *call, int nthreads,
                                hfo_encoding *out, size_t *bad_index, hfo_err *err);

/* The same, reporting progress so the caller can use finished items while
 * the rest are encoded: done[i] (n flags, zeroed by the caller) is set,
 * with release ordering, once out[i] is final (also when it failed), and
 * progress(ctx) runs on the calling thread after each item that thread
 * encoded.  Either may be NULL.  With an arena, the encodings' blocks come
 * from it (it must outlive them); NULL: each encoding owns its block. */
typedef void (*hfo_batch_progress)(void *ctx);
hfo_status hfo_tok_encode_batch_ex(const hfo_tok *tok, const hfo_text *a, const hfo_text *b,
                                   size_t n, const hfo_call *call, int nthreads,
                                   hfo_encoding *out, hfo_arena *arena, _Atomic unsigned char *done,
                                   hfo_batch_progress progress, void *progress_ctx,
                                   size_t *bad_index, hfo_err *err);

/* A pre-tokenized sequence (transformers' is_split_into_words=True): n
 * words, borrowed.  As tokenizers does, each word goes through the whole
 * pipeline on its own: its tokens get word index = its position in the list
 * and offsets relative to the word, and an empty word gives no token. */
typedef struct hfo_words {
    const hfo_text *w;
    size_t n;
} hfo_words;

/* hfo_tok_encode / hfo_tok_encode_batch_ex for pre-tokenized sequences (b,
 * the pairs, may be NULL).  Same ownership and errors (done, progress may be
 * NULL); on error in a word the message names the word's index. */
hfo_status hfo_tok_encode_words(const hfo_tok *tok, hfo_ws *ws, const hfo_words *a,
                                const hfo_words *b, const hfo_call *call, hfo_encoding *out,
                                hfo_err *err);
hfo_status hfo_tok_encode_words_batch(const hfo_tok *tok, const hfo_words *a, const hfo_words *b,
                                      size_t n, const hfo_call *call, int nthreads,
                                      hfo_encoding *out, hfo_arena *arena,
                                      _Atomic unsigned char *done,
                                      hfo_batch_progress progress, void *progress_ctx,
                                      size_t *bad_index, hfo_err *err);

/* ---- tokens.c: the token strings of one sequence (tokenizers'
 * Encoding.tokens, before truncation and the post-processor) ----------------
 * A second walk over the same input: token k has id ids[k], offsets
 * offsets[2k], offsets[2k+1] and word words[k] as the encoding has them, and
 * the string cps[start[k], start[k + 1]): for an added token matched in the
 * text (added[k] = 1) the text it matched (normalized for a normalized token,
 * with the spaces lstrip/rstrip took), for a model token the normalized text
 * it covers (what a Unigram token is; a WordPiece token's string is its
 * vocabulary entry, which the caller looks up). */
typedef struct hfo_tok_strings {
    size_t n, cap;
    int32_t *ids;
    uint8_t *added;     /* 1: an added token matched in the text */
    uint32_t *offsets;  /* 2 per token, as hfo_encoding's */
    int32_t *words;
    size_t *start;      /* n + 1 entries */
    uint32_t *cps;
    size_t n_cps, cap_cps;
} hfo_tok_strings;
/* Fill *s for a text (t) or a pre-tokenized sequence (words, when t is
 * NULL), special tokens in the text split as hfo_call.split_special says.
 * Caller frees with hfo_tok_strings_free, also on error. */
hfo_status hfo_tok_strings_of(const hfo_tok *tok, const hfo_text *t, int split_special,
                              hfo_tok_strings *s, hfo_err *err);
hfo_status hfo_tok_strings_of_words(const hfo_tok *tok, const hfo_words *words, int split_special,
                                    hfo_tok_strings *s, hfo_err *err);
void hfo_tok_strings_free(hfo_tok_strings *s);
/* Which token of s each token e[start, end) of sequence is: the tokens of
 * one sequence in an encoding (after truncation, in an overflowing part
 * too) are a contiguous run of its walk, found by id, offsets and word.
 * idx[k - start] = the index into s, or -1 if no run matches (then every
 * entry is -1). */
void hfo_tok_strings_align(const hfo_tok_strings *s, const hfo_encoding *e, size_t start,
                           size_t end, long *idx);

/* Thread pool (threadpool.c): fn(ctx, i) is called once for every i < n,
 * spread over up to nthreads threads (the caller's included). Safe to call
 * from several threads (a busy pool runs the job on the caller alone) and
 * after fork() (the child builds a fresh pool).  hfo_pool_run gives worker
 * w mostly the same part of the items, [w n / W, (w + 1) n / W), job after
 * job; hfo_pool_run_in_order starts the items about in index order, for a
 * caller that uses the finished items from the front while the job runs. */
typedef void (*hfo_pool_fn)(void *ctx, size_t i, int worker);
void hfo_pool_run(size_t n, int nthreads, hfo_pool_fn fn, void *ctx);
void hfo_pool_run_in_order(size_t n, int nthreads, hfo_pool_fn fn, void *ctx);
int hfo_pool_default_threads(void);
/* Stop and join the idle workers; the next hfo_pool_run starts new ones.
 * While a job runs it does nothing (it must not wait: the job may need the
 * GIL that a thread about to fork holds). */
void hfo_pool_shutdown(void);
void hfo_pool_set_threads(int n);   /* <= 0: back to the number of cores */
int hfo_pool_get_threads(void);

#endif
