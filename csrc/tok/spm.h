/* spm.h: the SentencePiece side of the tokenizer engine (Python-free):
 * reading a spiece.model, and the T5 stages that plug into tok.h's pipeline
 * (Precompiled normalizer, WhitespaceSplit+Metaspace pre-tokenizer, Unigram
 * model).  Each stage mirrors the Hugging Face `tokenizers` type of the same
 * name, since parity is with transformers' T5TokenizerFast.
 *
 *     hfo_err err;
 *     hfo_spm_model *spm = hfo_spm_load(bytes, n, &err);     // caller frees: hfo_spm_free
 *     hfo_tok *tok = hfo_tok_new();
 *     hfo_tok_set_normalizer(tok, hfo_normalizer_precompiled_new(spm->charsmap,
 *                                                            spm->charsmap_len, &err));
 *     hfo_tok_set_pretok(tok, hfo_pretok_metaspace_new(0x2581, HFO_PREPEND_ALWAYS, 1, 1));
 *     hfo_model *ug = hfo_unigram_new(spm->unk_id, 0);
 *     for (size_t i = 0; i < spm->n_pieces; i++)             // ids in order of adding
 *         hfo_unigram_add(ug, cps_of(spm->piece[i]), n, spm->score[i], &err);
 *     hfo_unigram_finish(ug, &err);
 *     hfo_tok_set_model(tok, ug);                            // tok owns the stages
 *     hfo_spm_free(spm);
 */
#ifndef HFO_SPM_H
#define HFO_SPM_H

#include "tok.h"

/* ---- spiece_model.c: a SentencePiece ModelProto, read with protobuf-c ---- */
enum { HFO_SPM_UNIGRAM = 1, HFO_SPM_BPE = 2, HFO_SPM_WORD = 3, HFO_SPM_CHAR = 4 };
/* piece types, as sentencepiece_model.proto */
enum {
    HFO_SPM_NORMAL = 1, HFO_SPM_UNKNOWN = 2, HFO_SPM_CONTROL = 3, HFO_SPM_USER_DEFINED = 4,
    HFO_SPM_UNUSED = 5, HFO_SPM_BYTE = 6,
};

typedef struct hfo_spm_model {
    size_t n_pieces;
    char **piece;          /* UTF-8, NUL terminated (checked to be valid UTF-8) */
    size_t *piece_len;     /* bytes */
    float *score;
    int *type;
    int model_type, byte_fallback;
    int32_t unk_id, bos_id, eos_id, pad_id;
    char *unk_piece, *bos_piece, *eos_piece, *pad_piece;
    char *normalizer_name;
    uint8_t *charsmap;     /* precompiled_charsmap (may be empty) */
    size_t charsmap_len;
    int add_dummy_prefix, remove_extra_whitespaces, escape_whitespaces;
} hfo_spm_model;

/* Parse a serialized ModelProto.  NULL with err set (HFO_ERR_CONFIG) when
 * the bytes are not a SentencePiece model (truncated, corrupt, no pieces,
 * pieces not UTF-8).  Caller frees with hfo_spm_free. */
hfo_spm_model *hfo_spm_load(const uint8_t *data, size_t len, hfo_err *err);
void hfo_spm_free(hfo_spm_model *m);

/* ---- normalizer_precompiled.c: tokenizers' Precompiled normalizer ---------
 * charsmap = SentencePiece's precompiled_charsmap (u32 trie size, the
 * double-array trie, then the NUL-separated replacement strings).  The data
 * is copied.  NULL with err set when it is malformed. */
hfo_normalizer *hfo_normalizer_precompiled_new(const uint8_t *charsmap, size_t len, hfo_err *err);

/* ---- pretok_metaspace.c: [WhitespaceSplit +] Metaspace -------------------- */
enum { HFO_PREPEND_ALWAYS = 0, HFO_PREPEND_FIRST = 1, HFO_PREPEND_NEVER = 2 };
/* Whether the replacement is prepended to a word whose first character is
 * c, at original offset os: not to a word already starting with it; with
 * "first", only to a word at the very start of the text. */
static inline int hfo_metaspace_prepends(int prepend, uint32_t repl, uint32_t c, uint32_t os)
{
    return prepend != HFO_PREPEND_NEVER && c != repl && (prepend == HFO_PREPEND_ALWAYS || os == 0);
}
/* replacement: usually U+2581; split: split at each replacement character
 * (MergedWithNext); whitespace_split: a WhitespaceSplit runs first. */
hfo_pretok *hfo_pretok_metaspace_new(uint32_t replacement, int prepend_scheme, int split,
                                     int whitespace_split);

/* Free a stage that was never handed to a tokenizer (NULL is fine). */
void hfo_normalizer_free(hfo_normalizer *n);   /* normalizer_precompiled.c */
void hfo_pretok_free(hfo_pretok *p);           /* pretok_metaspace.c */
void hfo_model_free(hfo_model *m);             /* model_unigram.c */

/* ---- model_unigram.c: tokenizers' Unigram model ---------------------------- */
/* unk_id < 0: no unknown token (unknown characters are then an error). */
hfo_model *hfo_unigram_new(int32_t unk_id, int byte_fallback);
/* Add the next piece (its id is the number of pieces added before it). */
hfo_status hfo_unigram_add(hfo_model *m, const uint32_t *cps, size_t n, double score,
                           hfo_err *err);
/* Call once after the last hfo_unigram_add, before encoding. */
hfo_status hfo_unigram_finish(hfo_model *m, hfo_err *err);

#endif
