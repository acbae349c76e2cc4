/*
 * demangle_rust_v0.c - Rust's v0 symbol mangling ("_R...") to readable
 * paths, following https://doc.rust-lang.org/rustc/symbol-mangling/v0.html
 * and printing like rustc-demangle's alternate form (no crate hashes):
 *   _RNvCs1234_7mycrate3foo               -> mycrate::foo
 *   _RNCNvCs..._4main4main0B3_            -> main::main::{closure#0}
 *   _RINvNtC3std3mem4swaplEB5_            -> std::mem::swap::<i32>
 *
 * A recursive-descent parser over the mangled bytes writing into a bounded
 * buffer.  Anything it does not understand, any depth or length beyond the
 * limits, and punycode identifiers make it give up: the caller then keeps
 * the mangled name, which is still a unique and stable frame name.
 */
#include "core/demangle.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64
#define MAX_OUT 4096

struct v0 {
    const char *s;  /* the mangled name after "_R" */
    size_t len, pos;
    char out[MAX_OUT];
    size_t olen;
    int depth;
    bool bad;
};

static void put(struct v0 *p, const char *s, size_t n)
{
    if (p->bad)
        return;
    if (p->olen + n >= MAX_OUT) {
        p->bad = true;
        return;
    }
    memcpy(p->out + p->olen, s, n);
    p->olen += n;
}

static void puts_(struct v0 *p, const char *s)
{
    put(p, s, strlen(s));
}

static char peek(const struct v0 *p)
{
    return p->pos < p->len ? p->s[p->pos] : '\0';
}

static bool eat(struct v0 *p, char c)
{
    if (peek(p) == c) {
        p->pos++;
        return true;
    }
    return false;
}

static char next(struct v0 *p)
{
    if (p->pos >= p->len) {
        p->bad = true;
        return '\0';
    }
    return p->s[p->pos++];
}

