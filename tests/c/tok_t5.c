/* tok_t5.c: the SentencePiece Unigram stages in C on their own, under
 * AddressSanitizer/UBSan/LeakSanitizer (tests/test_tokenizer_t5_core.py
 * builds and runs it with T5's spiece.model).  A deterministic fuzz loop:
 * random texts of every code-unit width (characters the Precompiled
 * normalizer replaces, removes or joins into clusters, whitespace, the
 * replacement character, lone surrogates now and then), every Metaspace
 * option; the fused walk (walk_t5.c) must give what the stages give one
 * after the other, and a batch on the thread pool what its items give one
 * by one.  Then a vocabulary of a big alphabet (two-symbol characters in the
 * double-array trie) against a plain Viterbi written here.  Expected token
 * values are checked by the Python tests against `tokenizers`. */
#include "tok/spm.h"
#include "tok/tok_internal.h"
#include "staged_walk.h"
#include "utf8_cps.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
static long n_texts, n_tokens, n_refused;
#define CHECK(cond, ...) do { if (!(cond)) { fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); failures++; } } while (0)

static uint64_t rs = 88172645463325252ULL;
static uint32_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (uint32_t)rs;
}

static const uint32_t POOL[] = {
    'a', 'b', 'e', 't', 'h', ' ', ' ', ' ', '\r', '\n', '\t', 0, 1, 0x7f, '.', 'A', 0xe9, 0xe0,
    0x300, 0x301, 0x316, 0x200d, 0x200c, 0x1100, 0x1161, 0x11a8, 0xac00, 0x600, 0x601, 0x6dd,
    0x110bd, 0x1f1e6, 0x1f1e7, 0x1f600, 0x1f3fb, 0x2764, 0xfe0f, 0xff21, 0xff41, 0xfb01, 0x2460,
    0x2474, 0x3000, 0xa0, 0x2028, 0x85, 0x4e00, 0x65e5, 0x3042, 0xff71, 0x0e01, 0x0e31, 0x0e33,
    0x0915, 0x094d, 0x093f, 0x0903, 0x2581, 0x2581, 0xfffd, 0xd800, 0x10ffff, 0x2000, 0x200b,
    0x00ad, 0xfeff, 0x0130, 0xfdfa, 0x3300, 0x1680};

static hfo_tok *build_t5(const hfo_spm_model *spm, int prepend, int split)
{
    hfo_err err;
    hfo_tok *tok = hfo_tok_new();
    hfo_normalizer *nz = hfo_normalizer_precompiled_new(spm->charsmap, spm->charsmap_len, &err);
    hfo_pretok *pt = hfo_pretok_metaspace_new(0x2581, prepend, split, 1);
    hfo_model *ug = hfo_unigram_new(spm->unk_id, 0);
    CHECK(tok && nz && pt && ug, "stages");
    hfo_tok_set_normalizer(tok, nz);
    hfo_tok_set_pretok(tok, pt);
    uint32_t buf[256];
    for (size_t i = 0; i < spm->n_pieces; i++) {
        size_t n = spm->piece_len[i] < 256 ? utf8_to_cps(spm->piece[i], spm->piece_len[i], buf) : 0;
        CHECK(hfo_unigram_add(ug, buf, n, spm->score[i], &err) == HFO_OK, "add %zu", i);
    }
    CHECK(hfo_unigram_finish(ug, &err) == HFO_OK, "finish: %s", err.msg);
    hfo_tok_set_model(tok, ug);
    int32_t eos = 1;
    hfo_piece single[2] = {{0, 0, NULL, 0}, {-1, 0, &eos, 1}};
    CHECK(hfo_tok_set_template(tok, 0, single, 2, &err) == HFO_OK, "template");
    CHECK(hfo_walk_t5_applies(tok), "the fused walk applies to the T5 stages");
    return tok;
}

