/* unicode.c: lowercase / NFD / classes over utf8proc, patched to match
 * Hugging Face `tokenizers` (see unicode.h). */
#include "unicode.h"

#include <stdlib.h>

#include <utf8proc.h>

static const hfo_uc_map *find_exception(const hfo_uc_map *tab, size_t n, uint32_t c)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tab[mid].cp == c)
            return &tab[mid];
        if (tab[mid].cp < c)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

size_t hfo_uc_lower(uint32_t c, uint32_t *out)
{
    if (c < 0x80) {
        out[0] = (c >= 'A' && c <= 'Z') ? c + 32 : c;
        return 1;
    }
    const hfo_uc_map *m = find_exception(hfo_uc_lower_exceptions, hfo_uc_n_lower_exceptions, c);
    if (m) {
        for (uint32_t i = 0; i < m->n; i++)
            out[i] = m->out[i];
        return m->n;
    }
    out[0] = (uint32_t)utf8proc_tolower((utf8proc_int32_t)c);
    return 1;
}

size_t hfo_uc_nfd(uint32_t c, uint32_t *out)
{
    if (c < 0xC0) {
        out[0] = c;
        return 1;
    }
    const hfo_uc_map *m = find_exception(hfo_uc_nfd_exceptions, hfo_uc_n_nfd_exceptions, c);
    if (m) {
        for (uint32_t i = 0; i < m->n; i++)
            out[i] = m->out[i];
        return m->n;
    }
    utf8proc_int32_t buf[HFO_UC_MAX_EXPANSION];
    int last = 0;
    utf8proc_ssize_t n = utf8proc_decompose_char((utf8proc_int32_t)c, buf, HFO_UC_MAX_EXPANSION,
                                                 UTF8PROC_DECOMPOSE, &last);
    if (n <= 0 || n > HFO_UC_MAX_EXPANSION) {
        out[0] = c;
        return 1;
    }
    for (utf8proc_ssize_t i = 0; i < n; i++)
        out[i] = (uint32_t)buf[i];
    return (size_t)n;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

int hfo_uc_ccc(uint32_t c)
{
    if (c < 0x300 || c > 0x10FFFF)
        return 0;
    int v = utf8proc_get_property((utf8proc_int32_t)c)->combining_class;
    if (v == 0 || hfo_uc_n_ccc_zero == 0 || c < hfo_uc_ccc_zero[0])   /* common marks: known to the reference */
        return v;
    return bsearch(&c, hfo_uc_ccc_zero, hfo_uc_n_ccc_zero, sizeof c, cmp_u32) ? 0 : v;
}

int hfo_uc_is_word(uint32_t c)
{
    size_t lo = 0, hi = hfo_uc_n_word_ranges;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c < hfo_uc_word_ranges[mid][0])
            hi = mid;
        else if (c > hfo_uc_word_ranges[mid][1])
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}
