/*
 * preload.c - the life of the agent inside a host process.
 *
 * DESIGN: the constructor only resolves config, installs the SIGPROF
 * handler, arms the calling thread's timer and starts the agent thread:
 * no network, no blocking, nothing that can fail the host.  It stands
 * down (one log line, nothing installed) when disabled, when the process
 * is setuid/setgid (AT_SECURE), when neither a profiling group nor an
 * output directory is configured, or when a SIGPROF handler is already
 * installed.  Whether the process is privileged (setuid/setgid, ids that
 * differ, capabilities: cg_config_privilege_reason) is decided first of
 * all, before any environment variable or file is read: then nothing is
 * read, nothing is opened and nothing is printed.
 *
 * Fork: the profiling signal is blocked in the forking thread around
 * fork (a pending signal can make a long clone restart over and over);
 * whether the prepare handler blocked it, and so whether the parent and
 * child handlers unblock it, is a flag in the thread's own word
 * (core/base/thread_tls.h), not a static: glibc 2.36 releases its atfork
 * lock around each handler it calls (nptl/register-atfork.c,
 * __run_prefork_handlers and __run_postfork_handlers), so two threads
 * forking at once run the prepare handlers concurrently (seen here: two
 * at once), and one thread's note would overwrite the other's;
 * the child gets a fresh agent (registry, rings, timer, agent thread) and
 * leaks its copy of the parent's agent on purpose: another thread may have
 * been in the middle of changing it when fork copied memory.
 *
 * Exit: the destructor stops sampling and waits at most 5 s for the final
 * report; SIGTERM, SIGINT and SIGHUP left at their default action get the
 * same flush before the process dies by them (exit_signals.c).  exec needs nothing: POSIX timers die with the old image and
 * LD_PRELOAD brings a fresh agent into the new one.
 *
 * What it won't do: exit, abort, or block the host; export anything but
 * the wrappers in interpose.c.
 */
#include "preload/preload.h"

#include "core/agent/agent.h"
#include "core/agent/config.h"
#include "core/base/fd_floor.h"
#include "core/base/log.h"
#include "core/base/thread_tls.h"
#include "core/runtime/jvm.h"
#include "core/sample/cpu_timer.h"
#include "core/sample/threads.h"
#ifdef CG_MUSL
#include "core/base/error.h"
#include "core/sample/loaded_objects.h"
#include "core/sample/sigreturn.h"
#endif
#include "core/symbols/elf_symtab.h"

#include <dlfcn.h>
#include <errno.h>
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <link.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXIT_FLUSH_TIMEOUT_MS 5000

_Atomic(struct cg_agent *) cg_preload_agent;

static struct cg_config g_cfg;
static pthread_key_t g_exit_key;
static bool g_exit_key_ok;

bool cg_preload_is_our_handler(const struct sigaction *act)
{
    return (act->sa_flags & SA_SIGINFO) && act->sa_sigaction == cg_handler_sigsafe;
}

void cg_preload_profile_mask(sigset_t *mask)
{
    /* Every asynchronous signal waits until the handler returns: the
     * program's handlers never run nested inside it, where a fault of
     * theirs would meet the Java walk's fault guard (core/runtime/jvm.h)
     * and they would find the thread in the middle of a sample.  It costs
     * them the handler's few microseconds of delay.  The synchronous fault
     * signals stay deliverable: raised by an instruction of the handler
     * itself (AsyncGetCallTrace, a guard page), a blocked one would make
     * the kernel kill the process instead of calling the handler that
     * expects it (the JVM's, a seccomp SIGSYS emulator's).  SIGABRT may
     * wait: abort() unblocks it itself.  glibc's sigfillset leaves out its
     * own internal signals (thread cancellation, setxid). */
    sigfillset(mask);
    static const int sync_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS};
    for (size_t i = 0; i < sizeof(sync_signals) / sizeof(sync_signals[0]); i++)
        sigdelset(mask, sync_signals[i]);
}

static void block_profile_signal(sigset_t *old)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, CG_PROFILE_SIGNAL);
    pthread_sigmask(SIG_BLOCK, &s, old);
}

