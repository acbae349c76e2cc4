/*
 * preload.h - state shared by the files of the injected object.
 *
 * preload.c owns the process's agent (constructor, destructor, fork);
 * handler.c owns the SIGPROF handler and its per-thread state (in the
 * thread's slot, reached from the thread's word: core/base/thread_tls.h);
 * interpose.c owns the wrappers of libc entry points; python.c the
 * CPython hooks (mprotect, the PLT rule);
 * profile_signal.c owns what the program sees of SIGPROF;
 * lifetime.c owns the count of the program's threads (the process ends
 * when they do, whatever the agent's threads are doing);
 * exit_signals.c owns the SIGTERM/SIGINT/SIGHUP handler the agent installs
 * for signals the program leaves at their default action.
 *
 * Owns: the process's agent pointer (cg_preload_agent) and the table of
 * libc's originals (cg_real); which exit signals the agent holds on the
 * program's behalf.
 * Thread safety: the globals are atomics or written once in the
 * constructor before any other thread can see them; the wrappers run on
 * any application thread.
 * Signal safety: cg_handler_sigsafe, cg_preload_before_exit_sigsafe and
 * cg_preload_app_took_signal are async-signal-safe; so are the sigaction,
 * signal and setitimer wrappers once cg_real_resolve has run (a program
 * may call them from its signal handlers); nothing else here is.
 */
#ifndef CG_PRELOAD_H
#define CG_PRELOAD_H

#include "core/base/real_fns.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/time.h>

struct cg_agent;
struct cg_thread_slot;
struct cg_threads;
struct cg_frame_rules;

#define CG_PROFILE_SIGNAL SIGPROF

/* Exported wrappers can run before any sanitizer runtime is initialised
 * (TSan's own start-up calls sigaction), so `make check` builds must not
 * instrument them. */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define CG_NO_SANITIZE __attribute__((no_sanitize("thread", "address", "undefined")))
#else
#define CG_NO_SANITIZE
#endif
#define CG_EXPORT __attribute__((visibility("default"))) CG_NO_SANITIZE

/* The real libc functions behind our wrappers (dlsym RTLD_NEXT), passed
 * down to core/ by pointer (core/base/real_fns.h). */
extern struct cg_real_fns cg_real;

/* Resolves cg_real: the first call looks libc's functions up (dlsym),
 * every later one only answers.  Returns false if a function cannot be
 * found.  Async-signal-safe once the first call has returned (the
 * constructor makes one). */
bool cg_real_resolve(void);

/* _exit and _Exit: flush the agent (bounded), then exit.  Async-signal-
 * safe.  Defined in preload.c. */
void cg_preload_before_exit_sigsafe(void);

/* The process's agent, NULL when standing down. */
extern _Atomic(struct cg_agent *) cg_preload_agent;

/* ---- handler.c ---- */

/* The SIGPROF handler.  Async-signal-safe. */
void cg_handler_sigsafe(int signo, siginfo_t *info, void *ucontext);

/* Points the handler at a registry (NULL: record nothing). */
void cg_handler_set_threads(struct cg_threads *threads);

/* Publishes the frame rules the handler walks stacks with (NULL: every
 * sample through libunwind).  Set before the threads, cleared after. */
void cg_handler_set_rules(const struct cg_frame_rules *rules);

/* Points the calling thread's word at `slot`'s block and records the
 * thread as the block's owner (NULL: the word points nowhere).  Only for
 * the calling thread's own slot; its handler may cache the same slot
 * meanwhile, which is harmless. */
void cg_handler_set_current_slot(struct cg_thread_slot *slot);

/* Learns the dynamic loader's code range: samples that interrupt ld.so
 * are not unwound (see handler.c).  Call once from the constructor. */
void cg_handler_init_loader_range(void);

/* Learns where libc's calls that can unblock SIGPROF live, so that timer
 * expiries merged while SIGPROF was blocked are counted as dropped rather
 * than charged to the unblocking call (see handler.c).  Call once from the
 * constructor, before the handler is installed. */
void cg_handler_init_unblock_ranges(void);

/* ---- exit_signals.c ---- */

/* For each of SIGTERM, SIGINT, SIGHUP left at SIG_DFL, installs the agent's
 * handler (flush the last period, bounded, then die by the same signal).
 * Call once from the constructor, after the agent thread started. */
void cg_exit_signals_install(void);

/* The sigaction and signal wrappers ask these first.  They return false
 * when the signal is not one the agent holds (the wrapper goes on as
 * usual); else they do the call as the program means it (reporting
 * SIG_DFL as the old disposition, stepping aside for good when the
 * program installs a handler or SIG_IGN), set *rc / *prev and return
 * true. */
bool cg_exit_signals_sigaction(int signo, const struct sigaction *act, struct sigaction *old,
                               int *rc);
bool cg_exit_signals_signal(int signo, sighandler_t handler, sighandler_t *prev);

/* ---- preload.c ---- */

/* Registers the calling (new) thread with the agent; called by the
 * pthread_create trampoline. */
void cg_preload_thread_started(void);

/* The application installed its own SIGPROF handler or ITIMER_PROF: the
 * agent stands aside (timers deleted before this returns; the line is
 * logged by the agent thread).  `what`: static storage.  Async-signal-
 * safe: the wrappers that call it may run in a program's signal handler. */
void cg_preload_app_took_signal(const char *what);

/* The mask the SIGPROF handler runs with: every signal but the
 * synchronous fault signals (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP,
 * SIGSYS); see preload.c. */
void cg_preload_profile_mask(sigset_t *mask);

/* True while our own constructor installs the handler, so the sigaction
 * wrapper lets that call through. */
bool cg_preload_is_our_handler(const struct sigaction *act);

/* ---- profile_signal.c ---- */

/* The agent's SIGPROF handler is installed: from now on the program sees
 * SIG_DFL (or what it sets, SIG_DFL or SIG_IGN) until it installs a
 * handler of its own.  Call once from the constructor. */
void cg_profile_signal_hold(void);

/* The sigaction and signal wrappers ask these first for SIGPROF.  They
 * return false when the wrapper should go on as usual; else they did the
 * call as the program means it, set *rc / *prev and return true.  The
 * caller stands aside first when the program installs a handler. */
bool cg_profile_signal_sigaction(const struct sigaction *act, struct sigaction *old, int *rc);
bool cg_profile_signal_signal(sighandler_t handler, sighandler_t *prev);

/* ---- lifetime.c ---- */

/* Starts counting the program's threads, the calling (main) thread
 * first.  Call once from the constructor, before the agent's threads
 * start. */
void cg_lifetime_init(void);

/* The pthread_create wrapper, before creating a thread for the program:
 * counts it and returns true (false: not counted, e.g. the caller is the
 * agent's own thread).  If the thread could not be created after all,
 * cg_lifetime_thread_not_created takes the count back. */
bool cg_lifetime_thread_creating(void);
void cg_lifetime_thread_not_created(void);

/* The trampoline, first thing on a counted thread: its end will count. */
void cg_lifetime_thread_started(void);

/* Fork child handler: the forking thread is the only one, and the
 * parent's agent threads are gone. */
void cg_lifetime_fork_child(void);

/* ---- python.c ---- */

/* In a CPython process: describe the interpreter's PLT to libunwind and
 * learn the perf trampoline's stub, for a user who turns it on (see
 * python.c).  Call from the constructor once the agent runs. */
void cg_python_setup(void);

#endif
