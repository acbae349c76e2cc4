/*
 * rust_v0_text.c - the Rust v0 demangler's reading and writing: the
 * cursor over the mangled bytes, base-62 numbers, identifiers (punycode
 * included), backrefs, and the bounded output buffer (rust_v0.c has the
 * design).
 *
 * DESIGN: every reader sets p->bad instead of failing loudly, so the
 * grammar can go on without checks after each step and look at p->bad
 * where it branches; every writer stops at the bound and sets p->full.
 * What it won't do: print half a UTF-8 sequence, or follow a backref that
 * does not point backwards.
 */
#include "core/symbols/rust_v0_internal.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cg_v0_put(struct cg_v0 *p, const char *s, size_t n)
{
    if (!cg_v0_printing(p))
        return;
    if (p->olen + n + 3 >= CG_V0_MAX_OUT) {
        p->full = true;
        return;
    }
    memcpy(p->out + p->olen, s, n);
    p->olen += n;
}

void cg_v0_puts(struct cg_v0 *p, const char *s)
{
    cg_v0_put(p, s, strlen(s));
}

void cg_v0_put_u64(struct cg_v0 *p, uint64_t v)
{
    char buf[24];
    cg_v0_put(p, buf, (size_t)snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v));
}

static void put_utf8(struct cg_v0 *p, uint32_t c)
{
    char b[4];
    size_t n;
    if (c < 0x80) {
        b[0] = (char)c;
        n = 1;
    } else if (c < 0x800) {
        b[0] = (char)(0xc0 | c >> 6);
        b[1] = (char)(0x80 | (c & 0x3f));
        n = 2;
    } else if (c < 0x10000) {
        b[0] = (char)(0xe0 | c >> 12);
        b[1] = (char)(0x80 | (c >> 6 & 0x3f));
        b[2] = (char)(0x80 | (c & 0x3f));
        n = 3;
    } else {
        b[0] = (char)(0xf0 | c >> 18);
        b[1] = (char)(0x80 | (c >> 12 & 0x3f));
        b[2] = (char)(0x80 | (c >> 6 & 0x3f));
        b[3] = (char)(0x80 | (c & 0x3f));
        n = 4;
    }
    cg_v0_put(p, b, n);
}

void cg_v0_put_escaped(struct cg_v0 *p, uint32_t c, char quote)
{
    switch (c) {
    case 0: cg_v0_puts(p, "\\0"); return;
    case '\t': cg_v0_puts(p, "\\t"); return;
    case '\r': cg_v0_puts(p, "\\r"); return;
    case '\n': cg_v0_puts(p, "\\n"); return;
    case '\\': cg_v0_puts(p, "\\\\"); return;
    case '\'':
    case '"':
        if ((char)c == quote)
            cg_v0_put(p, "\\", 1);
        put_utf8(p, c);
        return;
    default:
        break;
    }
    if (c < 0x20 || (c >= 0x7f && c < 0xa0) || c == 0xad) {
        char buf[16];
        cg_v0_put(p, buf, (size_t)snprintf(buf, sizeof(buf), "\\u{%x}", (unsigned)c));
        return;
    }
    put_utf8(p, c);
}

uint64_t cg_v0_int62(struct cg_v0 *p)
{
    if (cg_v0_eat(p, '_'))
        return 0;
    uint64_t v = 0;
    while (!p->bad && !cg_v0_eat(p, '_')) {
        char c = cg_v0_next(p);
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'z')
            d = 10u + (unsigned)(c - 'a');
        else if (c >= 'A' && c <= 'Z')
            d = 36u + (unsigned)(c - 'A');
        else {
            p->bad = true;
            return 0;
        }
        if (v > (UINT64_MAX - d) / 62) {
            p->bad = true;
            return 0;
        }
        v = v * 62 + d;
    }
    if (p->bad || v == UINT64_MAX) {
        p->bad = true;
        return 0;
    }
    return v + 1;
}

uint64_t cg_v0_opt_int62(struct cg_v0 *p, char tag)
{
    if (!cg_v0_eat(p, tag))
        return 0;
    uint64_t v = cg_v0_int62(p);
    if (v == UINT64_MAX)
        p->bad = true;
    return v + 1;
}

const char *cg_v0_hex_nibbles(struct cg_v0 *p, size_t *n)
{
    size_t start = p->pos;
    for (;;) {
        char c = cg_v0_next(p);
        if (p->bad)
            return NULL;
        if (c == '_')
            break;
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            p->bad = true;
            return NULL;
        }
    }
    *n = p->pos - 1 - start;
    return p->s + start;
}

bool cg_v0_hex_u64(const char *h, size_t n, uint64_t *v)
{
    while (n && *h == '0') {
        h++;
        n--;
    }
    if (n > 16)
        return false;
    *v = 0;
    for (size_t i = 0; i < n; i++)
        *v = *v << 4 | cg_v0_nibble(h[i]);
    return true;
}

