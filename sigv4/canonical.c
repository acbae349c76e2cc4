/*
 * canonical.c - the canonical forms SigV4 signs: URI, query, header values.
 *
 * DESIGN: small pure functions over a growable string; each returns a new
 * malloc'd string.  Decoding of the query tolerates malformed %-escapes by
 * keeping them literally (then encoding the '%'), so any input gives a
 * deterministic canonical form; the fuzz target relies on that.
 * A query may carry the session token (X-Amz-Security-Token in query
 * form), so the query's decoded and encoded pieces are wiped before they
 * are freed (sigv4_free_secret); paths and header names hold no secrets.
 */
#include "sigv4/sigv4_internal.h"

#include <ctype.h>
#include <mbedtls/platform_util.h>
#include <stdlib.h>
#include <string.h>

static bool unreserved(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

char *sigv4_uri_encode(const char *s, size_t len, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(len * 3 + 1);
    if (!out)
        return NULL;
    char *w = out;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (keep_slash && c == '/')) {
            *w++ = (char)c;
        } else {
            *w++ = '%';
            *w++ = hex[c >> 4];
            *w++ = hex[c & 15];
        }
    }
    *w = '\0';
    return out;
}

/* Removes "." and ".." segments and empty segments ("//"); keeps a
 * trailing slash when the path had one. */
static char *normalize_path(const char *path)
{
    size_t len = strlen(path);
    char *out = malloc(len + 2);
    size_t *starts = malloc((len + 1) * sizeof(*starts));
    if (!out || !starts) {
        free(out);
        free(starts);
        return NULL;
    }
    size_t w = 0, depth = 0;
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        const char *seg = p;
        while (*p && *p != '/')
            p++;
        size_t n = (size_t)(p - seg);
        if (n == 0 || (n == 1 && seg[0] == '.'))
            continue;
        if (n == 2 && seg[0] == '.' && seg[1] == '.') {
            if (depth > 0)
                w = starts[--depth];
            continue;
        }
        starts[depth++] = w;
        out[w++] = '/';
        memcpy(out + w, seg, n);
        w += n;
    }
    if (w == 0 || (len > 0 && path[len - 1] == '/'))
        out[w++] = '/';
    out[w] = '\0';
    free(starts);
    return out;
}

char *sigv4_canonical_uri(const char *path, bool normalize, bool double_encode)
{
    if (!path || !*path)
        path = "/";
    char *norm = normalize ? normalize_path(path) : strdup(path);
    if (!norm)
        return NULL;
    if (!double_encode)
        return norm;
    char *enc = sigv4_uri_encode(norm, strlen(norm), true);
    free(norm);
    return enc;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes [s, s+len) into a new string; *out_len gets its length
 * (it may contain NUL bytes). */
static char *decode(const char *s, size_t len, size_t *out_len)
{
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t w = 0;
    for (size_t i = 0; i < len; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < len && (hi = hexval(s[i + 1])) >= 0 &&
            (lo = hexval(s[i + 2])) >= 0) {
            out[w++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[w++] = s[i];
        }
    }
    out[w] = '\0';
    *out_len = w;
    return out;
}

static void wipe_free(char *p, size_t n)
{
    if (p) {
        mbedtls_platform_zeroize(p, n);
        free(p);
    }
}

struct param {
    char *key, *value; /* encoded */
};

static int cmp_param(const void *a, const void *b)
{
    const struct param *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->value, y->value);
}

char *sigv4_canonical_query(const char *query)
{
    if (!query || !*query)
        return strdup("");
    size_t n = 1;
    for (const char *p = query; *p; p++)
        n += *p == '&';
    struct param *ps = calloc(n, sizeof(*ps));
    if (!ps)
        return NULL;
    size_t count = 0, total = 0;
    bool oom = false;
    const char *p = query;
    while (!oom) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > 0) {
            const char *eq = memchr(p, '=', len);
            size_t klen = eq ? (size_t)(eq - p) : len;
            size_t dk = 0, dv = 0;
            char *k = decode(p, klen, &dk);
            char *v = eq ? decode(eq + 1, len - klen - 1, &dv) : (dv = 0, strdup(""));
            if (k && v) {
                ps[count].key = sigv4_uri_encode(k, dk, false);
                ps[count].value = sigv4_uri_encode(v, dv, false);
            }
            wipe_free(k, dk); /* decoded: may hold NUL bytes, so not strlen */
            wipe_free(v, dv);
            if (!ps[count].key || !ps[count].value) {
                oom = true;
                count++;
                break;
            }
            total += strlen(ps[count].key) + strlen(ps[count].value) + 2;
            count++;
        }
        if (!end)
            break;
        p = end + 1;
    }
    char *out = NULL;
    if (!oom && (out = malloc(total + 1))) {
        qsort(ps, count, sizeof(*ps), cmp_param);
        char *w = out;
        for (size_t i = 0; i < count; i++) {
            if (i)
                *w++ = '&';
            size_t kl = strlen(ps[i].key), vl = strlen(ps[i].value);
            memcpy(w, ps[i].key, kl);
            w += kl;
            *w++ = '=';
            memcpy(w, ps[i].value, vl);
            w += vl;
        }
        *w = '\0';
    }
    for (size_t i = 0; i < count; i++) {
        sigv4_free_secret(ps[i].key);
        sigv4_free_secret(ps[i].value);
    }
    free(ps);
    return out;
}

char *sigv4_canonical_header_value(const char *value)
{
    size_t len = strlen(value);
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t w = 0;
    bool pending_space = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            pending_space = w > 0;
            continue;
        }
        if (pending_space)
            out[w++] = ' ';
        pending_space = false;
        out[w++] = (char)c;
    }
    out[w] = '\0';
    return out;
}
