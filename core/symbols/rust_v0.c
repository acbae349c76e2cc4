/*
 * rust_v0.c - Rust's v0 symbol mangling ("_R...") to readable
 * paths, following https://doc.rust-lang.org/rustc/symbol-mangling/v0.html
 * and printing what rustc-demangle prints with "{:#}" (no crate hashes,
 * no type suffixes on const arguments):
 *   _RNvCs1234_7mycrate3foo               -> mycrate::foo
 *   _RNCNvCs..._4main4main0B3_            -> main::main::{closure#0}
 *   _RINvNtC3std3mem4swaplEB5_            -> std::mem::swap::<i32>
 *
 * DESIGN: one recursive-descent pass over the mangled bytes that prints as
 * it parses into a bounded buffer.  Backrefs are followed by moving the
 * read position and coming back; parts that are never printed (an impl's
 * own path, the instantiating crate) are parsed with printing switched off
 * and their backrefs are not followed, so they cost linear time.  Every
 * construct that can branch prints something, so the output bound also
 * bounds the work that backrefs can multiply.  Limits: nesting depth 500
 * (rustc-demangle's); output under 4 KiB, longer names are cut and end in
 * "..." (the rest of the symbol is still checked).
 *
 * What it won't do: guess.  Anything outside the grammar, nested past the
 * depth limit, or not ASCII makes it return NULL, and the caller keeps the
 * mangled name (unique and stable, if unreadable).
 */
#include "core/symbols/demangle.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 500
#define MAX_OUT 4096
#define MAX_PUNYCODE_CHARS 128 /* rustc-demangle's small-decode limit */

struct v0 {
    const char *s;   /* the mangled name after "_R" */
    size_t len, pos;
    char out[MAX_OUT];
    size_t olen;
    int depth;
    uint64_t bound_lifetimes; /* lifetimes bound by enclosing for<...> */
    bool skip;       /* parsing only: nothing printed, backrefs not followed */
    bool full;       /* the output is cut short; the rest is only parsed */
    bool bad;        /* anything wrong: the whole result is NULL */
};

struct ident {
    const char *ascii, *puny; /* puny: the punycode deltas, or NULL */
    size_t alen, plen;
};

/* ---- output ---- */

static bool printing(const struct v0 *p)
{
    return !p->skip && !p->full && !p->bad;
}

/* Appends whole pieces (never half a UTF-8 sequence); the first that does
 * not fit, with room left for "...", ends the output. */
static void put(struct v0 *p, const char *s, size_t n)
{
    if (!printing(p))
        return;
    if (p->olen + n + 3 >= MAX_OUT) {
        p->full = true;
        return;
    }
    memcpy(p->out + p->olen, s, n);
    p->olen += n;
}

static void puts_(struct v0 *p, const char *s)
{
    put(p, s, strlen(s));
}

static void put_u64(struct v0 *p, uint64_t v)
{
    char buf[24];
    put(p, buf, (size_t)snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v));
}

static void put_utf8(struct v0 *p, uint32_t c)
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
    put(p, b, n);
}

static bool valid_char(uint64_t c)
{
    return c <= 0x10ffff && (c < 0xd800 || c > 0xdfff);
}

/* One char of a '...' or "..." literal, escaped the way Rust's
 * char::escape_debug does for the cases that matter here: the usual
 * backslash escapes, \u{..} for control characters, the rest as UTF-8.
 * The other kind of quote is not escaped. */
static void put_escaped(struct v0 *p, uint32_t c, char quote)
{
    switch (c) {
    case 0: puts_(p, "\\0"); return;
    case '\t': puts_(p, "\\t"); return;
    case '\r': puts_(p, "\\r"); return;
    case '\n': puts_(p, "\\n"); return;
    case '\\': puts_(p, "\\\\"); return;
    case '\'':
    case '"':
        if ((char)c == quote)
            put(p, "\\", 1);
        put_utf8(p, c);
        return;
    default:
        break;
    }
    if (c < 0x20 || (c >= 0x7f && c < 0xa0) || c == 0xad) {
        char buf[16];
        put(p, buf, (size_t)snprintf(buf, sizeof(buf), "\\u{%x}", (unsigned)c));
        return;
    }
    put_utf8(p, c);
}

/* ---- input ---- */

static char peek(const struct v0 *p)
{
    return p->pos < p->len ? p->s[p->pos] : '\0';
}