static void unblock_profile_signal(void)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, CG_PROFILE_SIGNAL);
    pthread_sigmask(SIG_UNBLOCK, &s, NULL);
}

static void on_thread_exit(void *p)
{
    struct cg_thread_slot *slot = p;
    struct cg_agent *agent = atomic_load(&cg_preload_agent);
    cg_handler_set_current_slot(NULL);
    if (agent && slot)
        cg_agent_unregister_thread(agent, slot);
}

/* Registers the calling thread and remembers its slot for the handler and
 * for the exit hook. */
static void register_current_thread(struct cg_agent *agent)
{
    struct cg_thread_slot *slot = cg_agent_register_current_thread(agent, g_exit_key_ok);
    cg_handler_set_current_slot(slot);
    if (slot && g_exit_key_ok)
        pthread_setspecific(g_exit_key, slot);
}

void cg_preload_thread_started(void)
{
    struct cg_agent *agent = atomic_load(&cg_preload_agent);
    if (!agent || cg_agent_is_stopped(agent))
        return;
    register_current_thread(agent);
    /* A thread created while its creator blocked SIGPROF would inherit
     * the block and never be sampled. */
    unblock_profile_signal();
}

void cg_preload_app_took_signal(const char *what)
{
    /* Lock-free: sigaction is async-signal-safe, so a program may install
     * its SIGPROF handler from a signal handler that interrupted one of its
     * threads inside the agent (registering itself, under reg_lock). */
    cg_agent_stand_aside_sigsafe(atomic_load(&cg_preload_agent), what);
}

static struct cg_agent *make_agent(uint64_t start_delay_ms)
{
    struct cg_agent_options opts = {
        .signo = CG_PROFILE_SIGNAL,
        .real = &cg_real,
        .start_delay_ms = start_delay_ms,
    };
    return cg_agent_new(&g_cfg, &opts);
}

static void fork_prepare(void)
{
    sigset_t old;
    block_profile_signal(&old);
    /* Blocked now, so the handler cannot run between the read and the
     * write of the word. */
    cg_thread_tls_set_flag(CG_TLS_FORK_UNBLOCK, !sigismember(&old, CG_PROFILE_SIGNAL));
}

/* After fork, in the parent and in the child: the profiling signal is
 * unblocked again if fork_prepare blocked it on this thread, and left
 * blocked if the thread had it blocked already. */
static void fork_restore_mask(void)
{
    bool unblock = cg_thread_tls_has(CG_TLS_FORK_UNBLOCK);
    cg_thread_tls_set_flag(CG_TLS_FORK_UNBLOCK, false);
    if (unblock)
        unblock_profile_signal();
}

static void fork_parent(void)
{
    fork_restore_mask();
}

static void fork_child(void)
{
    /* The JVM does not exist in a fork child: no Java walks, no attach. */
    cg_jvm_forget_in_child();
    cg_lifetime_fork_child();
    struct cg_agent *old = atomic_load(&cg_preload_agent);
    if (old && !cg_agent_is_stopped(old)) {
        /* The parent's agent copy is leaked: see DESIGN. */
        cg_handler_set_threads(NULL);
        cg_handler_set_rules(NULL);
        cg_handler_set_current_slot(NULL);
        /* A short delay before the child's agent does any work: most
         * fork children exec at once, and exec ends the thread. */
        struct cg_agent *agent = make_agent(50);
        atomic_store(&cg_preload_agent, agent);
        if (agent) {
            cg_handler_set_rules(cg_agent_frame_rules(agent));
            cg_handler_set_threads(cg_agent_threads(agent));
            register_current_thread(agent);
            if (cg_agent_start(agent) != 0) {
                cg_agent_stand_aside(agent, "cannot start the agent thread in a fork child");
            }
        }
    }
    fork_restore_mask();
}

/* Initialises libunwind's local unwinder, the one the handler uses.  Its
 * first initialisation opens a memory-validation pipe it keeps for good,
 * with libc's pipe2 (it was loaded with the shim, in the program's scope,
 * so bridge.c's pipe2 does not reach it): run under
 * cg_fd_run_above_floor, the pipe lands at or above the floor, and the
 * handler never runs libunwind's set-up (docs/internals.md,
 * "Descriptors"). */
