/* tok_core.c: drives the Python-free tokenizer engine directly, so it runs
 * under AddressSanitizer/UBSan/LeakSanitizer (tests/test_tokenizer_core.py
 * builds and runs it).  A deterministic fuzz loop: random texts of every
 * code-unit width (ASCII, accents, combining marks, CJK, emoji, controls,
 * NUL, U+FFFD, U+2028, the added tokens, now and then a lone surrogate)
 * through every truncation strategy, stride, pair/single and the thread
 * pool, as texts and as pre-tokenized word lists; checks the invariants
 * every encoding must keep (word indices and sequence ranges included), that
 * a batch on the pool equals the same items encoded one by one, that word
 * lists encode as their words one by one, and that every token of every row
 * is found among its sequence's token strings (tokens.c).  And the fused
 * BERT walk (walk_bert.c) against the stages one after the other, on texts
 * of repeating words: without its word cache (a sink taking no plain words)
 * and with it, words missed and then found.  Expected token
 * values are checked by the Python tests against `tokenizers`; the one
 * literal below is the reference's own unit-test example. */
#include "tok/tok.h"
#include "staged_walk.h"
#include "utf8_cps.h"

#include <stdint.h>
#include <stdio.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif
#include <stdlib.h>
#include <string.h>

static int failures;
static long n_ok, n_err, n_overflow, n_tokens;
#define CHECK(cond, ...) do { if (!(cond)) { fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); failures++; } } while (0)

static const char *VOCAB[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "ba", "##na", "un", "##aff",
                              "##able", "a", "b", "##b", "hello", "world", "!", "##s", ",", "e", "##e",
                              "x", "##x", "\xe4\xb8\xad", "##\xcc\x81", "i"};

/* BERT's stages over VOCAB: no added tokens, no post-processor. */
static hfo_tok *build_stages(int lowercase)
{
    hfo_err err;
    uint32_t buf[64];
    hfo_tok *tok = hfo_tok_new();
    CHECK(tok != NULL, "tok_new");
    hfo_tok_set_normalizer(tok, hfo_normalizer_bert_new(1, 1, lowercase, lowercase));
    hfo_tok_set_pretok(tok, hfo_pretok_bert_new());
    uint32_t prefix[2] = {'#', '#'};
    hfo_model *wp = hfo_wordpiece_new(1, 12, prefix, 2);
    for (size_t i = 0; i < sizeof VOCAB / sizeof VOCAB[0]; i++) {
        size_t n = utf8_to_cps(VOCAB[i], strlen(VOCAB[i]), buf);
        CHECK(hfo_wordpiece_add(wp, buf, n, (int32_t)i, &err) == HFO_OK, "add %s", VOCAB[i]);
    }
    CHECK(wp->word_tag == 0, "a vocabulary being built is not cached");
    hfo_wordpiece_finish(wp);
    CHECK(wp->word_tag != 0, "a finished vocabulary is cached");
    hfo_tok_set_model(tok, wp);
    return tok;
}

