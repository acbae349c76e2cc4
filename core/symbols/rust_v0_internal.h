/*
 * rust_v0_internal.h - the Rust v0 demangler's parser state and the
 * pieces its three files share.  Private to core/symbols/.
 *   rust_v0_text.c   reading the mangled bytes (base-62 numbers,
 *                    identifiers, punycode, backrefs) and writing the
 *                    bounded output;
 *   rust_v0.c        the grammar's paths, generic arguments, lifetimes
 *                    and binders, and the entry point;
 *   rust_v0_types.c  types (basic, references, arrays, fn, dyn, patterns)
 *                    and const generic values.
 *
 * Owns: the layout of struct cg_v0 (one parse: input, position, output).
 * Thread safety: reentrant; each call of cg_demangle_rust_v0 has its own
 * struct cg_v0.
 * Signal safety: not async-signal-safe (cg_demangle_rust_v0 allocates).
 */
#ifndef CG_RUST_V0_INTERNAL_H
#define CG_RUST_V0_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CG_V0_MAX_DEPTH 500
#define CG_V0_MAX_OUT 4096
#define CG_V0_MAX_PUNYCODE_CHARS 128 /* rustc-demangle's small-decode limit */

struct cg_v0 {
    const char *s;   /* the mangled name after "_R" */
    size_t len, pos;
    char out[CG_V0_MAX_OUT];
    size_t olen;
    int depth;
    uint64_t bound_lifetimes; /* lifetimes bound by enclosing for<...> */
    bool skip;       /* parsing only: nothing printed, backrefs not followed */
    bool full;       /* the output is cut short; the rest is only parsed */
    bool bad;        /* anything wrong: the whole result is NULL */
};

struct cg_v0_ident {
    const char *ascii, *puny; /* puny: the punycode deltas, or NULL */
    size_t alen, plen;
};

/* ---- small readers and writers, inline: they run for every byte ---- */

/* Whether output is wanted now (not skipping, not full, nothing bad). */
static inline bool cg_v0_printing(const struct cg_v0 *p)
{
    return !p->skip && !p->full && !p->bad;
}

/* The next byte, not consumed; NUL at the end. */
static inline char cg_v0_peek(const struct cg_v0 *p)
{
    return p->pos < p->len ? p->s[p->pos] : '\0';
}

/* Consumes c if it comes next. */
static inline bool cg_v0_eat(struct cg_v0 *p, char c)
{
    if (!p->bad && cg_v0_peek(p) == c) {
        p->pos++;
        return true;
    }
    return false;
}

/* Consumes and returns the next byte; past the end the parse is bad. */
static inline char cg_v0_next(struct cg_v0 *p)
{
    if (p->bad || p->pos >= p->len) {
        p->bad = true;
        return '\0';
    }
    return p->s[p->pos++];
}

/* One level deeper; past CG_V0_MAX_DEPTH the parse is bad.  The caller
 * decrements p->depth when it comes back up. */
static inline bool cg_v0_push_depth(struct cg_v0 *p)
{
    if (p->bad || ++p->depth > CG_V0_MAX_DEPTH) {
        p->bad = true;
        return false;
    }
    return true;
}

/* The value of a lower-case hex digit. */
static inline unsigned cg_v0_nibble(char c)
{
    return c <= '9' ? (unsigned)(c - '0') : (unsigned)(c - 'a' + 10);
}

/* A Unicode scalar value: at most U+10FFFF and not a surrogate. */
static inline bool cg_v0_valid_char(uint64_t c)
{
    return c <= 0x10ffff && (c < 0xd800 || c > 0xdfff);
}

/* ---- rust_v0_text.c ---- */

/* Appends whole pieces (never half a UTF-8 sequence); the first that does
 * not fit, with room left for "...", ends the output. */
void cg_v0_put(struct cg_v0 *p, const char *s, size_t n);

void cg_v0_puts(struct cg_v0 *p, const char *s);

void cg_v0_put_u64(struct cg_v0 *p, uint64_t v);

/* One char of a '...' or "..." literal, escaped the way Rust's
 * char::escape_debug does for the cases that matter here: the usual
 * backslash escapes, \u{..} for control characters, the rest as UTF-8.
 * The other kind of quote is not escaped. */
void cg_v0_put_escaped(struct cg_v0 *p, uint32_t c, char quote);

/* <base-62-number>: "_" is 0, else digits then "_" giving value + 1. */
uint64_t cg_v0_int62(struct cg_v0 *p);

/* [tag <base-62-number>]: 0 when absent, else the number + 1. */
uint64_t cg_v0_opt_int62(struct cg_v0 *p, char tag);

/* Lower-case hex digits up to "_": the digits (not NUL-terminated). */
const char *cg_v0_hex_nibbles(struct cg_v0 *p, size_t *n);

/* The value of hex digits, false when it does not fit in 64 bits. */
bool cg_v0_hex_u64(const char *h, size_t n, uint64_t *v);

/* <undisambiguated-identifier> = ["u"] <decimal-number> ["_"] <bytes> */
bool cg_v0_ident(struct cg_v0 *p, struct cg_v0_ident *id);

void cg_v0_put_ident(struct cg_v0 *p, const struct cg_v0_ident *id);

/* After the 'B' of a backref: parses its offset and, when printing, moves
 * there (true; backref_leave comes back).  A backref must point before
 * itself, so it can never loop. */
bool cg_v0_backref_enter(struct cg_v0 *p, size_t *saved);

void cg_v0_backref_leave(struct cg_v0 *p, size_t saved);

/* ---- rust_v0.c: paths, generic arguments, lifetimes ---- */

void cg_v0_lifetime(struct cg_v0 *p, uint64_t lt);

/* [G <base-62-number>]: for<'a, 'b> ... around a fn type or dyn bounds.
 * Returns how many lifetimes it bound (the caller unbinds them). */
uint64_t cg_v0_binder_enter(struct cg_v0 *p);

/* Generic arguments up to 'E', comma-separated. */
void cg_v0_generic_args(struct cg_v0 *p);

void cg_v0_path(struct cg_v0 *p, bool in_value);

/* ---- rust_v0_types.c: types and consts ---- */

void cg_v0_type(struct cg_v0 *p);

/* Const values.  Outside another value (a generic argument), anything but
 * a literal is wrapped in braces: {&42}, {*"abc"}. */
void cg_v0_konst(struct cg_v0 *p, bool in_value);

#endif