static bool eat(struct v0 *p, char c)
{
    if (!p->bad && peek(p) == c) {
        p->pos++;
        return true;
    }
    return false;
}

static char next(struct v0 *p)
{
    if (p->bad || p->pos >= p->len) {
        p->bad = true;
        return '\0';
    }
    return p->s[p->pos++];
}

static bool push_depth(struct v0 *p)
{
    if (p->bad || ++p->depth > MAX_DEPTH) {
        p->bad = true;
        return false;
    }
    return true;
}

/* <base-62-number>: "_" is 0, else digits then "_" giving value + 1. */
static uint64_t int62(struct v0 *p)
{
    if (eat(p, '_'))
        return 0;
    uint64_t v = 0;
    while (!p->bad && !eat(p, '_')) {
        char c = next(p);
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

/* [tag <base-62-number>]: 0 when absent, else the number + 1. */
static uint64_t opt_int62(struct v0 *p, char tag)
{
    if (!eat(p, tag))
        return 0;
    uint64_t v = int62(p);
    if (v == UINT64_MAX)
        p->bad = true;
    return v + 1;
}

/* Lower-case hex digits up to "_": the digits (not NUL-terminated). */
static const char *hex_nibbles(struct v0 *p, size_t *n)
{
    size_t start = p->pos;
    for (;;) {
        char c = next(p);
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

static unsigned nibble(char c)
{
    return c <= '9' ? (unsigned)(c - '0') : (unsigned)(c - 'a' + 10);
}

/* The value of hex digits, false when it does not fit in 64 bits. */
static bool hex_u64(const char *h, size_t n, uint64_t *v)
{
    while (n && *h == '0') {
        h++;
        n--;
    }
    if (n > 16)
        return false;
    *v = 0;
    for (size_t i = 0; i < n; i++)
        *v = *v << 4 | nibble(h[i]);
    return true;
}

/* <undisambiguated-identifier> = ["u"] <decimal-number> ["_"] <bytes> */
static bool ident(struct v0 *p, struct ident *id)
{
    bool puny = eat(p, 'u');
    char c = peek(p);
    if (p->bad || c < '0' || c > '9') {
        p->bad = true;
        return false;
    }
    uint64_t len = (uint64_t)(next(p) - '0');
    if (len)
        while ((c = peek(p)) >= '0' && c <= '9') {
            p->pos++;
            len = len * 10 + (uint64_t)(c - '0');
            if (len > p->len) {
                p->bad = true;
                return false;
            }
        }
    eat(p, '_');
    if (len > p->len - p->pos) {
        p->bad = true;
        return false;
    }
    const char *s = p->s + p->pos;
    p->pos += (size_t)len;
    *id = (struct ident){s, NULL, (size_t)len, 0};
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
 * malformed or longer than MAX_PUNYCODE_CHARS. */
static bool punycode_decode(const struct ident *id, uint32_t *out, size_t *n_out)
{
    enum { BASE = 36, TMIN = 1, TMAX = 26, SKEW = 38, DAMP = 700 };
    size_t n = 0;
    if (id->alen > MAX_PUNYCODE_CHARS)
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
        if (n >= MAX_PUNYCODE_CHARS)
            return false;
        size_t len = n + 1;
        i += delta;
        code += i / len;
        i %= len;
        if (!valid_char(code))
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

static void put_ident(struct v0 *p, const struct ident *id)
{
    if (!printing(p))
        return;
    if (!id->puny) {
        put(p, id->ascii, id->alen);
        return;
    }
    uint32_t chars[MAX_PUNYCODE_CHARS];
    size_t n;
    if (punycode_decode(id, chars, &n)) {
        for (size_t i = 0; i < n; i++)
            put_utf8(p, chars[i]);
        return;
    }
    /* Too long or malformed: the standard Punycode spelling. */
    puts_(p, "punycode{");
    if (id->alen) {
        put(p, id->ascii, id->alen);
        put(p, "-", 1);
    }
    put(p, id->puny, id->plen);
    put(p, "}", 1);
}

/* After the 'B' of a backref: parses its offset and, when printing, moves
 * there (true; backref_leave comes back).  A backref must point before
 * itself, so it can never loop. */
static bool backref_enter(struct v0 *p, size_t *saved)
{
    size_t start = p->pos - 1;
    uint64_t target = int62(p);
    if (p->bad || target >= start) {
        p->bad = true;
        return false;
    }
    if (!printing(p) || !push_depth(p))
        return false;
    *saved = p->pos;
    p->pos = (size_t)target;
    return true;
}

static void backref_leave(struct v0 *p, size_t saved)
{
    p->pos = saved;
    p->depth--;
}

/* ---- grammar ---- */

static void path(struct v0 *p, bool in_value);
static void type(struct v0 *p);
static void konst(struct v0 *p, bool in_value);

static void lifetime(struct v0 *p, uint64_t lt)
{
    if (!printing(p))
        return;
    if (lt == 0) {
        puts_(p, "'_");
        return;
    }
    if (lt > p->bound_lifetimes) {
        p->bad = true;
        return;
    }
    uint64_t depth = p->bound_lifetimes - lt;
    if (depth < 26) {
        char buf[2] = {'\'', (char)('a' + depth)};
        put(p, buf, 2);
    } else {
        puts_(p, "'_");
        put_u64(p, depth);
    }
}

/* [G <base-62-number>]: for<'a, 'b> ... around a fn type or dyn bounds.
 * Returns how many lifetimes it bound (the caller unbinds them). */
static uint64_t binder_enter(struct v0 *p)
{
    uint64_t n = opt_int62(p, 'G');
    if (!printing(p) || n == 0)
        return 0;
    if (n > MAX_OUT) {
        p->bad = true; /* would not fit anyway */
        return 0;
    }
    puts_(p, "for<");
    for (uint64_t i = 0; i < n; i++) {
        if (i)
            puts_(p, ", ");
        p->bound_lifetimes++;
        lifetime(p, 1);
    }
    puts_(p, "> ");
    return n;
}

static void generic_arg(struct v0 *p)
{
    if (eat(p, 'L'))
        lifetime(p, int62(p));
    else if (eat(p, 'K'))
        konst(p, false);
    else
        type(p);
}

/* Generic arguments up to 'E', comma-separated. */
static void generic_args(struct v0 *p)
{
    for (int i = 0; !p->bad && !eat(p, 'E'); i++) {
        if (i)
            puts_(p, ", ");
        generic_arg(p);
    }
}

static void path(struct v0 *p, bool in_value)
{
    if (!push_depth(p))
        return;
    char tag = next(p);
    struct ident id;
    switch (tag) {
    case 'C': /* crate root; its disambiguator is the hash we leave out */
        opt_int62(p, 's');
        if (ident(p, &id))
            put_ident(p, &id);
        break;
    case 'N': {
        char ns = next(p);
        if (!((ns >= 'A' && ns <= 'Z') || (ns >= 'a' && ns <= 'z'))) {
            p->bad = true;
            break;
        }
        path(p, in_value);
        uint64_t dis = opt_int62(p, 's');
        if (!ident(p, &id))
            break;
        bool named = id.alen || id.plen;
        if (ns >= 'A' && ns <= 'Z') {
            /* special namespaces: {closure#N}, {shim:vtable#N}, ... */
            puts_(p, "::{");
            if (ns == 'C')
                puts_(p, "closure");
            else if (ns == 'S')
                puts_(p, "shim");
            else
                put(p, &ns, 1);
            if (named) {
                put(p, ":", 1);
                put_ident(p, &id);
            }
            put(p, "#", 1);
            put_u64(p, dis);
            put(p, "}", 1);
        } else if (named) {
            puts_(p, "::");
            put_ident(p, &id);
        }
        break;
    }
    case 'M': /* inherent impl: <Type> */
    case 'X': /* trait impl: <Type as Trait> */
    case 'Y': /* trait definition: <Type as Trait> */
        if (tag != 'Y') {
            /* The impl's own path (where it was written) is not printed. */
            opt_int62(p, 's');
            bool was = p->skip;
            p->skip = true;
            path(p, false);
            p->skip = was;
        }
        put(p, "<", 1);
        type(p);
        if (tag != 'M') {
            puts_(p, " as ");
            path(p, false);
        }
        put(p, ">", 1);
        break;
    case 'I':
        path(p, in_value);
        puts_(p, in_value ? "::<" : "<");
        generic_args(p);
        put(p, ">", 1);
        break;
    case 'B': {
        size_t saved;
        if (backref_enter(p, &saved)) {
            path(p, in_value);
            backref_leave(p, saved);
        }
        break;
    }
    default:
        p->bad = true;
    }
    p->depth--;
}

static const char *basic_type(char c)
{
    switch (c) {
    case 'a': return "i8";
    case 'b': return "bool";
    case 'c': return "char";
    case 'd': return "f64";
    case 'e': return "str";
    case 'f': return "f32";
    case 'h': return "u8";
    case 'i': return "isize";
    case 'j': return "usize";
    case 'l': return "i32";
    case 'm': return "u32";
    case 'n': return "i128";
    case 'o': return "u128";
    case 'p': return "_";
    case 's': return "i16";
    case 't': return "u16";
    case 'u': return "()";
    case 'v': return "...";
    case 'x': return "i64";
    case 'y': return "u64";
    case 'z': return "!";
    default: return NULL;
    }
}

static void fn_sig(struct v0 *p)
{
    uint64_t bound = binder_enter(p);
    bool is_unsafe = eat(p, 'U');
    const char *abi = NULL;
    size_t abi_len = 0;
    if (eat(p, 'K')) {
        struct ident id;
        if (eat(p, 'C')) {
            abi = "C";
            abi_len = 1;
        } else if (ident(p, &id)) {
            if (id.puny || id.alen == 0)
                p->bad = true;
            abi = id.ascii;
            abi_len = id.alen;
        }
    }
    if (is_unsafe)
        puts_(p, "unsafe ");
    if (abi) {
        /* The mangling spells "-" in ABI names as "_". */
        puts_(p, "extern \"");
        for (size_t i = 0; i < abi_len; i++)
            put(p, abi[i] == '_' ? "-" : abi + i, 1);
        puts_(p, "\" ");
    }
    puts_(p, "fn(");
    for (int i = 0; !p->bad && !eat(p, 'E'); i++) {
        if (i)
            puts_(p, ", ");
        type(p);
    }
    put(p, ")", 1);
    if (!eat(p, 'u')) { /* a unit return is not printed */
        puts_(p, " -> ");
        type(p);
    }
    p->bound_lifetimes -= bound;
}

/* A trait path whose "<...>" stays open (true) so that associated type
 * bindings can go inside it: dyn Fn<(A,), Output = R>. */
static bool path_maybe_open_generics(struct v0 *p)
{
    if (eat(p, 'B')) {
        size_t saved;
        bool open = false;
        if (backref_enter(p, &saved)) {
            open = path_maybe_open_generics(p);
            backref_leave(p, saved);
        }
        return open;
    }
    if (eat(p, 'I')) {
        path(p, false);
        put(p, "<", 1);
        generic_args(p);
        return true;
    }
    path(p, false);
    return false;
}

static void dyn_trait(struct v0 *p)
{
    bool open = path_maybe_open_generics(p);
    while (!p->bad && eat(p, 'p')) {
        puts_(p, open ? ", " : "<");
        open = true;
        struct ident id;
        if (!ident(p, &id))
            return;
        put_ident(p, &id);
        puts_(p, " = ");
        type(p);
    }
    if (open)
        put(p, ">", 1);
}

/* Pattern types (W): u32 is 1..=9 */
static void pattern(struct v0 *p)
{
    char tag = next(p);
    switch (tag) {
    case 'R':
        konst(p, false);
        puts_(p, "..=");
        konst(p, false);
        break;
    case 'O':
        if (!push_depth(p))
            return;
        pattern(p);
        while (!p->bad && !eat(p, 'E')) {
            puts_(p, " | ");
            pattern(p);
        }
        p->depth--;
        break;
    case 'N':
        puts_(p, "!null");
        break;
    default:
        p->bad = true;
    }
}

static void type(struct v0 *p)
{
    char tag = next(p);
    const char *basic = basic_type(tag);
    if (basic) {
        puts_(p, basic);
        return;
    }
    if (!push_depth(p))
        return;
    switch (tag) {
    case 'R':
    case 'Q':
        put(p, "&", 1);
        if (eat(p, 'L')) {
            uint64_t lt = int62(p);
            if (lt) {
                lifetime(p, lt);
                put(p, " ", 1);
            }
        }
        if (tag == 'Q')
            puts_(p, "mut ");
        type(p);
        break;
    case 'P':
    case 'O':
        puts_(p, tag == 'P' ? "*const " : "*mut ");
        type(p);
        break;
    case 'A':
    case 'S':
        put(p, "[", 1);
        type(p);
        if (tag == 'A') {
            puts_(p, "; ");
            konst(p, true);
        }
        put(p, "]", 1);
        break;
    case 'T': {
        put(p, "(", 1);
        int i = 0;
        for (; !p->bad && !eat(p, 'E'); i++) {
            if (i)
                puts_(p, ", ");
            type(p);
        }
        puts_(p, i == 1 ? ",)" : ")");
        break;
    }
    case 'F':
        fn_sig(p);
        break;
    case 'D': {
        puts_(p, "dyn ");
        uint64_t bound = binder_enter(p);
        for (int i = 0; !p->bad && !eat(p, 'E'); i++) {
            if (i)
                puts_(p, " + ");
            dyn_trait(p);
        }
        p->bound_lifetimes -= bound;
        if (!eat(p, 'L')) {
            p->bad = true;
            break;
        }
        uint64_t lt = int62(p);
        if (lt) {
            puts_(p, " + ");
            lifetime(p, lt);
        }
        break;
    }
    case 'W':
        type(p);
        puts_(p, " is ");
        pattern(p);
        break;
    case 'B': {
        size_t saved;
        if (backref_enter(p, &saved)) {
            type(p);
            backref_leave(p, saved);
        }
        break;
    }
    default:
        p->pos--; /* a path: the tag is its first byte */
        path(p, false);
    }
    p->depth--;
}

/* An integer const's digits: decimal when it fits in 64 bits, else 0x... */
static void const_uint(struct v0 *p)
{
    size_t n;
    const char *h = hex_nibbles(p, &n);
    uint64_t v;
    if (!h)
        return;
    if (hex_u64(h, n, &v)) {
        put_u64(p, v);
    } else {
        puts_(p, "0x");
        put(p, h, n);
    }
}

/* A str const's bytes as a quoted literal (strict UTF-8). */
static void const_str(struct v0 *p)
{
    size_t n;
    const char *h = hex_nibbles(p, &n);
    if (!h)
        return;
    if (n % 2) {
        p->bad = true;
        return;
    }
    put(p, "\"", 1);
    for (size_t i = 0; i < n && !p->bad;) {
        unsigned b = nibble(h[i]) << 4 | nibble(h[i + 1]);
        i += 2;
        size_t more = b < 0x80 ? 0 : (b & 0xe0) == 0xc0 ? 1 : (b & 0xf0) == 0xe0 ? 2
                    : (b & 0xf8) == 0xf0 ? 3 : 4;
        static const uint32_t min[] = {0, 0x80, 0x800, 0x10000};
        if (more > 3 || i + 2 * more > n) {
            p->bad = true;
            return;
        }
        uint32_t c = more ? b & (0x3fu >> more) : b;
        for (size_t k = 0; k < more; k++, i += 2) {
            unsigned cb = nibble(h[i]) << 4 | nibble(h[i + 1]);
            if ((cb & 0xc0) != 0x80) {
                p->bad = true;
                return;
            }
            c = c << 6 | (cb & 0x3f);
        }
        if (c < min[more] || !valid_char(c)) {
            p->bad = true;
            return;
        }
        put_escaped(p, c, '"');
    }
    put(p, "\"", 1);
}

static bool open_brace(struct v0 *p, bool in_value)
{
    if (!in_value)
        put(p, "{", 1);
    return !in_value;
}

/* Const values.  Outside another value (a generic argument), anything but
 * a literal is wrapped in braces: {&42}, {*"abc"}. */
static void konst(struct v0 *p, bool in_value)
{
    char tag = next(p);
    if (!push_depth(p))
        return;
    bool braces = false;
    switch (tag) {
    case 'p':
        put(p, "_", 1);
        break;
    case 'h': case 't': case 'm': case 'y': case 'o': case 'j':
        const_uint(p);
        break;
    case 'a': case 's': case 'l': case 'x': case 'n': case 'i':
        if (eat(p, 'n'))
            put(p, "-", 1);
        const_uint(p);
        break;
    case 'b':
    case 'c': {
        size_t n;
        const char *h = hex_nibbles(p, &n);
        uint64_t v;
        if (!h || !hex_u64(h, n, &v) || (tag == 'b' ? v > 1 : !valid_char(v))) {
            p->bad = true;
            break;
        }
        if (tag == 'b') {
            puts_(p, v ? "true" : "false");
        } else {
            put(p, "'", 1);
            put_escaped(p, (uint32_t)v, '\'');
            put(p, "'", 1);
        }
        break;
    }
    case 'e':
        /* A str value: *"..." (a literal is a &str). */
        braces = open_brace(p, in_value);
        put(p, "*", 1);
        const_str(p);
        break;
    case 'R':
    case 'Q':
        if (tag == 'R' && eat(p, 'e')) {
            const_str(p);
        } else {
            braces = open_brace(p, in_value);
            puts_(p, tag == 'R' ? "&" : "&mut ");
            konst(p, true);
        }
        break;
    case 'A':
    case 'T': {
        braces = open_brace(p, in_value);
        put(p, tag == 'A' ? "[" : "(", 1);
        int i = 0;
        for (; !p->bad && !eat(p, 'E'); i++) {
            if (i)
                puts_(p, ", ");
            konst(p, true);
        }
        if (tag == 'T' && i == 1)
            put(p, ",", 1);
        put(p, tag == 'A' ? "]" : ")", 1);
        break;
    }
    case 'V': { /* a struct or enum value */
        braces = open_brace(p, in_value);
        path(p, true);
        char kind = next(p);
        if (kind == 'U')
            break;
        if (kind != 'T' && kind != 'S') {
            p->bad = true;
            break;
        }
        puts_(p, kind == 'T' ? "(" : " { ");
        for (int i = 0; !p->bad && !eat(p, 'E'); i++) {
            if (i)
                puts_(p, ", ");
            if (kind == 'S') {
                struct ident id;
                opt_int62(p, 's');
                if (!ident(p, &id))
                    break;
                put_ident(p, &id);
                puts_(p, ": ");
            }
            konst(p, true);
        }
        puts_(p, kind == 'T' ? ")" : " }");
        break;
    }
    case 'B': {
        size_t saved;
        if (backref_enter(p, &saved)) {
            konst(p, in_value);
            backref_leave(p, saved);
        }
        break;
    }
    default:
        p->bad = true;
    }
    if (braces)
        put(p, "}", 1);
    p->depth--;
}

/* ThinLTO renames local symbols "NAME.llvm.HEX" (HEX: 0-9, A-F, @);
 * rustc-demangle drops that before anything else, and so do we. */
static size_t without_llvm_suffix(const char *s, size_t len)
{
    const char *llvm = strstr(s, ".llvm.");
    if (!llvm)
        return len;
    for (const char *c = llvm + 6; *c; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'A' && *c <= 'F') || *c == '@'))
            return len;
    return (size_t)(llvm - s);
}

/* A suffix printed after the name (".0.0", ".cold"): ASCII letters,
 * digits and punctuation only, starting with '.'. */
static bool symbol_like_suffix(const char *s, size_t n)
{
    if (n == 0 || s[0] != '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c >= 0x7f)
            return false;
    }
    return true;
}

char *cg_demangle_rust_v0(const char *name)
{
    if (strncmp(name, "_R", 2) != 0)
        return NULL;
    const char *s = name + 2;
    size_t len = without_llvm_suffix(s, strlen(s));
    /* Paths start with an upper-case tag (a version number is not
     * supported); the mangling is ASCII. */
    if (len == 0 || s[0] < 'A' || s[0] > 'Z')
        return NULL;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] >= 0x80)
            return NULL;
    struct v0 *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->s = s;
    p->len = len;
    path(p, true);
    /* The instantiating crate, if any, is not printed. */
    char c = peek(p);
    if (!p->bad && c >= 'A' && c <= 'Z') {
        p->skip = true;
        path(p, false);
        p->skip = false;
    }
    char *out = NULL;
    if (!p->bad && p->pos < p->len) {
        if (symbol_like_suffix(p->s + p->pos, p->len - p->pos))
            put(p, p->s + p->pos, p->len - p->pos);
        else
            p->bad = true;
    }
    if (p->full) {
        /* Longer than any frame name should be (some generic closures
         * print 9 KB): its first 4 KB say more than the mangled name. */
        memcpy(p->out + p->olen, "...", 3);
        p->olen += 3;
    }
    if (!p->bad && p->olen) {
        p->out[p->olen] = '\0';
        out = strdup(p->out);
    }
    free(p);
    return out;
}
