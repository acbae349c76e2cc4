/*
 * rust_v0_types.c - types and const generic values of the Rust v0
 * mangling, printed as rustc-demangle prints them with "{:#}" (rust_v0.c
 * has the design): basic types, references and pointers, arrays and
 * slices, tuples, fn pointers with their binders and ABIs, dyn traits with
 * associated types, pattern types, and every const value kind (integers,
 * bool, char, str, references, arrays, tuples, ADTs).
 *
 * What it won't do: print a const's type suffix, or accept a value that
 * does not fit its kind.
 */
#include "core/symbols/rust_v0_internal.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void fn_sig(struct cg_v0 *p)
{
    uint64_t bound = cg_v0_binder_enter(p);
    bool is_unsafe = cg_v0_eat(p, 'U');
    const char *abi = NULL;
    size_t abi_len = 0;
    if (cg_v0_eat(p, 'K')) {
        struct cg_v0_ident id;
        if (cg_v0_eat(p, 'C')) {
            abi = "C";
            abi_len = 1;
        } else if (cg_v0_ident(p, &id)) {
            if (id.puny || id.alen == 0)
                p->bad = true;
            abi = id.ascii;
            abi_len = id.alen;
        }
    }
    if (is_unsafe)
        cg_v0_puts(p, "unsafe ");
    if (abi) {
        /* The mangling spells "-" in ABI names as "_". */
        cg_v0_puts(p, "extern \"");
        for (size_t i = 0; i < abi_len; i++)
            cg_v0_put(p, abi[i] == '_' ? "-" : abi + i, 1);
        cg_v0_puts(p, "\" ");
    }
    cg_v0_puts(p, "fn(");
    for (int i = 0; !p->bad && !cg_v0_eat(p, 'E'); i++) {
        if (i)
            cg_v0_puts(p, ", ");
        cg_v0_type(p);
    }
    cg_v0_put(p, ")", 1);
    if (!cg_v0_eat(p, 'u')) { /* a unit return is not printed */
        cg_v0_puts(p, " -> ");
        cg_v0_type(p);
    }
    p->bound_lifetimes -= bound;
}

/* A trait path whose "<...>" stays open (true) so that associated type
 * bindings can go inside it: dyn Fn<(A,), Output = R>. */
static bool path_maybe_open_generics(struct cg_v0 *p)
{
    if (cg_v0_eat(p, 'B')) {
        size_t saved;
        bool open = false;
        if (cg_v0_backref_enter(p, &saved)) {
            open = path_maybe_open_generics(p);
            cg_v0_backref_leave(p, saved);
        }
        return open;
    }
    if (cg_v0_eat(p, 'I')) {
        cg_v0_path(p, false);
        cg_v0_put(p, "<", 1);
        cg_v0_generic_args(p);
        return true;
    }
    cg_v0_path(p, false);
    return false;
}

static void dyn_trait(struct cg_v0 *p)
{
    bool open = path_maybe_open_generics(p);
    while (!p->bad && cg_v0_eat(p, 'p')) {
        cg_v0_puts(p, open ? ", " : "<");
        open = true;
        struct cg_v0_ident id;
        if (!cg_v0_ident(p, &id))
            return;
        cg_v0_put_ident(p, &id);
        cg_v0_puts(p, " = ");
        cg_v0_type(p);
    }
    if (open)
        cg_v0_put(p, ">", 1);
}

/* Pattern types (W): u32 is 1..=9 */
static void pattern(struct cg_v0 *p)
{
    char tag = cg_v0_next(p);
    switch (tag) {
    case 'R':
        cg_v0_konst(p, false);
        cg_v0_puts(p, "..=");
        cg_v0_konst(p, false);
        break;
    case 'O':
        if (!cg_v0_push_depth(p))
            return;
        pattern(p);
        while (!p->bad && !cg_v0_eat(p, 'E')) {
            cg_v0_puts(p, " | ");
            pattern(p);
        }
        p->depth--;
        break;
    case 'N':
        cg_v0_puts(p, "!null");
        break;
    default:
        p->bad = true;
    }
}