/* Fused walk vs stages on random texts; a batch vs its items. */
static void fuzz(hfo_tok *tok, int iters)
{
    hfo_ws *ws = hfo_ws_new();
    rec ra = {0}, rb = {0}, rc = {0};
    enum { BATCH = 64 };
    uint32_t store[BATCH][48];
    hfo_text texts[BATCH];
    size_t nb = 0;
    for (int it = 0; it < iters; it++) {
        uint32_t buf[48], mx = 0;
        size_t len = rnd() % 40;
        int ascii = it % 3 == 0;   /* words of printable ASCII between spaces: the cached words */
        for (size_t i = 0; i < len; i++) {
            uint32_t r = rnd() % 100;
            if (ascii)
                buf[i] = r < 20 ? ' ' : r < 23 ? "\t\n\001"[r - 20] : r < 25 ? 0 : "abeth.,AB'-_"[rnd() % 12];
            else
                buf[i] = r < 60 ? POOL[rnd() % (sizeof POOL / sizeof POOL[0])]
                       : r < 90 ? 0x20 + rnd() % 0x5f : r < 95 ? rnd() % 0x3000 : rnd() % 0x110000;
            if (it % 7 && buf[i] >= 0xd800 && buf[i] <= 0xdfff)
                buf[i] = 'x';
            if (buf[i] > mx)
                mx = buf[i];
        }
        int kind = mx < 256 ? 1 : mx < 65536 ? 2 : 4;
        if (kind < 4 && rnd() % 3 == 0)
            kind = 4;
        uint32_t *raw = store[nb];
        for (size_t i = 0; i < len; i++) {
            if (kind == 1)
                ((uint8_t *)raw)[i] = (uint8_t)buf[i];
            else if (kind == 2)
                ((uint16_t *)raw)[i] = (uint16_t)buf[i];
            else
                raw[i] = buf[i];
        }
        hfo_text t = {raw, len, kind};
        size_t b0 = len ? rnd() % (len + 1) : 0, b1 = b0 + (len > b0 ? rnd() % (len - b0 + 1) : 0);
        if (rnd() % 2)
            b0 = 0, b1 = len;
        hfo_err e1, e2, e3;
        ra.n = rb.n = rc.n = 0;
        /* the fused walk twice: without the word cache (a sink taking no
         * plain words), then with it (hfo_tok_sink.plain) */
        hfo_tok_sink sink = {.word = rec_word, .added = rec_added, .ctx = &ra};
        hfo_tok_sink sink2 = {.word = rec_word, .added = rec_added, .ctx = &rc, .plain = rec_plain};
        hfo_status s1 = hfo_walk_t5(tok, ws, &t, b0, b1, &sink, &e1);
        hfo_status s3 = hfo_walk_t5(tok, ws, &t, b0, b1, &sink2, &e3);
        hfo_status s2 = staged(tok, &t, b0, b1, &rb, &e2);
        CHECK(s1 == s2 && s3 == s2, "status %d, %d vs %d", s1, s3, s2);
        if (s1 == s2 && s1 != HFO_OK)
            CHECK(strcmp(e1.msg, e2.msg) == 0, "message '%s' vs '%s'", e1.msg, e2.msg);
        if (s1 == s2 && s1 == HFO_OK)
            CHECK(ra.n == rb.n && (ra.n == 0 || memcmp(ra.v, rb.v, ra.n * sizeof *ra.v) == 0),
                  "fused walk and stages differ (iteration %d)", it);
        if (s3 == s2 && s3 == HFO_OK)
            CHECK(rc.n == rb.n && (rc.n == 0 || memcmp(rc.v, rb.v, rc.n * sizeof *rc.v) == 0),
                  "fused walk with cached words and stages differ (iteration %d)", it);
        n_texts++;
        n_refused += s1 != HFO_OK;
        texts[nb++] = t;
        if (nb == BATCH || it == iters - 1) {
            hfo_call call = HFO_CALL_DEFAULT;
            hfo_encoding out[BATCH];
            size_t bad = 0;
            hfo_err e;
            hfo_status sb = hfo_tok_encode_batch(tok, texts, NULL, nb, &call, 3, out, &bad, &e);
            for (size_t k = 0; k < nb; k++) {
                hfo_encoding one;
                hfo_status so = hfo_tok_encode(tok, ws, &texts[k], NULL, &call, &one, &e);
                if (sb == HFO_OK) {
                    CHECK(so == HFO_OK && one.len == out[k].len &&
                          (one.len == 0 || (memcmp(one.ids, out[k].ids, one.len * 4) == 0 &&
                                            memcmp(one.offsets, out[k].offsets, one.len * 8) == 0)),
                          "batch item %zu differs", k);
                    n_tokens += (long)one.len;
                }
                hfo_enc_free(&one);
                hfo_enc_free(&out[k]);
            }
            nb = 0;
        }
    }
    free(ra.v);
    free(rb.v);
    free(rc.v);
    hfo_ws_free(ws);
}

