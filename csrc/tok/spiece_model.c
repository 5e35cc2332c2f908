/* spiece_model.c: read a SentencePiece model (spiece.model) with protobuf-c
 * and our own schema subset (sentencepiece.proto), copying out what the
 * tokenizer needs so nothing of protobuf-c leaks past this file. */
#include "spm.h"
#include "sentencepiece.pb-c.h"

#include <stdlib.h>
#include <string.h>

static int valid_utf8(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t k;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            k = 1, cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            k = 2, cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            k = 3, cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + k >= n)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += k + 1;
    }
    return 1;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d)
        memcpy(d, s, n + 1);
    return d;
}

void hfo_spm_free(hfo_spm_model *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; m->piece && i < m->n_pieces; i++)
        free(m->piece[i]);
    free(m->piece);
    free(m->piece_len);
    free(m->score);
    free(m->type);
    free(m->unk_piece);
    free(m->bos_piece);
    free(m->eos_piece);
    free(m->pad_piece);
    free(m->normalizer_name);
    free(m->charsmap);
    free(m);
}

hfo_spm_model *hfo_spm_load(const uint8_t *data, size_t len, hfo_err *err)
{
    Sentencepiece__ModelProto *mp = sentencepiece__model_proto__unpack(NULL, len, data);
    if (mp == NULL) {
        hfo_err_set(err, HFO_ERR_CONFIG,
                    "not a SentencePiece model: the protobuf data is truncated or corrupt "
                    "(%zu bytes could not be parsed as a ModelProto)", len);
        return NULL;
    }
    hfo_spm_model *m = calloc(1, sizeof *m);
    if (m == NULL)
        goto oom;
    if (mp->n_pieces == 0) {
        hfo_err_set(err, HFO_ERR_CONFIG, "not a SentencePiece model: it has no pieces "
                    "(%zu bytes; truncated or not a spiece.model?)", len);
        goto fail;
    }
    if (mp->trainer_spec == NULL || mp->normalizer_spec == NULL) {
        /* pieces come first in the file, so a cut between two pieces still parses */
        hfo_err_set(err, HFO_ERR_CONFIG,
                    "incomplete SentencePiece model: %zu pieces but no %s (%zu bytes; truncated?)",
                    mp->n_pieces, mp->trainer_spec == NULL ? "trainer_spec" : "normalizer_spec", len);
        goto fail;
    }
    m->n_pieces = mp->n_pieces;
    m->piece = calloc(m->n_pieces, sizeof *m->piece);
    m->piece_len = calloc(m->n_pieces, sizeof *m->piece_len);
    m->score = calloc(m->n_pieces, sizeof *m->score);
    m->type = calloc(m->n_pieces, sizeof *m->type);
    if (!m->piece || !m->piece_len || !m->score || !m->type)
        goto oom;
    for (size_t i = 0; i < m->n_pieces; i++) {
        const Sentencepiece__ModelProto__SentencePiece *p = mp->pieces[i];
        const char *s = p->piece ? p->piece : "";
        size_t n = strlen(s);
        if (!valid_utf8((const uint8_t *)s, n)) {
            hfo_err_set(err, HFO_ERR_CONFIG,
                        "corrupt SentencePiece model: piece %zu is not valid UTF-8", i);
            goto fail;
        }
        if ((m->piece[i] = dup_str(s)) == NULL)
            goto oom;
        m->piece_len[i] = n;
        m->score[i] = p->has_score ? p->score : 0.0f;
        m->type[i] = p->has_type ? (int)p->type : HFO_SPM_NORMAL;
    }
    const Sentencepiece__TrainerSpec *ts = mp->trainer_spec;
    m->model_type = ts && ts->has_model_type ? (int)ts->model_type : HFO_SPM_UNIGRAM;
    m->byte_fallback = ts && ts->has_byte_fallback ? ts->byte_fallback : 0;
    m->unk_id = ts && ts->has_unk_id ? ts->unk_id : 0;
    m->bos_id = ts && ts->has_bos_id ? ts->bos_id : 1;
    m->eos_id = ts && ts->has_eos_id ? ts->eos_id : 2;
    m->pad_id = ts && ts->has_pad_id ? ts->pad_id : -1;
    m->unk_piece = dup_str(ts && ts->unk_piece ? ts->unk_piece : "<unk>");
    m->bos_piece = dup_str(ts && ts->bos_piece ? ts->bos_piece : "<s>");
    m->eos_piece = dup_str(ts && ts->eos_piece ? ts->eos_piece : "</s>");
    m->pad_piece = dup_str(ts && ts->pad_piece ? ts->pad_piece : "<pad>");
    if (!m->unk_piece || !m->bos_piece || !m->eos_piece || !m->pad_piece)
        goto oom;
    const Sentencepiece__NormalizerSpec *ns = mp->normalizer_spec;
    m->normalizer_name = dup_str(ns && ns->name ? ns->name : "");
    if (m->normalizer_name == NULL)
        goto oom;
    m->add_dummy_prefix = ns && ns->has_add_dummy_prefix ? ns->add_dummy_prefix : 1;
    m->remove_extra_whitespaces = ns && ns->has_remove_extra_whitespaces ? ns->remove_extra_whitespaces : 1;
    m->escape_whitespaces = ns && ns->has_escape_whitespaces ? ns->escape_whitespaces : 1;
    if (ns && ns->has_precompiled_charsmap && ns->precompiled_charsmap.len) {
        m->charsmap = malloc(ns->precompiled_charsmap.len);
        if (m->charsmap == NULL)
            goto oom;
        memcpy(m->charsmap, ns->precompiled_charsmap.data, ns->precompiled_charsmap.len);
        m->charsmap_len = ns->precompiled_charsmap.len;
    }
    sentencepiece__model_proto__free_unpacked(mp, NULL);
    return m;
oom:
    hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
fail:
    sentencepiece__model_proto__free_unpacked(mp, NULL);
    hfo_spm_free(m);
    return NULL;
}