static void init_local_unwinder(void *arg)
{
    (void)arg;
    unw_context_t uc;
    unw_cursor_t cursor;
    if (unw_getcontext(&uc) == 0)
        unw_init_local(&cursor, &uc);
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Why the agent should not run here, or NULL. */
static const char *stand_down_reason(void)
{
    /* Go's runtime owns its signals (it installs a SIGPROF handler of its
     * own at start and has its own profiler): stay out unless asked. */
    if (!g_cfg.profile_go && cg_elf_has_section("/proc/self/exe", ".go.buildinfo"))
        return "a Go program (its runtime owns the signals; CGAGENT_PROFILE_GO=true "
               "profiles it anyway)";
    if (!g_cfg.enabled)
        return "disabled by configuration";
    if (!g_cfg.profiling_group && !g_cfg.output_dir)
        return "no profiling group and no output directory configured";
    if (access(CG_AGENT_KILL_FILE, F_OK) == 0)
        return CG_AGENT_KILL_FILE " exists (kill switch)";
    struct sigaction cur;
    if (cg_real.real_sigaction(CG_PROFILE_SIGNAL, NULL, &cur) == 0 &&
        ((cur.sa_flags & SA_SIGINFO) ||
         (cur.sa_handler != SIG_DFL && cur.sa_handler != SIG_IGN)))
        return "a SIGPROF handler is already installed";
    return NULL;
}

__attribute__((constructor)) static void cgagent_init(int argc, char **argv)
{
    int saved_errno = errno;
#ifdef CG_MUSL
    /* musl calls constructors with no arguments (argc and argv hold
     * whatever the registers did); its program_invocation_name is argv[0],
     * set before any constructor runs. */
    char *musl_argv[] = {program_invocation_name, NULL};
    argc = program_invocation_name ? 1 : 0;
    argv = musl_argv;
#endif
    /* libc's functions first, in every process (it reads nothing): the
     * wrappers' lazy dlsym() is then left for calls made before this
     * constructor, and a privileged process's signal handler that calls
     * sigaction() (async-signal-safe) never reaches it. */
    bool resolved = cg_real_resolve();
    /* Before any variable or file is read: a privileged process takes no
     * orders from its environment (not even where to log), so it stays
     * silent too. */
    struct cg_process_ids ids;
    cg_config_process_ids(&ids);
    if (cg_config_privilege_reason(&ids))
        goto out;
    cg_log_note_stderr_state();
    if (!resolved) {
        CG_ERROR("cannot find libc's pthread_create/sigaction; the agent stays off");
        goto out;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    exe[n > 0 ? n : 0] = '\0';
    struct cg_config_source src = {
        .exe_name = n > 0 ? base_name(exe) : NULL,
        .argv0_name = argc > 0 && argv && argv[0] ? base_name(argv[0]) : NULL,
    };
    /* Log settings first, so config errors go where the user asked. */
    const char *lvl = secure_getenv("CGAGENT_LOG");
    enum cg_log_level level;
    if (lvl && cg_log_level_parse(lvl, &level) == 0)
        cg_log_set_level(level);
    const char *log_file = secure_getenv("CGAGENT_LOG_FILE");
    int lrc = 0;
    if (log_file && *log_file && (lrc = cg_log_set_file(log_file)) != 0)
        CG_WARN("CGAGENT_LOG_FILE=%s: cannot open: %s; logging to stderr", log_file,
                cg_log_file_problem(lrc));

    if (cg_config_load(&g_cfg, &src) != 0)
        goto out; /* logged */
    cg_log_set_level(g_cfg.log_level);
    if (g_cfg.log_file && !log_file && (lrc = cg_log_set_file(g_cfg.log_file)) != 0)
        CG_WARN("log_file %s: cannot open: %s; logging to stderr", g_cfg.log_file,
                cg_log_file_problem(lrc));

    /* Thread CPU-clock timers fire at most once per kernel tick: above
     * CONFIG_HZ the extra rate would only be an illusion in sampleWeights.
     * The default (100) is within every kernel's tick rate, so the tick is
     * looked up only when more is asked for. */
    if (g_cfg.cpu_hz > 100) {
        uint32_t hz = cg_cpu_timer_kernel_hz();
        if (hz && g_cfg.cpu_hz > hz) {
            CG_WARN("cpu_hz=%u is above the kernel's tick rate (CONFIG_HZ=%u), the most a "
                    "thread CPU-clock timer can deliver; sampling at %u per CPU-second",
                    g_cfg.cpu_hz, hz, hz);
            g_cfg.cpu_hz = hz;
        }
    }
    const char *why = stand_down_reason();
    if (why) {
        /* Disabled or unconfigured is a choice, not a problem. */
        if (!g_cfg.enabled || strncmp(why, "a Go program", 12) == 0 ||
            (!g_cfg.profiling_group && !g_cfg.output_dir))
            CG_INFO("%s: the agent stays off", why);
        else
            CG_WARN("%s: the agent stays off", why);
        goto out;
    }
    struct cg_agent *agent = make_agent(0);
    if (!agent) {
        CG_ERROR("cannot create the agent: out of memory; the agent stays off");
        goto out;
    }
    cg_handler_init_loader_range();
    cg_handler_init_unblock_ranges();
    cg_fd_run_above_floor(init_local_unwinder, NULL);
    cg_handler_set_rules(cg_agent_frame_rules(agent));
    cg_handler_set_threads(cg_agent_threads(agent));
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = cg_handler_sigsafe;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    cg_preload_profile_mask(&sa.sa_mask);
    if (cg_real.real_sigaction(CG_PROFILE_SIGNAL, &sa, NULL) != 0) {
        CG_ERROR("cannot install the SIGPROF handler: %s; the agent stays off", strerror(errno));
        cg_handler_set_threads(NULL);
        cg_handler_set_rules(NULL);
        cg_agent_free(agent);
        goto out;
    }
#ifdef CG_MUSL
    /* Before any timer runs: the objects libunwind may look in from the
     * handler, and the signal trampoline it must step through to leave
     * the handler (core/sample/loaded_objects.h, core/sample/sigreturn.h). */
    cg_loaded_objects_refresh();
    int trc = cg_sigreturn_init(CG_PROFILE_SIGNAL);
    if (trc != 0) /* info: a libc variant to report, nothing to fix here */
        CG_INFO("cannot find musl's signal trampoline (%s): samples that need libunwind "
                "keep only their first frame",
                cg_strerror(trc));
#endif
    cg_profile_signal_hold();
    g_exit_key_ok = pthread_key_create(&g_exit_key, on_thread_exit) == 0;
    atomic_store(&cg_preload_agent, agent);
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    cg_lifetime_init();
    register_current_thread(agent);
    if (cg_agent_start(agent) != 0) {
        cg_agent_stand_aside(agent, "cannot start the agent thread");
        goto out;
    }
    cg_exit_signals_install();
    cg_python_setup();
    CG_INFO("profiling %s: cpu_hz=%u, output %s", g_cfg.program_name ? g_cfg.program_name : "?",
            g_cfg.cpu_hz, g_cfg.output_dir ? g_cfg.output_dir : "(none)");
out:
    errno = saved_errno;
}

void cg_preload_before_exit_sigsafe(void)
{
    int saved_errno = errno;
    cg_agent_exit_flush_sigsafe(atomic_load(&cg_preload_agent), EXIT_FLUSH_TIMEOUT_MS);
    errno = saved_errno;
}

__attribute__((destructor)) static void cgagent_fini(void)
{
    int saved_errno = errno;
    struct cg_agent *agent = atomic_load(&cg_preload_agent);
    if (agent) {
        /* Nothing is freed: other threads run on until _exit, and a late
         * signal may still look at the registry. */
        cg_agent_stop(agent, EXIT_FLUSH_TIMEOUT_MS);
    }
    errno = saved_errno;
}
