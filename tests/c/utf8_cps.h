/* utf8_cps.h: UTF-8 (assumed valid) to code points, for the C test programs. */
#ifndef HFO_TEST_UTF8_CPS_H
#define HFO_TEST_UTF8_CPS_H

#include <stddef.h>
#include <stdint.h>

/* Decode s[0, len) into out; returns the number of code points. */
static inline size_t utf8_to_cps(const char *s, size_t len, uint32_t *out)
{
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)s, *e = p + len;
    while (p < e) {
        uint32_t c;
        if (*p < 0x80) c = *p++;
        else if (*p < 0xE0) { c = (uint32_t)(*p & 0x1F) << 6 | (p[1] & 0x3F); p += 2; }
        else if (*p < 0xF0) { c = (uint32_t)(*p & 0x0F) << 12 | (uint32_t)(p[1] & 0x3F) << 6 | (p[2] & 0x3F); p += 3; }
        else { c = (uint32_t)(*p & 0x07) << 18 | (uint32_t)(p[1] & 0x3F) << 12 | (uint32_t)(p[2] & 0x3F) << 6 | (p[3] & 0x3F); p += 4; }
        out[n++] = c;
    }
    return n;
}

#endif