/* base-62-number: "_" is 0, else digits then "_" giving value + 1. */
static uint64_t base62(struct v0 *p)
{
    if (eat(p, '_'))
        return 0;
    uint64_t v = 0;
    for (;;) {
        char c = next(p);
        if (p->bad)
            return 0;
        if (c == '_')
            break;
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
    if (v == UINT64_MAX) {
        p->bad = true;
        return 0;
    }
    return v + 1;
}

static uint64_t opt_disambiguator(struct v0 *p)
{
    return eat(p, 's') ? base62(p) + 1 : 0;
}

static uint64_t decimal(struct v0 *p)
{
    char c = peek(p);
    if (c < '0' || c > '9') {
        p->bad = true;
        return 0;
    }
    if (c == '0') {
        p->pos++;
        return 0;
    }
    uint64_t v = 0;
    while ((c = peek(p)) >= '0' && c <= '9') {
        if (v > 100000000) {
            p->bad = true;
            return 0;
        }
        v = v * 10 + (uint64_t)(c - '0');
        p->pos++;
    }
    return v;
}

/* undisambiguated-identifier = ["u"] decimal ["_"] bytes */
static bool ident(struct v0 *p, const char **s, size_t *n)
{
    if (eat(p, 'u')) {
        p->bad = true; /* punycode: keep the mangled name */
        return false;
    }
    uint64_t len = decimal(p);
    eat(p, '_');
    if (p->bad || len > p->len - p->pos) {
        p->bad = true;
        return false;
    }
    *s = p->s + p->pos;
    *n = (size_t)len;
    p->pos += (size_t)len;
    return true;
}

static void path(struct v0 *p, bool in_value);
static void type(struct v0 *p);

/* Parses "B<offset>": runs `fn` at that earlier position (a path, type or
 * const said before), then comes back. */
static void backref(struct v0 *p, void (*fn)(struct v0 *, bool), bool arg)
{
    size_t here = p->pos - 1; /* the 'B' */
    uint64_t target = base62(p);
    if (p->bad || target >= here || ++p->depth > MAX_DEPTH) {
        p->bad = true;
        return;
    }
    size_t saved = p->pos;
    p->pos = (size_t)target;
    fn(p, arg);
    p->pos = saved;
    p->depth--;
}

/* Adapters so types and consts can be backref targets too. */
static void type_at(struct v0 *p, bool unused)
{
    (void)unused;
    type(p);
}

static void konst(struct v0 *p);

static void konst_at(struct v0 *p, bool unused)
{
    (void)unused;
    konst(p);
}

static void generic_args(struct v0 *p);

static void konst(struct v0 *p)
{
    if (eat(p, 'B')) {
        backref(p, konst_at, false);
        return;
    }
    if (eat(p, 'p')) {
        puts_(p, "_");
        return;
    }
    char t = next(p);
    bool neg = eat(p, 'n');
    uint64_t v = 0;
    int digits = 0;
    char c;
    while ((c = next(p)) != '_' && !p->bad) {
        int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
        if (d < 0 || ++digits > 16) {
            p->bad = true;
            return;
        }
        v = v << 4 | (uint64_t)d;
    }
    char buf[40];
    if (t == 'b')
        snprintf(buf, sizeof(buf), "%s", v ? "true" : "false");
    else if (t == 'c' && v >= 32 && v < 127)
        snprintf(buf, sizeof(buf), "'%c'", (char)v);
    else if (strchr("hmytjoaslxni", t))
        snprintf(buf, sizeof(buf), "%s%llu", neg ? "-" : "", (unsigned long long)v);
    else
        snprintf(buf, sizeof(buf), "_");
    puts_(p, buf);
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

static void lifetime_opt(struct v0 *p)
{
    if (eat(p, 'L')) {
        uint64_t i = base62(p);
        if (i)
            puts_(p, "'_ ");
    }
}

static void fn_sig(struct v0 *p)
{
    if (eat(p, 'G'))
        base62(p);
    if (eat(p, 'U'))
        puts_(p, "unsafe ");
    if (eat(p, 'K')) {
        if (eat(p, 'C')) {
            puts_(p, "extern \"C\" ");
        } else {
            const char *s;
            size_t n;
            if (!ident(p, &s, &n))
                return;
            puts_(p, "extern \"");
            put(p, s, n);
            puts_(p, "\" ");
        }
    }
    puts_(p, "fn(");
    for (int i = 0; !p->bad && !eat(p, 'E'); i++) {
        if (i)
            puts_(p, ", ");
        type(p);
    }
    puts_(p, ")");
    if (peek(p) == 'u') {
        p->pos++; /* unit return: print nothing */
    } else {
        puts_(p, " -> ");
        type(p);
    }
}

static void type(struct v0 *p)
{
    if (p->bad || ++p->depth > MAX_DEPTH) {
        p->bad = true;
        return;
    }
    char c = next(p);
    const char *basic = basic_type(c);
    if (basic) {
        puts_(p, basic);
    } else {
        switch (c) {
        case 'A':
            puts_(p, "[");
            type(p);
            puts_(p, "; ");
            konst(p);
            puts_(p, "]");
            break;
        case 'S':
            puts_(p, "[");
            type(p);
            puts_(p, "]");
            break;
        case 'T': {
            puts_(p, "(");
            int i = 0;
            for (; !p->bad && !eat(p, 'E'); i++) {
                if (i)
                    puts_(p, ", ");
                type(p);
            }
            puts_(p, i == 1 ? ",)" : ")");
            break;
        }
        case 'R':
        case 'Q':
            puts_(p, c == 'R' ? "&" : "&mut ");
            lifetime_opt(p);
            type(p);
            break;
        case 'P':
        case 'O':
            puts_(p, c == 'P' ? "*const " : "*mut ");
            type(p);
            break;
        case 'F':
            fn_sig(p);
            break;
        case 'D':
            puts_(p, "dyn ");
            if (eat(p, 'G'))
                base62(p);
            for (int i = 0; !p->bad && !eat(p, 'E'); i++) {
                if (i)
                    puts_(p, " + ");
                path(p, false);
                /* Associated types go inside the trait's own generic
                 * arguments: Fn<(A,), Output = R>. */
                for (int b = 0; !p->bad && eat(p, 'p'); b++) {
                    const char *s;
                    size_t n;
                    if (!ident(p, &s, &n))
                        break;
                    if (b == 0 && p->olen && p->out[p->olen - 1] == '>') {
                        p->olen--;
                        puts_(p, ", ");
                    } else {
                        puts_(p, b == 0 ? "<" : ", ");
                    }
                    put(p, s, n);
                    puts_(p, " = ");
                    type(p);
                    if (peek(p) != 'p')
                        puts_(p, ">");
                }
            }
            if (eat(p, 'L'))
                base62(p);
            break;
        case 'B':
            backref(p, type_at, false);
            break;
        default:
            p->pos--; /* a path */
            path(p, false);
        }
    }
    p->depth--;
}

static void generic_args(struct v0 *p)
{
    for (int i = 0; !p->bad && !eat(p, 'E'); i++) {
        if (i)
            puts_(p, ", ");
        if (eat(p, 'L')) {
            base62(p);
            puts_(p, "'_");
        } else if (eat(p, 'K')) {
            konst(p);
        } else {
            type(p);
        }
    }
}

static void path(struct v0 *p, bool in_value)
{
    if (p->bad || ++p->depth > MAX_DEPTH) {
        p->bad = true;
        return;
    }
    char c = next(p);
    const char *s;
    size_t n;
    switch (c) {
    case 'C': /* crate root: its name, without the disambiguator hash */
        opt_disambiguator(p);
        if (ident(p, &s, &n))
            put(p, s, n);
        break;
    case 'M': /* inherent impl: <Type> */
        opt_disambiguator(p);
        {
            size_t mark = p->olen;
            path(p, false); /* the impl's parent path is not printed */
            p->olen = mark;
        }
        puts_(p, "<");
        type(p);
        puts_(p, ">");
        break;
    case 'X': /* trait impl: <Type as Trait> */
        opt_disambiguator(p);
        {
            size_t mark = p->olen;
            path(p, false);
            p->olen = mark;
        }
        puts_(p, "<");
        type(p);
        puts_(p, " as ");
        path(p, false);
        puts_(p, ">");
        break;
    case 'Y': /* trait definition: <Type as Trait> */
        puts_(p, "<");
        type(p);
        puts_(p, " as ");
        path(p, false);
        puts_(p, ">");
        break;
    case 'N': {
        char ns = next(p);
        path(p, in_value);
        uint64_t dis = opt_disambiguator(p);
        if (!ident(p, &s, &n))
            break;
        if (ns >= 'A' && ns <= 'Z') {
            char buf[64];
            puts_(p, "::{");
            if (ns == 'C')
                puts_(p, "closure");
            else if (ns == 'S')
                puts_(p, "shim");
            else
                put(p, &ns, 1);
            if (n) {
                puts_(p, ":");
                put(p, s, n);
            }
            snprintf(buf, sizeof(buf), "#%llu}", (unsigned long long)dis);
            puts_(p, buf);
        } else if (ns >= 'a' && ns <= 'z') {
            puts_(p, "::");
            put(p, s, n);
        } else {
            p->bad = true;
        }
        break;
    }
    case 'I':
        path(p, in_value);
        puts_(p, in_value ? "::<" : "<");
        generic_args(p);
        puts_(p, ">");
        break;
    case 'B':
        backref(p, path, in_value);
        break;
    default:
        p->bad = true;
    }
    p->depth--;
}

char *cg_demangle_rust_v0(const char *name)
{
    if (strncmp(name, "_R", 2) != 0)
        return NULL;
    struct v0 *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->s = name + 2;
    /* A vendor suffix (".llvm.1234") is not part of the grammar. */
    p->len = strcspn(p->s, ".$");
    if (p->len && p->s[0] >= '0' && p->s[0] <= '9')
        decimal(p); /* encoding version */
    path(p, true);
    /* An instantiating crate may follow; it is not printed. */
    char *out = NULL;
    if (!p->bad && p->olen) {
        p->out[p->olen] = '\0';
        out = strdup(p->out);
    }
    free(p);
    return out;
}
