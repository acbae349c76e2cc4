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
#include "core/symbols/rust_v0_internal.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cg_v0_lifetime(struct cg_v0 *p, uint64_t lt)
{
    if (!cg_v0_printing(p))
        return;
    if (lt == 0) {
        cg_v0_puts(p, "'_");
        return;
    }
    if (lt > p->bound_lifetimes) {
        p->bad = true;
        return;
    }
    uint64_t depth = p->bound_lifetimes - lt;
    if (depth < 26) {
        char buf[2] = {'\'', (char)('a' + depth)};
        cg_v0_put(p, buf, 2);
    } else {
        cg_v0_puts(p, "'_");
        cg_v0_put_u64(p, depth);
    }
}

uint64_t cg_v0_binder_enter(struct cg_v0 *p)
{
    uint64_t n = cg_v0_opt_int62(p, 'G');
    if (!cg_v0_printing(p) || n == 0)
        return 0;
    if (n > CG_V0_MAX_OUT) {
        p->bad = true; /* would not fit anyway */
        return 0;
    }
    cg_v0_puts(p, "for<");
    for (uint64_t i = 0; i < n; i++) {
        if (i)
            cg_v0_puts(p, ", ");
        p->bound_lifetimes++;
        cg_v0_lifetime(p, 1);
    }
    cg_v0_puts(p, "> ");
    return n;
}

static void generic_arg(struct cg_v0 *p)
{
    if (cg_v0_eat(p, 'L'))
        cg_v0_lifetime(p, cg_v0_int62(p));
    else if (cg_v0_eat(p, 'K'))
        cg_v0_konst(p, false);
    else
        cg_v0_type(p);
}

void cg_v0_generic_args(struct cg_v0 *p)
{
    for (int i = 0; !p->bad && !cg_v0_eat(p, 'E'); i++) {
        if (i)
            cg_v0_puts(p, ", ");
        generic_arg(p);
    }
}

void cg_v0_path(struct cg_v0 *p, bool in_value)
{
    if (!cg_v0_push_depth(p))
        return;
    char tag = cg_v0_next(p);
    struct cg_v0_ident id;
    switch (tag) {
    case 'C': /* crate root; its disambiguator is the hash we leave out */
        cg_v0_opt_int62(p, 's');
        if (cg_v0_ident(p, &id))
            cg_v0_put_ident(p, &id);
        break;
    case 'N': {
        char ns = cg_v0_next(p);
        if (!((ns >= 'A' && ns <= 'Z') || (ns >= 'a' && ns <= 'z'))) {
            p->bad = true;
            break;
        }
        cg_v0_path(p, in_value);
        uint64_t dis = cg_v0_opt_int62(p, 's');
        if (!cg_v0_ident(p, &id))
            break;
        bool named = id.alen || id.plen;
        if (ns >= 'A' && ns <= 'Z') {
            /* special namespaces: {closure#N}, {shim:vtable#N}, ... */
            cg_v0_puts(p, "::{");
            if (ns == 'C')
                cg_v0_puts(p, "closure");
            else if (ns == 'S')
                cg_v0_puts(p, "shim");
            else
                cg_v0_put(p, &ns, 1);
            if (named) {
                cg_v0_put(p, ":", 1);
                cg_v0_put_ident(p, &id);
            }
            cg_v0_put(p, "#", 1);
            cg_v0_put_u64(p, dis);
            cg_v0_put(p, "}", 1);
        } else if (named) {
            cg_v0_puts(p, "::");
            cg_v0_put_ident(p, &id);
        }
        break;
    }
    case 'M': /* inherent impl: <Type> */
    case 'X': /* trait impl: <Type as Trait> */
    case 'Y': /* trait definition: <Type as Trait> */
        if (tag != 'Y') {
            /* The impl's own cg_v0_path (where it was written) is not printed. */
            cg_v0_opt_int62(p, 's');
            bool was = p->skip;
            p->skip = true;
            cg_v0_path(p, false);
            p->skip = was;
        }
        cg_v0_put(p, "<", 1);
        cg_v0_type(p);
        if (tag != 'M') {
            cg_v0_puts(p, " as ");
            cg_v0_path(p, false);
        }
        cg_v0_put(p, ">", 1);
        break;
    case 'I':
        cg_v0_path(p, in_value);
        cg_v0_puts(p, in_value ? "::<" : "<");
        cg_v0_generic_args(p);
        cg_v0_put(p, ">", 1);
        break;
    case 'B': {
        size_t saved;
        if (cg_v0_backref_enter(p, &saved)) {
            cg_v0_path(p, in_value);
            cg_v0_backref_leave(p, saved);
        }
        break;
    }
    default:
        p->bad = true;
    }
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
    struct cg_v0 *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->s = s;
    p->len = len;
    cg_v0_path(p, true);
    /* The instantiating crate, if any, is not printed. */
    char c = cg_v0_peek(p);
    if (!p->bad && c >= 'A' && c <= 'Z') {
        p->skip = true;
        cg_v0_path(p, false);
        p->skip = false;
    }
    char *out = NULL;
    if (!p->bad && p->pos < p->len) {
        if (symbol_like_suffix(p->s + p->pos, p->len - p->pos))
            cg_v0_put(p, p->s + p->pos, p->len - p->pos);
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