/* A plain Viterbi (encode_optimized as written in the reference) over a
 * vocabulary kept as a list: the check for the double-array trie. */
typedef struct plain_vocab {
    uint32_t (*cps)[6];
    size_t *len;
    double *score;
    size_t n;
} plain_vocab;

static size_t plain_encode(const plain_vocab *v, double unk_score, const uint32_t *w, size_t n,
                           int32_t *ids)
{
    double best[64];
    int32_t from[64], id[64];
    for (size_t i = 0; i <= n; i++)
        from[i] = -1, best[i] = 0.0;
    for (size_t s = 0; s < n; s++) {
        int single = 0;
        for (size_t L = 1; s + L <= n && L <= 6; L++) {
            int32_t hit = -1;
            for (size_t k = 0; k < v->n; k++)   /* the last duplicate wins */
                if (v->len[k] == L && memcmp(v->cps[k], w + s, L * 4) == 0)
                    hit = (int32_t)k;
            if (hit < 0)
                continue;
            double c = v->score[hit] + best[s];
            if (from[s + L] < 0 || c > best[s + L])
                best[s + L] = c, from[s + L] = (int32_t)s, id[s + L] = hit;
            single |= L == 1;
        }
        if (!single) {
            double c = unk_score + best[s];
            if (from[s + 1] < 0 || c > best[s + 1])
                best[s + 1] = c, from[s + 1] = (int32_t)s, id[s + 1] = 0;
        }
    }
    size_t nt = 0;
    int32_t rev[64];
    for (size_t e = n; e > 0; e = (size_t)from[e]) {
        if (id[e] == 0 && nt && rev[nt - 1] == 0)
            continue;   /* unknowns fused (none of these runs is a piece) */
        rev[nt++] = id[e];
    }
    for (size_t k = 0; k < nt; k++)
        ids[k] = rev[nt - 1 - k];
    return nt;
}