void cg_v0_type(struct cg_v0 *p)
{
    char tag = cg_v0_next(p);
    const char *basic = basic_type(tag);
    if (basic) {
        cg_v0_puts(p, basic);
        return;
    }
    if (!cg_v0_push_depth(p))
        return;
    switch (tag) {
    case 'R':
    case 'Q':
        cg_v0_put(p, "&", 1);
        if (cg_v0_eat(p, 'L')) {
            uint64_t lt = cg_v0_int62(p);
            if (lt) {
                cg_v0_lifetime(p, lt);
                cg_v0_put(p, " ", 1);
            }
        }
        if (tag == 'Q')
            cg_v0_puts(p, "mut ");
        cg_v0_type(p);
        break;
    case 'P':
    case 'O':
        cg_v0_puts(p, tag == 'P' ? "*const " : "*mut ");
        cg_v0_type(p);
        break;
    case 'A':
    case 'S':
        cg_v0_put(p, "[", 1);
        cg_v0_type(p);
        if (tag == 'A') {
            cg_v0_puts(p, "; ");
            cg_v0_konst(p, true);
        }
        cg_v0_put(p, "]", 1);
        break;
    case 'T': {
        cg_v0_put(p, "(", 1);
        int i = 0;
        for (; !p->bad && !cg_v0_eat(p, 'E'); i++) {
            if (i)
                cg_v0_puts(p, ", ");
            cg_v0_type(p);
        }
        cg_v0_puts(p, i == 1 ? ",)" : ")");
        break;
    }
    case 'F':
        fn_sig(p);
        break;
    case 'D': {
        cg_v0_puts(p, "dyn ");
        uint64_t bound = cg_v0_binder_enter(p);
        for (int i = 0; !p->bad && !cg_v0_eat(p, 'E'); i++) {
            if (i)
                cg_v0_puts(p, " + ");
            dyn_trait(p);
        }
        p->bound_lifetimes -= bound;
        if (!cg_v0_eat(p, 'L')) {
            p->bad = true;
            break;
        }
        uint64_t lt = cg_v0_int62(p);
        if (lt) {
            cg_v0_puts(p, " + ");
            cg_v0_lifetime(p, lt);
        }
        break;
    }
    case 'W':
        cg_v0_type(p);
        cg_v0_puts(p, " is ");
        pattern(p);
        break;
    case 'B': {
        size_t saved;
        if (cg_v0_backref_enter(p, &saved)) {
            cg_v0_type(p);
            cg_v0_backref_leave(p, saved);
        }
        break;
    }
    default:
        p->pos--; /* a path: the tag is its first byte */
        cg_v0_path(p, false);
    }
    p->depth--;
}

/* An integer const's digits: decimal when it fits in 64 bits, else 0x... */
static void const_uint(struct cg_v0 *p)
{
    size_t n;
    const char *h = cg_v0_hex_nibbles(p, &n);
    uint64_t v;
    if (!h)
        return;
    if (cg_v0_hex_u64(h, n, &v)) {
        cg_v0_put_u64(p, v);
    } else {
        cg_v0_puts(p, "0x");
        cg_v0_put(p, h, n);
    }
}

/* A str const's bytes as a quoted literal (strict UTF-8). */
static void const_str(struct cg_v0 *p)
{
    size_t n;
    const char *h = cg_v0_hex_nibbles(p, &n);
    if (!h)
        return;
    if (n % 2) {
        p->bad = true;
        return;
    }
    cg_v0_put(p, "\"", 1);
    for (size_t i = 0; i < n && !p->bad;) {
        unsigned b = cg_v0_nibble(h[i]) << 4 | cg_v0_nibble(h[i + 1]);
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
            unsigned cb = cg_v0_nibble(h[i]) << 4 | cg_v0_nibble(h[i + 1]);
            if ((cb & 0xc0) != 0x80) {
                p->bad = true;
                return;
            }
            c = c << 6 | (cb & 0x3f);
        }
        if (c < min[more] || !cg_v0_valid_char(c)) {
            p->bad = true;
            return;
        }
        cg_v0_put_escaped(p, c, '"');
    }
    cg_v0_put(p, "\"", 1);
}

