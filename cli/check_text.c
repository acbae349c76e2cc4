/*
 * check_text.c - `cgagent check`'s output made safe to print: what it
 * shows comes from the environment, config files and endpoints, any of
 * which may hold control bytes.
 *
 * DESIGN: text mode escapes, as the logger does (core/base/log.c), every
 * C0 byte and DEL as \n, \r, \t or \xNN, and goes further: C1 controls
 * (U+0080-U+009F, which some terminals obey as CSI/OSC) and bytes that
 * are not valid UTF-8 are written \xNN per byte too.  Valid UTF-8 passes,
 * so a group or path in another script stays readable.  A printed value
 * can then never end its line, forge the next one ("result: OK") or
 * drive the terminal (OSC retitling, colours).
 *
 * JSON mode keeps the text and lets the encoder escape it (issue 28, item
 * 4): bytes that are not UTF-8 become the text \xNN first (jansson
 * refuses such a string, and the field would vanish), jansson writes C0
 * as \uXXXX, and the dump is then given \u007F and \u0080-\u009F for DEL
 * and C1, which JSON allows raw but a terminal may obey.
 *
 * What it won't do: mask secrets (the caller masks service messages with
 * sts/sign_log.h first) or cut text.
 */
#include "cli/cli.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the well-formed UTF-8 sequence at s (n bytes left), with its
 * code point in *cp; 0 when the bytes there are not one (bad lead, missing
 * or bad continuation, overlong, surrogate, beyond U+10FFFF). */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf; /* bounds of the second byte */
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        *cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        *cp = c & 0x0f;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        else if (c == 0xed)
            hi = 0x9f; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        *cp = c & 0x07;
        if (c == 0xf0)
            lo = 0x90; /* overlong */
        else if (c == 0xf4)
            hi = 0x8f; /* beyond U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        *cp = (*cp << 6) | (s[i] & 0x3f);
    }
    return len;
}

/* Appends the escape of byte c to out at *o (out may be NULL: count). */
static void put_escape(char *out, size_t *o, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char esc = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : 0;
    char buf[4] = {'\\', esc, 0, 0};
    size_t n = 2;
    if (!esc) {
        buf[1] = 'x';
        buf[2] = hex[c >> 4];
        buf[3] = hex[c & 15];
        n = 4;
    }
    if (out)
        memcpy(out + *o, buf, n);
    *o += n;
}

static void put_bytes(char *out, size_t *o, const unsigned char *s, size_t n)
{
    if (out)
        memcpy(out + *o, s, n);
    *o += n;
}

/* One pass of the escaping: text mode (controls escaped) or JSON mode
 * (only bytes that are not UTF-8).  Returns the length written (counted
 * only when out is NULL). */
static size_t escape(const char *text, char *out, bool json)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t n = strlen(text), o = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        if (c < 0x80) {
            if (!json && (c < 0x20 || c == 0x7f))
                put_escape(out, &o, c);
            else
                put_bytes(out, &o, s + i, 1);
            i++;
            continue;
        }
        uint32_t cp = 0;
        size_t len = utf8_seq(s + i, n - i, &cp);
        if (len == 0) {
            put_escape(out, &o, c); /* not UTF-8: this byte alone */
            i++;
        } else if (!json && cp <= 0x9f) {
            for (size_t k = 0; k < len; k++) /* a C1 control */
                put_escape(out, &o, s[i + k]);
            i += len;
        } else {
            put_bytes(out, &o, s + i, len);
            i += len;
        }
    }
    if (out)
        out[o] = '\0';
    return o;
}

char *cg_check_escape(const char *text)
{
    char *out = malloc(escape(text, NULL, false) + 1);
    if (out)
        escape(text, out, false);
    return out;
}

void cg_check_print(FILE *f, const char *text)
{
    char *esc = cg_check_escape(text);
    fputs(esc ? esc : "(out of memory)", f);
    free(esc);
}

struct json_t *cg_check_json_string(const char *text)
{
    char *clean = malloc(escape(text, NULL, true) + 1);
    if (!clean)
        return NULL;
    escape(text, clean, true);
    json_t *s = json_string(clean);
    free(clean);
    return s;
}

char *cg_check_json_dump(const struct json_t *root)
{
    char *text = json_dumps(root, JSON_PRESERVE_ORDER | JSON_INDENT(2));
    if (!text)
        return NULL;
    /* Non-ASCII bytes occur only inside strings, so DEL and the two-byte
     * C1 sequences (C2 80 - C2 9F) can be rewritten in place of a raw
     * byte: the result is the same JSON value. */
    size_t n = strlen(text), extra = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == 0x7f)
            extra += 5;
        else if (c == 0xc2 && i + 1 < n && (unsigned char)text[i + 1] <= 0x9f &&
                 (unsigned char)text[i + 1] >= 0x80)
            extra += 4, i++;
    }
    if (!extra)
        return text;
    char *out = malloc(n + extra + 1);
    if (!out) {
        free(text);
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == 0x7f) {
            o += (size_t)sprintf(out + o, "\\u007F");
        } else if (c == 0xc2 && i + 1 < n && (unsigned char)text[i + 1] <= 0x9f &&
                   (unsigned char)text[i + 1] >= 0x80) {
            o += (size_t)sprintf(out + o, "\\u00%02X", (unsigned char)text[++i]);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
    free(text);
    return out;
}