static void big_alphabet(void)
{
    hfo_err err;
    enum { N_CHARS = 700, N_PIECES = 4000 };
    plain_vocab v = {calloc(N_PIECES, sizeof *v.cps), calloc(N_PIECES, sizeof *v.len),
                     calloc(N_PIECES, sizeof *v.score), 0};
    hfo_model *ug = hfo_unigram_new(0, 0);
    CHECK(v.cps && v.len && v.score && ug, "alloc");
    double min_score = 0.0;
    for (size_t i = 0; i < N_PIECES; i++) {
        size_t n = i == 0 ? 1 : i <= N_CHARS ? 1 : 2 + rnd() % 5;
        for (size_t k = 0; k < n; k++) {
            uint32_t r = rnd() % 100;
            v.cps[i][k] = i == 0 ? 0xE000 : i <= N_CHARS && k == 0 ? 0x4E00 + (uint32_t)i
                        : 0x4E00 + 1 + (r < 50 ? rnd() % 30 : rnd() % N_CHARS);
        }
        v.len[i] = n;
        v.score[i] = i == 0 ? 0.0 : -1.0 - (double)(rnd() % 1000) / 100.0;
        if (v.score[i] < min_score)
            min_score = v.score[i];
        CHECK(hfo_unigram_add(ug, v.cps[i], n, v.score[i], &err) == HFO_OK, "add");
        v.n++;
    }
    CHECK(hfo_unigram_finish(ug, &err) == HFO_OK, "finish: %s", err.msg);
    hfo_pieces pc = {0};
    for (int it = 0; it < 3000; it++) {
        uint32_t w[40];
        size_t n = 1 + rnd() % 39;
        for (size_t k = 0; k < n; k++)
            w[k] = rnd() % 20 == 0 ? 'x' : 0x4E00 + 1 + (rnd() % 2 ? rnd() % 30 : rnd() % (N_CHARS + 20));
        if (it % 3 == 0 && n > 4)   /* a piece inside */
            memcpy(w + 1, v.cps[N_CHARS + 1 + rnd() % (N_PIECES - N_CHARS - 1)], 2 * 4);
        int32_t ids[64];
        size_t nt = plain_encode(&v, min_score - 10.0, w, n, ids);
        pc.len = 0;
        CHECK(ug->tokenize(ug, w, n, &pc, &err) == HFO_OK, "tokenize");
        int same = pc.len == nt;
        for (size_t k = 0; same && k < nt; k++)
            same = pc.id[k] == ids[k];
        CHECK(same, "big alphabet: Viterbi differs (word %d, %zu tokens vs %zu)", it, pc.len, nt);
    }
    free(pc.id);
    free(pc.start);
    free(pc.end);
    free(v.cps);
    free(v.len);
    free(v.score);
    hfo_model_free(ug);
}

/* The per-thread word cache: two models over the same pieces with other
 * scores (so other answers) share it; more words than it holds, asked
 * again in other orders, must get the answers of the first time. */
static void word_cache(void)
{
    hfo_err err;
    enum { N_WORDS = 40000, MAXW = 12 };
    hfo_model *m[2] = {hfo_unigram_new(0, 0), hfo_unigram_new(0, 0)};
    uint32_t piece[4];
    for (int k = 0; k < 2; k++) {
        uint64_t saved = rs;
        rs = 77;
        CHECK(hfo_unigram_add(m[k], piece, 0, 0.0, &err) == HFO_OK, "add");   /* id 0: unk */
        for (int i = 1; i < 600; i++) {
            size_t n = i < 40 ? 1 : 2 + rnd() % 3;
            for (size_t q = 0; q < n; q++)
                piece[q] = i < 40 ? 'a' + (uint32_t)i : 'a' + 1 + rnd() % 39;
            double sc = -1.0 - (double)(rnd() % 500) / 50.0;
            CHECK(hfo_unigram_add(m[k], piece, n, k ? -sc * sc : sc, &err) == HFO_OK, "add");
        }
        rs = saved;
        CHECK(hfo_unigram_finish(m[k], &err) == HFO_OK, "finish");
    }
    uint32_t (*words)[MAXW] = malloc(N_WORDS * sizeof *words);
    uint8_t *len = malloc(N_WORDS);
    int32_t (*want)[2][MAXW] = malloc(N_WORDS * sizeof *want);
    uint8_t (*nwant)[2] = malloc(N_WORDS * sizeof *nwant);
    CHECK(words && len && want && nwant, "alloc");
    hfo_pieces pc = {0};
    for (size_t i = 0; i < N_WORDS; i++) {
        len[i] = (uint8_t)(1 + rnd() % MAXW);
        for (size_t q = 0; q < len[i]; q++)
            words[i][q] = rnd() % 30 ? 'a' + 1 + rnd() % 39 : 0x4E00;
    }
    for (int round = 0; round < 3; round++) {
        for (size_t j = 0; j < 2 * N_WORDS; j++) {
            size_t i = round == 1 ? N_WORDS - 1 - j / 2 : round == 2 ? (j / 2 * 7919) % N_WORDS : j / 2;
            int k = (int)((j + (size_t)round) & 1);
            pc.len = 0;
            CHECK(m[k]->tokenize(m[k], words[i], len[i], &pc, &err) == HFO_OK, "tokenize");
            if (round == 0 && (j & 1) == (size_t)k) {
                nwant[i][k] = (uint8_t)(pc.len < MAXW ? pc.len : MAXW);
                for (size_t q = 0; q < nwant[i][k]; q++)
                    want[i][k][q] = pc.id[q];
                continue;
            }
            if (round == 0)
                continue;
            int same = pc.len == nwant[i][k];
            for (size_t q = 0; same && q < pc.len; q++)
                same = pc.id[q] == want[i][k][q];
            CHECK(same, "word cache: word %zu model %d round %d", i, k, round);
            if (!same)
                break;
        }
    }
    free(pc.id);
    free(pc.start);
    free(pc.end);
    free(words);
    free(len);
    free(want);
    free(nwant);
    hfo_model_free(m[0]);
    hfo_model_free(m[1]);
}

