/*
 * demangle.h - readable names for C++ and Rust symbols.
 *
 * C++ (_Z…) goes through the C++ ABI demangler (__cxa_demangle) when the
 * process has one loaded (found with dlsym; the agent does not link
 * libstdc++ into C programs).  Rust legacy names (_ZN…17h<hash>E) are
 * demangled the same way, then the hash is dropped and Rust's $…$ escapes
 * are decoded.  Rust v0 names (_R…) are decoded by our own parser
 * (demangle_rust_v0.c), printed without crate hashes.
 *
 * Owns: nothing; every result is malloc'd and the caller's.
 * Thread safety: reentrant (the agent thread; the fuzz target).
 * Signal safety: none (it allocates).
 */
#ifndef CG_DEMANGLE_H
#define CG_DEMANGLE_H

/* A malloc'd readable name, or NULL when `name` is not mangled or cannot
 * be demangled here (callers keep the raw name). */
char *cg_demangle(const char *name);

/* The name a person reads for a symbol-table entry: compiler clone
 * suffixes folded (".constprop.N", ".isra.N", ".part.N", ".cold",
 * ".lto_priv.N", ".llvm.N": users think of all of them as the function),
 * then demangled where possible.  The suffix is cut from the raw name, so
 * a C++ clone reads "f(int)", not "f(int) [clone .isra.0]".  Returns a
 * malloc'd string (NULL only when out of memory). */
char *cg_demangle_symbol(const char *raw);

/* Rust v0 only: the readable path, or NULL (not v0, or not understood). */
char *cg_demangle_rust_v0(const char *name);

#endif
