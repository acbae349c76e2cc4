/*
 * got_redirect.h - pointing one loaded library's imports of a libc
 * function at a function of ours, without touching anyone else's.
 *
 * Why: a library the agent loads for itself (libcurl) makes descriptors it
 * keeps in its own variables (libcurl's wakeup socketpair) through libc's
 * socket calls, at the lowest free numbers and inheritable across exec.
 * Its calls reach libc through its own global offset table (GOT), one
 * slot per imported function; rewriting those slots in that library alone
 * changes what its calls do and leaves the program's calls, and every
 * other library's, as they were.
 *
 * Only for a library the agent loaded itself and no one else uses (the
 * caller checks: dlopen RTLD_NOLOAD before loading it), and before any of
 * its functions that make such calls run.  x86-64 and arm64 relocations
 * (JUMP_SLOT and GLOB_DAT); elsewhere nothing is rewritten.
 *
 * Owns: nothing; the library stays the caller's.
 * Thread safety: any thread, but not concurrently with another redirect
 * of the same library (each slot is written with one aligned store, so
 * threads calling through it see the old function or the new one).
 * Signal safety: none (dlinfo, dl_iterate_phdr).
 */
#ifndef CG_GOT_REDIRECT_H
#define CG_GOT_REDIRECT_H

/* Rewrites every GOT slot through which the library `dl_handle` (from
 * dlopen) imports the function `name` so that it holds `fn`; slots in the
 * read-only-after-relocation part (RELRO) are made writable for the store
 * and read-only again.  Returns the number of slots rewritten (0: the
 * library does not import `name`), or CG_ENOTFOUND when the library's
 * tables cannot be read on this architecture, or -errno when a page could
 * not be made writable (nothing rewritten). */
int cg_got_redirect(void *dl_handle, const char *name, void *fn);

#endif