static bool open_brace(struct cg_v0 *p, bool in_value)
{
    if (!in_value)
        cg_v0_put(p, "{", 1);
    return !in_value;
}

void cg_v0_konst(struct cg_v0 *p, bool in_value)
{
    char tag = cg_v0_next(p);
    if (!cg_v0_push_depth(p))
        return;
    bool braces = false;
    switch (tag) {
    case 'p':
        cg_v0_put(p, "_", 1);
        break;
    case 'h': case 't': case 'm': case 'y': case 'o': case 'j':
        const_uint(p);
        break;
    case 'a': case 's': case 'l': case 'x': case 'n': case 'i':
        if (cg_v0_eat(p, 'n'))
            cg_v0_put(p, "-", 1);
        const_uint(p);
        break;
    case 'b':
    case 'c': {
        size_t n;
        const char *h = cg_v0_hex_nibbles(p, &n);
        uint64_t v;
        if (!h || !cg_v0_hex_u64(h, n, &v) || (tag == 'b' ? v > 1 : !cg_v0_valid_char(v))) {
            p->bad = true;
            break;
        }
        if (tag == 'b') {
            cg_v0_puts(p, v ? "true" : "false");
        } else {
            cg_v0_put(p, "'", 1);
            cg_v0_put_escaped(p, (uint32_t)v, '\'');
            cg_v0_put(p, "'", 1);
        }
        break;
    }
    case 'e':
        /* A str value: *"..." (a literal is a &str). */
        braces = open_brace(p, in_value);
        cg_v0_put(p, "*", 1);
        const_str(p);
        break;
    case 'R':
    case 'Q':
        if (tag == 'R' && cg_v0_eat(p, 'e')) {
            const_str(p);
        } else {
            braces = open_brace(p, in_value);
            cg_v0_puts(p, tag == 'R' ? "&" : "&mut ");
            cg_v0_konst(p, true);
        }
        break;
    case 'A':
    case 'T': {
        braces = open_brace(p, in_value);
        cg_v0_put(p, tag == 'A' ? "[" : "(", 1);
        int i = 0;
        for (; !p->bad && !cg_v0_eat(p, 'E'); i++) {
            if (i)
                cg_v0_puts(p, ", ");
            cg_v0_konst(p, true);
        }
        if (tag == 'T' && i == 1)
            cg_v0_put(p, ",", 1);
        cg_v0_put(p, tag == 'A' ? "]" : ")", 1);
        break;
    }
    case 'V': { /* a struct or enum value */
        braces = open_brace(p, in_value);
        cg_v0_path(p, true);
        char kind = cg_v0_next(p);
        if (kind == 'U')
            break;
        if (kind != 'T' && kind != 'S') {
            p->bad = true;
            break;
        }
        cg_v0_puts(p, kind == 'T' ? "(" : " { ");
        for (int i = 0; !p->bad && !cg_v0_eat(p, 'E'); i++) {
            if (i)
                cg_v0_puts(p, ", ");
            if (kind == 'S') {
                struct cg_v0_ident id;
                cg_v0_opt_int62(p, 's');
                if (!cg_v0_ident(p, &id))
                    break;
                cg_v0_put_ident(p, &id);
                cg_v0_puts(p, ": ");
            }
            cg_v0_konst(p, true);
        }
        cg_v0_puts(p, kind == 'T' ? ")" : " }");
        break;
    }
    case 'B': {
        size_t saved;
        if (cg_v0_backref_enter(p, &saved)) {
            cg_v0_konst(p, in_value);
            cg_v0_backref_leave(p, saved);
        }
        break;
    }
    default:
        p->bad = true;
    }
    if (braces)
        cg_v0_put(p, "}", 1);
    p->depth--;
}
