/*
 * agent.h - the agent: its thread, the registry of profiled threads, the
 * aggregation of samples, and the reports.
 *
 * preload/ creates one agent per process (and a fresh one in a fork
 * child), registers threads with it, and feeds it through the rings; the
 * agent thread drains the rings, finds threads the pthread_create wrapper
 * never saw, and every reporting interval (and at stop) turns the samples
 * into a profile document for the sinks.
 *
 * Owns: the registry of profiled threads (and so every ring), the CPU
 * timers, the raw-stack table, the symbolizer, the agent thread and the
 * uploader; settings are copied from the config at creation.
 * Thread safety: cg_agent_new/start/stop/free from one thread (the
 * constructor, destructor or fork child handler).  register/unregister
 * and stand_aside from any thread.
 * Signal safety: only cg_agent_exit_flush_sigsafe,
 * cg_agent_drain_soon_sigsafe and cg_agent_stand_aside_sigsafe are
 * async-signal-safe;
 * the handler touches the rings through the registry, and the agent only
 * to wake its thread.
 */
#ifndef CG_AGENT_H
#define CG_AGENT_H

#include "core/agent/config.h"
#include "core/base/real_fns.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct cg_agent;
struct cg_thread_slot;
struct cg_threads;
struct cg_frame_rules;

struct cg_agent_options {
    int signo;                           /* signal the CPU timers send (SIGPROF) */
    const struct cg_real_fns *real;      /* libc's originals (preload's table, borrowed):
                                            the agent's own threads must not go through
                                            our pthread_create wrapper */
    uint64_t drain_interval_ms;          /* 0: 100 */
    uint64_t rescan_interval_ms;         /* /proc/self/task scan; 0: 1000 */
    uint64_t start_delay_ms;             /* idle wait before the first drain (fork
                                            children that exec soon); 0: none */
    const char *kill_file;               /* stop for good when it exists; NULL:
                                            CG_AGENT_KILL_FILE */
    uint64_t (*start_ticks)(pid_t tid);  /* a thread's start time (/proc/self/task/
                                            TID/stat field 22), 0 when unknown;
                                            NULL: read from /proc; tests inject it */
};

/* The kill switch of CodeGuru's agents: if this file exists, profiling
 * stops for good (checked at start and every second). */
#define CG_AGENT_KILL_FILE "/var/tmp/killProfiler"

/* The self-protection rule, exposed for tests: true when the agent's own
 * CPU time (agent thread plus time inside the signal handler) exceeds
 * limit_percent of the wall time elapsed, once at least 10 s have passed
 * (start-up work such as the first symbol-table loads would otherwise
 * trip it). */
bool cg_agent_over_cpu_limit(uint64_t agent_cpu_ns, uint64_t wall_ns, uint32_t limit_percent);

/* New agent for this process.  Copies what it needs from cfg (the caller
 * keeps cfg).  Returns NULL (logged) on failure. */
struct cg_agent *cg_agent_new(const struct cg_config *cfg, const struct cg_agent_options *opts);

/* Starts the agent thread with every signal blocked.  Returns 0 or -errno. */
int cg_agent_start(struct cg_agent *agent);

/* Stops sampling (disarms and deletes every timer), drains, writes the
 * final report and joins the agent thread, waiting at most timeout_ms.
 * If the thread does not finish in time it is left running detached-like
 * and the call returns CG_ESTATE; the process can still exit.  When
 * nothing was recorded since the last report (no record in a ring, no
 * sample unreported, nothing in the upload queue) there is no final
 * report to wait for: it returns 0 at once and leaves the thread, not
 * joined, to end with the process (do not free the agent then). */
int cg_agent_stop(struct cg_agent *agent, uint64_t timeout_ms);

/* For _exit: when something was recorded since the last report, asks the
 * agent thread to stop, report and flush, and waits for it at most
 * timeout_ms (+200 ms); the thread notices within 20 ms.  Returns at once
 * when nothing was recorded (most fork children: they exec or exit before
 * their first sample).  Async-signal-safe (atomic loads and stores,
 * clock_gettime, getpid, a raw futex wait): _exit may be called from a
 * signal handler.  Does nothing in a vfork child (another pid), on the
 * agent thread, or when the agent is not running.  If the agent thread
 * cannot finish (the caller was interrupted holding a lock it needs), the
 * wait simply times out. */
void cg_agent_exit_flush_sigsafe(struct cg_agent *agent, uint64_t timeout_ms);

/* Has the agent thread drain the rings now rather than at its next
 * interval (one futex wake).  NULL-safe.  Async-signal-safe: the handler
 * calls it when a ring passes half full. */
void cg_agent_drain_soon_sigsafe(struct cg_agent *agent);

/* Frees an agent whose thread was never started or has been joined.
 * NULL-safe.  A fork child never frees its parent's agent (it may be
 * mid-update): it leaks that copy on purpose. */
void cg_agent_free(struct cg_agent *agent);

/* The registry, for the signal handler's lookups. */
struct cg_threads *cg_agent_threads(struct cg_agent *agent);

/* The frame rules the handler walks stacks with (NULL when there is no
 * table); the agent thread learns them from the samples it drains. */
struct cg_frame_rules *cg_agent_frame_rules(struct cg_agent *agent);

/* Registers the calling thread: a ring and an armed CPU timer.  Returns
 * the slot (to keep in TLS), or NULL when the thread cannot be profiled
 * (counted).  `self_exit_hook` says the caller will call
 * cg_agent_unregister_thread from a TLS destructor. */
struct cg_thread_slot *cg_agent_register_current_thread(struct cg_agent *agent,
                                                        bool self_exit_hook);

/* The calling thread is exiting: delete its timer, hand its ring to the
 * agent for a last drain. */
void cg_agent_unregister_thread(struct cg_agent *agent, struct cg_thread_slot *slot);

/* The application took the profiling signal: disarm every timer for good
 * and stop registering threads.  Safe to call from any thread, more than
 * once; logs once. */
void cg_agent_stand_aside(struct cg_agent *agent, const char *why);

/* The same where no lock may be taken: the sigaction, signal and
 * setitimer wrappers, which a program may call from its own signal
 * handler, perhaps interrupting a thread of its own that holds the
 * agent's locks.  Marks the agent stopped and deletes every timer with
 * atomics and one syscall per timer; the agent thread logs the line
 * (`why`: static storage) at its next wake-up (within a drain interval)
 * or before the final report.  NULL-safe.  Async-signal-safe. */
void cg_agent_stand_aside_sigsafe(struct cg_agent *agent, const char *why);

/* True once stand_aside or stop has been called. */
bool cg_agent_is_stopped(const struct cg_agent *agent);

/* A library was loaded or unloaded: symbol tables need a rescan. */
void cg_agent_modules_changed(struct cg_agent *agent);

/* The agent thread's kernel tid (0 before start), so it is never sampled. */
pid_t cg_agent_tid(const struct cg_agent *agent);

#endif