static void *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *p = malloc(len > 0 ? (size_t)len : 1);
    *n = p && len > 0 && fread(p, 1, (size_t)len, f) == (size_t)len ? (size_t)len : 0;
    fclose(f);
    return p;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: tok_t5 spiece.model\n");
        return 2;
    }
    size_t n;
    uint8_t *bytes = slurp(argv[1], &n);
    hfo_err err;
    hfo_spm_model *spm = bytes && n ? hfo_spm_load(bytes, n, &err) : NULL;
    free(bytes);
    if (spm == NULL) {
        fprintf(stderr, "cannot load %s\n", argv[1]);
        return 2;
    }
    for (int prepend = 0; prepend < 3; prepend++) {
        for (int split = 0; split < 2; split++) {
            hfo_tok *tok = build_t5(spm, prepend, split);
            fuzz(tok, prepend == 0 && split == 1 ? 6000 : 1500);
            hfo_tok_free(tok);
        }
    }
    /* an ASCII replacement character ('_'), which plain words can hold:
     * split there (transformers builds T5's Metaspace with U+2581, but the
     * engine takes any character) */
    for (int split = 0; split < 2; split++) {
        hfo_tok *tok = build_t5(spm, 0, split);
        hfo_tok_set_pretok(tok, hfo_pretok_metaspace_new('_', 0, split, 1));
        fuzz(tok, 1500);
        hfo_tok_free(tok);
    }
    /* a model without an unknown token: its errors against the stages'
     * (which meet a lone surrogate anywhere in the text first) */
    hfo_tok *tok = build_t5(spm, 0, 1);
    hfo_model *tiny = hfo_unigram_new(-1, 0);
    uint32_t pieces[][1] = {{0x2581}, {'a'}, {'b'}, {' '}};
    for (size_t i = 0; i < 4; i++)
        CHECK(hfo_unigram_add(tiny, pieces[i], 1, -1.0 - (double)i, &err) == HFO_OK, "add");
    CHECK(hfo_unigram_finish(tiny, &err) == HFO_OK, "finish");
    hfo_tok_set_model(tok, tiny);
    fuzz(tok, 1500);
    hfo_tok_free(tok);
    hfo_spm_free(spm);
    big_alphabet();
    word_cache();
    if (failures) {
        fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    printf("%ld texts (%ld tokens), %ld refused\n", n_texts, n_tokens, n_refused);
    CHECK(n_tokens > 10000 && n_refused > 10, "the fuzz loop does not reach both outcomes");
    if (failures)
        return 1;
    printf("all checks passed\n");
    return 0;
}
