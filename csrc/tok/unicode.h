/* unicode.h: character classes and mappings for the tokenizer stages.
 *
 * The classes are the ones Hugging Face `tokenizers` uses (see
 * tools/gen_unicode_tables.py for why they are probed from it rather than
 * taken from utf8proc as is); lowercase and NFD come from utf8proc with the
 * few code points where `tokenizers` differs patched by exception tables.
 *
 *     if (hfo_uc_flags(c) & HFO_UC_PUNCT) ...            // isolate c
 *     uint32_t out[HFO_UC_MAX_EXPANSION];
 *     size_t n = hfo_uc_lower(c, out);                    // 1..3 code points
 *
 * Nothing here allocates.
 */
#ifndef HFO_UNICODE_H
#define HFO_UNICODE_H

#include <stddef.h>
#include <stdint.h>

enum {
    HFO_UC_CONTROL = 1,     /* dropped by BertNormalizer clean_text */
    HFO_UC_WHITESPACE = 2,  /* Rust char::is_whitespace */
    HFO_UC_PUNCT = 4,       /* ASCII punctuation or P* (tokenizers' tables) */
    HFO_UC_MN = 8,          /* nonspacing mark (tokenizers' tables) */
    HFO_UC_CJK = 16,        /* BertNormalizer is_chinese_char */
};

#define HFO_UC_MAX_EXPANSION 8  /* longest lowercase/NFD output we handle */

typedef struct hfo_uc_map {
    uint32_t cp;
    uint32_t n;
    uint32_t out[3];
} hfo_uc_map;

extern const uint16_t hfo_uc_stage1[];
extern const uint8_t hfo_uc_stage2[][128];
extern const hfo_uc_map hfo_uc_lower_exceptions[];
extern const size_t hfo_uc_n_lower_exceptions;
extern const hfo_uc_map hfo_uc_nfd_exceptions[];
extern const size_t hfo_uc_n_nfd_exceptions;
extern const uint32_t hfo_uc_ccc_zero[];
extern const size_t hfo_uc_n_ccc_zero;
extern const uint32_t hfo_uc_word_ranges[][2];
extern const size_t hfo_uc_n_word_ranges;

/* Flags of a code point (0 for anything above U+10FFFF). */
static inline unsigned hfo_uc_flags(uint32_t c)
{
    if (c < 0x80) {
        /* ASCII fast path mirrors the table */
        return hfo_uc_stage2[hfo_uc_stage1[0]][c];
    }
    if (c > 0x10FFFF)
        return 0;
    return hfo_uc_stage2[hfo_uc_stage1[c >> 7]][c & 127];
}

/* Full lowercase of c as Rust's char::to_lowercase: writes 1..3 code points
 * to out, returns how many. */
size_t hfo_uc_lower(uint32_t c, uint32_t *out);

/* Canonical decomposition (NFD, not reordered) of c as
 * unicode-normalization-alignments does it: writes up to
 * HFO_UC_MAX_EXPANSION code points, returns how many. */
size_t hfo_uc_nfd(uint32_t c, uint32_t *out);

/* Canonical combining class as the reference's NFD has it: utf8proc's,
 * except 0 for the characters its older tables lack (hfo_uc_ccc_zero). */
int hfo_uc_ccc(uint32_t c);

/* A word character as an added token's single_word check sees it (the regex
 * crate's Unicode \w: letters, marks, decimal digits, connector punctuation,
 * joiners; tokenizers' ends_with_word / starts_with_word). */
int hfo_uc_is_word(uint32_t c);

#endif