bool cg_v0_ident(struct cg_v0 *p, struct cg_v0_ident *id)
{
    bool puny = cg_v0_eat(p, 'u');
    char c = cg_v0_peek(p);
    if (p->bad || c < '0' || c > '9') {
        p->bad = true;
        return false;
    }
    uint64_t len = (uint64_t)(cg_v0_next(p) - '0');
    if (len)
        while ((c = cg_v0_peek(p)) >= '0' && c <= '9') {
            p->pos++;
            len = len * 10 + (uint64_t)(c - '0');
            if (len > p->len) {
                p->bad = true;
                return false;
            }
        }
    cg_v0_eat(p, '_');
    if (len > p->len - p->pos) {
        p->bad = true;
        return false;
    }
    const char *s = p->s + p->pos;
    p->pos += (size_t)len;
    *id = (struct cg_v0_ident){s, NULL, (size_t)len, 0};
    if (puny) {
        /* The ASCII characters, "_", the insertions; no "_": all insertions. */
        const char *us = NULL;
        for (size_t i = 0; i < len; i++)
            if (s[i] == '_')
                us = s + i;
        id->alen = us ? (size_t)(us - s) : 0;
        id->puny = us ? us + 1 : s;
        id->plen = (size_t)(s + len - id->puny);
        if (id->plen == 0) {
            p->bad = true;
            return false;
        }
    }
    return true;
}

/* RFC 3492 decoding of an identifier's insertions into `out`; false when
 * malformed or longer than CG_V0_MAX_PUNYCODE_CHARS. */
static bool punycode_decode(const struct cg_v0_ident *id, uint32_t *out, size_t *n_out)
{
    enum { BASE = 36, TMIN = 1, TMAX = 26, SKEW = 38, DAMP = 700 };
    size_t n = 0;
    if (id->alen > CG_V0_MAX_PUNYCODE_CHARS)
        return false;
    for (size_t i = 0; i < id->alen; i++)
        out[n++] = (unsigned char)id->ascii[i];
    uint64_t code = 0x80, i = 0, bias = 72, damp = DAMP;
    size_t at = 0;
    while (at < id->plen) {
        uint64_t delta = 0, w = 1;
        for (uint64_t k = BASE;; k += BASE) {
            if (at >= id->plen)
                return false;
            char c = id->puny[at++];
            uint64_t d;
            if (c >= 'a' && c <= 'z')
                d = (uint64_t)(c - 'a');
            else if (c >= '0' && c <= '9')
                d = 26 + (uint64_t)(c - '0');
            else
                return false;
            uint64_t t = k <= bias ? TMIN : k - bias > TMAX ? TMAX : k - bias;
            if (d > (UINT32_MAX - delta) / w)
                return false;
            delta += d * w;
            if (d < t)
                break;
            if (w > UINT32_MAX / (BASE - t))
                return false;
            w *= BASE - t;
        }
        if (n >= CG_V0_MAX_PUNYCODE_CHARS)
            return false;
        size_t len = n + 1;
        i += delta;
        code += i / len;
        i %= len;
        if (!cg_v0_valid_char(code))
            return false;
        memmove(out + i + 1, out + i, (n - (size_t)i) * sizeof(*out));
        out[i] = (uint32_t)code;
        n++;
        i++;
        /* bias adaptation */
        delta /= damp;
        damp = 2;
        delta += delta / len;
        uint64_t k = 0;
        while (delta > ((BASE - TMIN) * TMAX) / 2) {
            delta /= BASE - TMIN;
            k += BASE;
        }
        bias = k + ((BASE - TMIN + 1) * delta) / (delta + SKEW);
    }
    *n_out = n;
    return true;
}

void cg_v0_put_ident(struct cg_v0 *p, const struct cg_v0_ident *id)
{
    if (!cg_v0_printing(p))
        return;
    if (!id->puny) {
        cg_v0_put(p, id->ascii, id->alen);
        return;
    }
    uint32_t chars[CG_V0_MAX_PUNYCODE_CHARS];
    size_t n;
    if (punycode_decode(id, chars, &n)) {
        for (size_t i = 0; i < n; i++)
            put_utf8(p, chars[i]);
        return;
    }
    /* Too long or malformed: the standard Punycode spelling. */
    cg_v0_puts(p, "punycode{");
    if (id->alen) {
        cg_v0_put(p, id->ascii, id->alen);
        cg_v0_put(p, "-", 1);
    }
    cg_v0_put(p, id->puny, id->plen);
    cg_v0_put(p, "}", 1);
}

bool cg_v0_backref_enter(struct cg_v0 *p, size_t *saved)
{
    size_t start = p->pos - 1;
    uint64_t target = cg_v0_int62(p);
    if (p->bad || target >= start) {
        p->bad = true;
        return false;
    }
    if (!cg_v0_printing(p) || !cg_v0_push_depth(p))
        return false;
    *saved = p->pos;
    p->pos = (size_t)target;
    return true;
}

void cg_v0_backref_leave(struct cg_v0 *p, size_t saved)
{
    p->pos = saved;
    p->depth--;
}