/* The stages, BERT's special tokens, two user-added ones and the template. */
static hfo_tok *build(int lowercase)
{
    hfo_err err;
    uint32_t buf[64];
    hfo_tok *tok = build_stages(lowercase);
    struct { const char *s; unsigned flags; } added[] = {
        {"[PAD]", HFO_ADDED_SPECIAL}, {"[UNK]", HFO_ADDED_SPECIAL}, {"[CLS]", HFO_ADDED_SPECIAL},
        {"[SEP]", HFO_ADDED_SPECIAL}, {"[MASK]", HFO_ADDED_SPECIAL | HFO_ADDED_LSTRIP},
        {"<tag>", HFO_ADDED_NORMALIZED}, {"MY", HFO_ADDED_RSTRIP | HFO_ADDED_SINGLE_WORD},
    };
    for (size_t i = 0; i < sizeof added / sizeof added[0]; i++) {
        size_t n = utf8_to_cps(added[i].s, strlen(added[i].s), buf);
        CHECK(hfo_tok_add_token(tok, buf, n, i < 5 ? (int32_t)i : (int32_t)(100 + i), added[i].flags, &err) == HFO_OK,
              "add token");
    }
    int32_t cls = 2, sep = 3;
    hfo_piece single[3] = {{-1, 0, &cls, 1}, {0, 0, NULL, 0}, {-1, 0, &sep, 1}};
    hfo_piece pair[5] = {{-1, 0, &cls, 1}, {0, 0, NULL, 0}, {-1, 0, &sep, 1}, {1, 1, NULL, 0}, {-1, 1, &sep, 1}};
    CHECK(hfo_tok_set_template(tok, 0, single, 3, &err) == HFO_OK, "template");
    CHECK(hfo_tok_set_template(tok, 1, pair, 5, &err) == HFO_OK, "template");
    return tok;
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static const uint32_t PALETTE[] = {
    'a', 'b', 'n', 'u', 'x', 'e', 'B', 'A', 'N', ' ', ' ', ' ', '\t', '\n', '!', ',', '.', '#', '[', ']',
    0x00E9, 0x0301, 0x0316, 0x0130, 0x00DF, 0x03A3, 0x4E2D, 0x3042, 0xFF21, 0x2028, 0x00A0, 0x200B,
    0x0000, 0xFFFD, 0x0007, 0x1F600, 0x1F3FD, 0x20000, 0x1D165, 0xE000,
};

static void random_text(uint32_t *cps, size_t *n, int allow_surrogate)
{
    static const char *chunks[] = {"[CLS]", "[MASK]", " [MASK]", "<tag>", "<TAG>", "MY ", "MY", "banana", "unaffable",
                                   "hello", "world", "xxxxxxxxxxxxxxxxxxxx"};
    size_t len = rnd(40), k = 0;
    while (k < len) {
        if (rnd(6) == 0) {
            uint32_t tmp[32];
            const char *chunk = chunks[rnd(sizeof chunks / sizeof chunks[0])];
            size_t m = utf8_to_cps(chunk, strlen(chunk), tmp);
            for (size_t j = 0; j < m && k < 60; j++)
                cps[k++] = tmp[j];
        } else {
            cps[k++] = PALETTE[rnd(sizeof PALETTE / sizeof PALETTE[0])];
        }
    }
    if (allow_surrogate && len && rnd(50) == 0)
        cps[rnd((uint32_t)len)] = 0xD800 + rnd(0x800);
    *n = k;
}

/* The text in its narrowest CPython-like layout. */
static void *pack(const uint32_t *cps, size_t n, int *kind)
{
    uint32_t mx = 0;
    for (size_t i = 0; i < n; i++)
        if (cps[i] > mx)
            mx = cps[i];
    *kind = mx < 0x100 ? 1 : mx < 0x10000 ? 2 : 4;
    void *p = malloc(n * (size_t)*kind + 1);
    for (size_t i = 0; i < n; i++) {
        if (*kind == 1) ((uint8_t *)p)[i] = (uint8_t)cps[i];
        else if (*kind == 2) ((uint16_t *)p)[i] = (uint16_t)cps[i];
        else ((uint32_t *)p)[i] = cps[i];
    }
    return p;
}

/* The invariants of every encoding (and overflowing part): offsets inside
 * the input, special tokens (the template's) with no offsets and no word,
 * the sequence ranges of a template-made encoding covering exactly the
 * other tokens, in order, with the pair's type id, word indices never going
 * down inside a range (truncation keeps contiguous runs).  For pre-tokenized
 * input, la/lb are the longest word, and words are below n_words. */
static void check_encoding(const hfo_encoding *e, size_t la, size_t lb, int pair, long n_words)
{
    size_t lim = la > lb ? la : lb;
    for (size_t i = 0; i < e->len; i++) {
        uint32_t s = e->offsets[2 * i], t = e->offsets[2 * i + 1];
        CHECK(s <= t && t <= lim, "offsets (%u, %u) outside [0, %zu]", s, t, lim);
        if (e->special[i])
            CHECK(s == 0 && t == 0 && e->words[i] == -1, "special token with offsets or a word");
        else
            CHECK(e->words[i] >= 0 && (n_words < 0 || e->words[i] < n_words), "word %d", e->words[i]);
        CHECK(e->ids[i] >= 0 && e->ids[i] < 200, "id %d", e->ids[i]);
        CHECK(e->type_ids[i] == 0 || e->type_ids[i] == 1, "type id");
        int in = 0;
        for (int q = 0; q < 2; q++)
            if ((e->seq_set >> q & 1) && e->seq_start[q] <= i && i < e->seq_end[q]) {
                in++;
                CHECK(e->type_ids[i] == q, "token %zu of sequence %d has type id %d", i, q, e->type_ids[i]);
            }
        CHECK(in == !e->special[i], "token %zu is in %d sequence ranges (special %d)", i, in, e->special[i]);
    }
    CHECK(e->seq_set == (pair ? 3u : 1u), "sequence ranges set: %u", e->seq_set);
    for (int q = 0; q < 2; q++) {
        if (!(e->seq_set >> q & 1))
            continue;
        CHECK(e->seq_start[q] <= e->seq_end[q] && e->seq_end[q] <= e->len, "range %d", q);
        for (size_t i = e->seq_start[q] + 1; i < e->seq_end[q] && i < e->len; i++)
            CHECK(e->words[i] >= e->words[i - 1], "word ids go down at %zu", i);
    }
    if (pair && e->seq_set == 3u)
        CHECK(e->seq_end[0] <= e->seq_start[1], "sequence 1 before sequence 0");
    for (size_t k = 0; k < e->n_overflow; k++)
        check_encoding(&e->overflow[k], la, lb, pair, n_words);
}

static int same(const hfo_encoding *x, const hfo_encoding *y)
{
    if (x->len != y->len || x->n_overflow != y->n_overflow || x->seq_set != y->seq_set)
        return 0;
    for (int q = 0; q < 2; q++)
        if ((x->seq_set >> q & 1) && (x->seq_start[q] != y->seq_start[q] || x->seq_end[q] != y->seq_end[q]))
            return 0;
    if (x->len && (memcmp(x->ids, y->ids, x->len * 4) || memcmp(x->type_ids, y->type_ids, x->len * 4) ||
                   memcmp(x->special, y->special, x->len) || memcmp(x->offsets, y->offsets, x->len * 8) ||
                   memcmp(x->words, y->words, x->len * 4)))
        return 0;
    for (size_t k = 0; k < x->n_overflow; k++)
        if (!same(&x->overflow[k], &y->overflow[k]))
            return 0;
    return 1;
}

/* Every token of every row (overflowing parts too) is found among the
 * token strings of a new walk over its sequence (with the call's
 * split_special), strings non-empty. */
static void check_strings(const hfo_tok *tok, int split_special, const hfo_text *ta,
                          const hfo_words *wa, const hfo_text *tb, const hfo_words *wb,
                          const hfo_encoding *e)
{
    for (int q = 0; q < 2; q++) {
        if (!(e->seq_set >> q & 1) || (q == 1 && tb == NULL && wb == NULL))
            continue;
        hfo_tok_strings s;
        hfo_err err;
        const hfo_text *t = q ? tb : ta;
        const hfo_words *w = q ? wb : wa;
        hfo_status st = t ? hfo_tok_strings_of(tok, t, split_special, &s, &err)
                          : hfo_tok_strings_of_words(tok, w, split_special, &s, &err);
        CHECK(st == HFO_OK, "strings: %s", err.msg);
        size_t a = e->seq_start[q], b = e->seq_end[q];
        long idx[512];
        if (st == HFO_OK && b - a <= 512) {
            hfo_tok_strings_align(&s, e, a, b, idx);
            for (size_t k = a; k < b; k++) {
                long j = idx[k - a];
                CHECK(j >= 0, "token %zu of sequence %d not found among its strings", k, q);
                if (j >= 0)
                    CHECK(s.start[j + 1] > s.start[j], "empty token string");
            }
        }
        hfo_tok_strings_free(&s);
    }
    for (size_t k = 0; k < e->n_overflow; k++)
        check_strings(tok, split_special, ta, wa, tb, wb, &e->overflow[k]);
}

#define N_ITEMS 64

static void fuzz(hfo_tok *tok, int rounds)
{
    hfo_ws *ws = hfo_ws_new();
    CHECK(ws != NULL, "ws");
    for (int r = 0; r < rounds; r++) {
        hfo_call call = HFO_CALL_DEFAULT;
        call.add_special_tokens = rnd(4) != 0;
        call.truncation = (hfo_trunc)rnd(4);
        call.max_length = rnd(24);
        call.stride = rnd(6);
        call.truncate_left = rnd(2);
        call.split_special = rnd(2);
        int with_pair = rnd(2);
        static uint32_t cps[2][N_ITEMS][64];
        size_t ns[2][N_ITEMS];
        hfo_text ta[N_ITEMS], tb[N_ITEMS];
        void *bufs[2][N_ITEMS];
        for (int i = 0; i < N_ITEMS; i++) {
            for (int s = 0; s < 2; s++) {
                random_text(cps[s][i], &ns[s][i], 1);
                int kind;
                bufs[s][i] = pack(cps[s][i], ns[s][i], &kind);
                hfo_text t = {bufs[s][i], ns[s][i], kind};
                if (s == 0) ta[i] = t; else tb[i] = t;
            }
        }
        hfo_encoding batch[N_ITEMS];
        hfo_err berr;
        size_t bad = 0;
        /* half the batches put their encodings in an arena */
        hfo_arena arena = {0};
        hfo_status bst = hfo_tok_encode_batch_ex(tok, ta, with_pair ? tb : NULL, N_ITEMS, &call,
                                                 2 + rnd(3), batch, rnd(2) ? &arena : NULL, NULL,
                                                 NULL, NULL, &bad, &berr);
        /* the same batch for ids only (a ragged output): the same ids and ranges */
        hfo_call ids_call = call;
        ids_call.ids_only = 1;
        hfo_encoding ids_batch[N_ITEMS];
        hfo_err ierr;
        size_t ibad = 0;
        hfo_arena ids_arena = {0};
        hfo_status ist = hfo_tok_encode_batch_ex(tok, ta, with_pair ? tb : NULL, N_ITEMS, &ids_call,
                                                 1 + rnd(3), ids_batch, rnd(2) ? &ids_arena : NULL,
                                                 NULL, NULL, NULL, &ibad, &ierr);
        CHECK(ist == bst && (ist == HFO_OK || ibad == bad), "ids only: status %d (item %zu), full %d (%zu)",
              ist, ibad, bst, bad);
        size_t first_bad = N_ITEMS;
        for (int i = 0; i < N_ITEMS; i++) {
            hfo_encoding one;
            hfo_err err;
            hfo_status st = hfo_tok_encode(tok, ws, &ta[i], with_pair ? &tb[i] : NULL, &call, &one, &err);
            if (st == HFO_OK && ist == HFO_OK) {
                const hfo_encoding *e = &ids_batch[i];
                CHECK(e->len == one.len && (one.len == 0 || memcmp(e->ids, one.ids, one.len * 4) == 0),
                      "ids only: item %d's ids differ", i);
                CHECK(e->n_overflow == 0 && e->seq_set == one.seq_set, "ids only: item %d's ranges", i);
                for (int q = 0; q < 2; q++)
                    CHECK(!(one.seq_set & (1u << q)) ||
                          (e->seq_start[q] == one.seq_start[q] && e->seq_end[q] == one.seq_end[q]),
                          "ids only: item %d's range of sequence %d", i, q);
            }
            if (st == HFO_OK) {
                n_ok++;
                n_tokens += (long)one.len;
                n_overflow += (long)one.n_overflow;
                check_encoding(&one, ta[i].len, with_pair ? tb[i].len : 0, with_pair, -1);
                check_strings(tok, call.split_special, &ta[i], NULL, with_pair ? &tb[i] : NULL, NULL, &one);
                if (bst == HFO_OK)
                    CHECK(same(&one, &batch[i]), "batch item %d differs from the item alone", i);
            } else {
                n_err++;
                CHECK(st == HFO_ERR_INPUT, "unexpected status %d: %s", st, err.msg);
                CHECK(strlen(err.msg) > 0, "empty message");
                if (first_bad == N_ITEMS)
                    first_bad = (size_t)i;
            }
            hfo_enc_free(&one);
        }
        if (bst != HFO_OK)
            CHECK(bad == first_bad, "batch reported item %zu, first failing item is %zu", bad, first_bad);
        else
            CHECK(first_bad == N_ITEMS, "batch succeeded but item %zu fails alone", first_bad);
        for (int i = 0; i < N_ITEMS; i++) {
            hfo_enc_free(&batch[i]);
            hfo_enc_free(&ids_batch[i]);
            free(bufs[0][i]);
            free(bufs[1][i]);
        }
        hfo_arena_free(&arena);
        hfo_arena_free(&ids_arena);
    }
    hfo_ws_free(ws);
}

/* Pre-tokenized input: random texts cut at their spaces (so empty words
 * too).  A batch equals its items; every encoding keeps the invariants with
 * words below the word count and offsets inside the word; and with no
 * truncation and no special tokens the tokens are each word's own
 * encoding, one after the other, with word index = the word's position. */
static void fuzz_words(hfo_tok *tok, int rounds)
{
    hfo_ws *ws = hfo_ws_new();
    CHECK(ws != NULL, "ws");
    hfo_call plain = HFO_CALL_DEFAULT;
    plain.add_special_tokens = 0;
    for (int r = 0; r < rounds; r++) {
        hfo_call call = HFO_CALL_DEFAULT;
        call.add_special_tokens = rnd(4) != 0;
        call.truncation = (hfo_trunc)rnd(4);
        call.max_length = rnd(24);
        call.stride = rnd(6);
        call.truncate_left = rnd(2);
        call.split_special = rnd(2);
        int with_pair = rnd(2);
        static uint32_t cps[2][N_ITEMS][64];
        static hfo_text wtexts[2][N_ITEMS][64];
        hfo_words wa[N_ITEMS], wb[N_ITEMS];
        size_t longest[2][N_ITEMS];
        void *bufs[2][N_ITEMS];
        for (int i = 0; i < N_ITEMS; i++) {
            for (int q = 0; q < 2; q++) {
                size_t n;
                random_text(cps[q][i], &n, 1);
                int kind;
                bufs[q][i] = pack(cps[q][i], n, &kind);
                size_t nw = 0, start = 0;
                longest[q][i] = 0;
                for (size_t k = 0; k <= n; k++) {
                    if (k == n || cps[q][i][k] == ' ') {
                        if (k > start || rnd(2)) {  /* some empty words, not all */
                            wtexts[q][i][nw++] = (hfo_text){(char *)bufs[q][i] + start * (size_t)kind, k - start, kind};
                            if (k - start > longest[q][i])
                                longest[q][i] = k - start;
                        }
                        start = k + 1;
                    }
                }
                hfo_words w = {wtexts[q][i], nw};
                if (q == 0) wa[i] = w; else wb[i] = w;
            }
        }
        hfo_encoding batch[N_ITEMS];
        hfo_err berr;
        size_t bad = 0;
        static _Atomic unsigned char done[N_ITEMS];
        for (int i = 0; i < N_ITEMS; i++)
            done[i] = 0;
        hfo_arena arena = {0};
        hfo_status bst = hfo_tok_encode_words_batch(tok, wa, with_pair ? wb : NULL, N_ITEMS, &call,
                                                    2 + rnd(3), batch, &arena, done, NULL, NULL,
                                                    &bad, &berr);
        for (int i = 0; i < N_ITEMS; i++)
            CHECK(done[i] == 1, "words: item %d not marked done", i);
        size_t first_bad = N_ITEMS;
        for (int i = 0; i < N_ITEMS; i++) {
            hfo_encoding one, whole;
            hfo_err err;
            hfo_status st = hfo_tok_encode_words(tok, ws, &wa[i], with_pair ? &wb[i] : NULL, &call, &one, &err);
            if (st == HFO_OK) {
                n_ok++;
                long nw = (long)(wa[i].n > wb[i].n || !with_pair ? wa[i].n : wb[i].n);
                check_encoding(&one, longest[0][i], with_pair ? longest[1][i] : 0, with_pair, nw);
                check_strings(tok, call.split_special, NULL, &wa[i], NULL, with_pair ? &wb[i] : NULL, &one);
                if (bst == HFO_OK)
                    CHECK(same(&one, &batch[i]), "words: batch item %d differs from the item alone", i);
            } else {
                n_err++;
                CHECK(st == HFO_ERR_INPUT && strlen(err.msg) > 0, "unexpected error %d: %s", st, err.msg);
                if (first_bad == N_ITEMS)
                    first_bad = (size_t)i;
            }
            hfo_enc_free(&one);
            /* the words one by one */
            if (hfo_tok_encode_words(tok, ws, &wa[i], NULL, &plain, &whole, &err) == HFO_OK) {
                size_t at = 0;
                for (size_t w = 0; w < wa[i].n; w++) {
                    hfo_encoding alone;
                    if (hfo_tok_encode(tok, ws, &wa[i].w[w], NULL, &plain, &alone, &err) != HFO_OK) {
                        CHECK(0, "word %zu alone fails: %s", w, err.msg);
                        break;
                    }
                    for (size_t k = 0; k < alone.len; k++, at++) {
                        CHECK(at < whole.len && whole.ids[at] == alone.ids[k] && whole.words[at] == (int32_t)w &&
                              whole.offsets[2 * at] == alone.offsets[2 * k] &&
                              whole.offsets[2 * at + 1] == alone.offsets[2 * k + 1],
                              "item %d word %zu token %zu differs from the word alone", i, w, k);
                    }
                    hfo_enc_free(&alone);
                }
                CHECK(at == whole.len, "item %d: %zu tokens, the words alone give %zu", i, whole.len, at);
            }
            hfo_enc_free(&whole);
        }
        if (bst != HFO_OK)
            CHECK(bad == first_bad, "words: batch reported item %zu, first failing item is %zu", bad, first_bad);
        else
            CHECK(first_bad == N_ITEMS, "words: batch succeeded but item %zu fails alone", first_bad);
        for (int i = 0; i < N_ITEMS; i++) {
            hfo_enc_free(&batch[i]);
            free(bufs[0][i]);
            free(bufs[1][i]);
        }
        hfo_arena_free(&arena);
    }
    hfo_ws_free(ws);
}

/* Word indices of a text: each split of the pre-tokenizer, each added token
 * its own word, counted from 0 without gaps (a split always gives a token). */
static void word_ids(hfo_tok *tok)
{
    hfo_ws *ws = hfo_ws_new();
    hfo_call call = HFO_CALL_DEFAULT;
    call.add_special_tokens = 0;
    for (int r = 0; r < 300; r++) {
        uint32_t cps[64];
        size_t n;
        random_text(cps, &n, 0);
        int kind;
        void *buf = pack(cps, n, &kind);
        hfo_text t = {buf, n, kind};
        hfo_encoding e;
        hfo_err err;
        if (hfo_tok_encode(tok, ws, &t, NULL, &call, &e, &err) == HFO_OK) {
            for (size_t i = 0; i < e.len; i++)
                CHECK(e.words[i] == (i ? e.words[i - 1] : 0) || (i && e.words[i] == e.words[i - 1] + 1),
                      "word ids jump at token %zu", i);
        }
        hfo_enc_free(&e);
        free(buf);
    }
    hfo_ws_free(ws);
    /* a template piece must name sequence 0, 1 or a special token */
    hfo_piece bad[1] = {{2, 0, NULL, 0}};
    hfo_err err;
    CHECK(hfo_tok_set_template(tok, 0, bad, 1, &err) == HFO_ERR_CONFIG, "template with sequence 2");
}

static void banana(hfo_tok *tok)
{
    /* tokenizers' own WordPiece unit test: "banana" -> ba ##na ##na */
    hfo_ws *ws = hfo_ws_new();
    hfo_text t = {"banana", 6, 1};
    hfo_call call = HFO_CALL_DEFAULT;
    call.add_special_tokens = 0;
    hfo_encoding e;
    hfo_err err;
    CHECK(hfo_tok_encode(tok, ws, &t, NULL, &call, &e, &err) == HFO_OK, "encode");
    CHECK(e.len == 3 && e.ids[0] == 5 && e.ids[1] == 6 && e.ids[2] == 6, "banana");
    CHECK(e.len == 3 && e.offsets[2] == 2 && e.offsets[3] == 4 && e.offsets[5] == 6, "banana offsets");
    hfo_enc_free(&e);
    hfo_ws_free(ws);
}

/* The arena as the batches use it (raw blocks, one arena per worker, then
 * adopted): blocks of every size, small and bigger than a block, are
 * 16-aligned, writable to their end and disjoint; adopting moves
 * everything; freeing twice is harmless. */
static void arena_blocks(void)
{
    hfo_arena a = {0}, b = {0};
    enum { N = 3000 };
    static unsigned char *blocks[N];
    static size_t sizes[N];
    for (int i = 0; i < N; i++) {
        size_t n = i % 500 == 0 ? ((size_t)1 << 16) * (1 + rnd(80)) : 1 + rnd(3000);
        hfo_arena *into = i % 3 == 0 ? &b : &a;
        blocks[i] = hfo_arena_alloc_raw(into, n);
        sizes[i] = n;
        CHECK(blocks[i] != NULL && ((uintptr_t)blocks[i] & 15) == 0, "arena block %d (%zu bytes)", i, n);
        if (blocks[i] != NULL)
            memset(blocks[i], i & 0xff, n);
    }
    for (int i = 0; i < N; i++)
        CHECK(blocks[i] == NULL || (blocks[i][0] == (i & 0xff) && blocks[i][sizes[i] - 1] == (i & 0xff)),
              "arena block %d was overwritten", i);
    /* a block too big for the next one goes behind the head: small blocks
     * keep coming from the head's free tail */
    hfo_arena c = {0};
    unsigned char *s1 = hfo_arena_alloc_raw(&c, 100), *big = hfo_arena_alloc_raw(&c, 1 << 20),
                  *s2 = hfo_arena_alloc_raw(&c, 100);
    CHECK(s1 && big && s2 && s2 == s1 + 112, "arena: small blocks around a big one are not adjacent");
#if defined(__SANITIZE_ADDRESS__)
    /* the bytes after a block (its rounding, the block's unused tail) are
     * poisoned, so an overrun into the next block is reported */
    CHECK(s2 && __asan_address_is_poisoned(s2 + 100) && __asan_address_is_poisoned(s2 + 112),
          "arena: the bytes after a block are not poisoned");
#endif
    hfo_arena_free(&c);
    hfo_arena_adopt(&a, &b);
    CHECK(b.head == NULL, "adopt leaves the source empty");
    hfo_arena_free(&a);
    hfo_arena_free(&a);
    hfo_arena_free(&b);
}

/* ---- the fused walk against the stages ---- */

/* Texts of words that repeat (so the word cache answers most of them) cut
 * by every kind of edge: whitespace, punctuation, a removed control, a
 * non-ASCII letter or mark going on with the word, CJK, the text's ends;
 * words up to and past the cache's 16 characters and the model's 12. */
static void walk_vs_stages(int lowercase, int rounds)
{
    static const char *words[] = {"banana", "unaffable", "hello", "world", "HELLO", "Hello", "bananas",
                                  "ab", "a", "xxxxxxxxxxxx", "xxxxxxxxxxxxx", "bbbbbbbbbbbbbbbb",
                                  "bbbbbbbbbbbbbbbbb", "qq", "e", "Ee", "x1", "42", "i"};
    /* the first N_PRINTABLE_EDGES keep a text in printable ASCII (the
     * walk's scan of sixty-four bytes at a time goes on to their end), the
     * first N_BYTE_EDGES in one byte per character (where the scan runs):
     * rounds take edges from the first N_PRINTABLE_EDGES, N_BYTE_EDGES or
     * all in turn */
    static const uint32_t edges[] = {' ', ' ', ' ', '!', ',', '.', '#', '\t', '\n', '\r', 0x01, 0x7f,
                                     0, 0xe9, 0xa0, 0x301, 0x4e2d, 0x2028, 0x200b, 0xfffd, 0x1f600};
    enum { N_PRINTABLE_EDGES = 7, N_BYTE_EDGES = 15 };
    const size_t n_edges[3] = {N_PRINTABLE_EDGES, N_BYTE_EDGES, sizeof edges / sizeof edges[0]};
    hfo_err err;
    hfo_tok *tok = build_stages(lowercase);
    hfo_ws *ws = hfo_ws_new();
    rec fused = {0}, again = {0}, ref = {0};
    long compared = 0, n_bytes = 0, n_long = 0;
    for (int r = 0; r < rounds; r++) {
        uint32_t cps[256];
        size_t n = 0;
        for (int k = 0, m = (int)rnd(r % 3 == 0 ? 30 : 12); k < m && n < 200; k++) {
            const char *w = words[rnd(sizeof words / sizeof words[0])];
            n += utf8_to_cps(w, strlen(w), cps + n);
            for (int e = (int)rnd(3); e > 0; e--)
                cps[n++] = edges[rnd(n_edges[r % 3])];
        }
        int kind;
        void *data = pack(cps, n, &kind);
        hfo_text t = {data, n, kind};
        n_bytes += kind == 1;
        n_long += kind == 1 && n > 128;
        hfo_tok_sink sink = {.word = rec_word, .added = rec_added, .ctx = &fused},
                     sink2 = {.word = rec_word, .added = rec_added, .ctx = &again, .plain = rec_plain};
        fused.n = again.n = ref.n = 0;
        hfo_status s1 = hfo_tok_walk(tok, ws, &t, &sink, &err);
        hfo_status s2 = hfo_tok_walk(tok, ws, &t, &sink2, &err);
        hfo_status s3 = staged(tok, &t, 0, n, &ref, &err);
        CHECK(s1 == HFO_OK && s2 == HFO_OK && s3 == HFO_OK, "walk status %d %d %d", s1, s2, s3);
        CHECK(fused.n == ref.n && (ref.n == 0 || memcmp(fused.v, ref.v, ref.n * sizeof ref.v[0]) == 0),
              "round %d: the fused walk differs from the stages", r);
        CHECK(again.n == ref.n && (ref.n == 0 || memcmp(again.v, ref.v, ref.n * sizeof ref.v[0]) == 0),
              "round %d: the fused walk differs from the stages once its words are cached", r);
        compared += (long)ref.n;
        /* a piece of the text, as between added tokens: words cut at its ends */
        size_t b0 = n ? rnd(n) : 0, b1 = b0 + (n > b0 ? rnd(n - b0 + 1) : 0);
        again.n = ref.n = 0;
        s2 = hfo_walk_bert(tok, ws, &t, b0, b1, &sink2, &err);
        s3 = staged(tok, &t, b0, b1, &ref, &err);
        CHECK(s2 == HFO_OK && s3 == HFO_OK, "walk status %d %d", s2, s3);
        CHECK(again.n == ref.n && (ref.n == 0 || memcmp(again.v, ref.v, ref.n * sizeof ref.v[0]) == 0),
              "round %d: the fused walk of [%zu, %zu) differs from the stages", r, b0, b1);
        free(data);
    }
    CHECK(compared > 10000, "the walk comparison saw too few tokens (%ld)", compared);
    CHECK(n_bytes > rounds / 3, "too few one-byte texts (%ld)", n_bytes);
    CHECK(n_long > rounds / 10, "too few one-byte texts over 128 characters (%ld)", n_long);
    free(fused.v);
    free(again.v);
    free(ref.v);
    hfo_ws_free(ws);
    hfo_tok_free(tok);
}

/* Building a vocabulary takes a bounded number of word-cache tags (the tags
 * have 26 bits: one per entry ran out after a few thousand vocabularies,
 * and the cache was then off for good). */
static void tags_per_build(void)
{
    uint64_t before = hfo_wc_new_tag();
    for (int k = 0; k < 50; k++)
        hfo_tok_free(build_stages(k & 1));
    uint64_t after = hfo_wc_new_tag();
    CHECK(after > before && after - before <= 2 * 50 + 1,
          "50 vocabularies took %llu word-cache tags", (unsigned long long)(after - before));
}

/* The BertNormalizer remembers each BMP code point's output: the memo must
 * give what working it out does, on the first call (which fills it) and on
 * later ones, in every configuration. */
static void norm_memo(void)
{
    long compared = 0;
    for (int cfg = 0; cfg < 16; cfg++) {
        hfo_normalizer *nz = hfo_normalizer_bert_new(cfg & 1, cfg >> 1 & 1, cfg >> 2 & 1, cfg >> 3 & 1);
        CHECK(nz != NULL, "normalizer");
        for (int round = 0; round < 2; round++) {
            for (uint32_t c = 0x80; c < 0x10000; c += cfg % 4 == 0 ? 1 : 7) {
                if (c >= 0xD800 && c <= 0xDFFF)
                    continue;
                uint32_t want[HFO_BERT_MAX_OUT], got[HFO_BERT_MAX_OUT];
                int mw = 0, mg = 0;
                size_t nw = hfo_bert_norm_char_direct(nz, c, want, &mw);
                size_t ng = hfo_bert_norm_char(nz, c, got, &mg);
                CHECK(nw == ng && mw == mg && memcmp(want, got, nw * sizeof want[0]) == 0,
                      "config %d, U+%04X, call %d: the memo differs", cfg, (unsigned)c, round + 1);
                compared++;
            }
        }
        nz->free(nz);
    }
    CHECK(compared > 300000, "the memo comparison saw too few characters (%ld)", compared);
}

int main(void)
{
    arena_blocks();
    tags_per_build();
    norm_memo();
    walk_vs_stages(0, 3000);
    walk_vs_stages(1, 3000);
    for (int lower = 0; lower < 2; lower++) {
        hfo_tok *tok = build(lower);
        banana(tok);
        fuzz(tok, 150);
        fuzz_words(tok, 100);
        word_ids(tok);
        hfo_tok_free(tok);
    }
    hfo_pool_set_threads(3);
    CHECK(hfo_pool_get_threads() == 3, "threads");
    if (failures) {
        fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    printf("%ld encodings (%ld tokens, %ld overflowing parts), %ld refused\n", n_ok, n_tokens, n_overflow, n_err);
    CHECK(n_ok > 1000 && n_err > 10 && n_overflow > 100, "the fuzz loop does not reach both outcomes");
    if (failures)
        return 1;
    printf("all checks passed\n");
    return 0;
}
