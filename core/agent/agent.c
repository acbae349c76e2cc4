/*
 * agent.c - the agent thread: drain, discover threads, report.
 *
 * DESIGN: one thread wakes every drain interval (100 ms), moves every
 * ring's records into the raw-stack table, scans /proc/self/task every
 * second for threads the pthread_create wrapper did not see, and at each
 * reporting interval symbolizes the unique stacks, builds the call tree,
 * encodes the profile document and hands it to the sinks.  All of that
 * work (malloc, file I/O, symbol tables) happens here, never in the
 * handler and never on an application thread.
 *
 * Lock order: reg_lock (registration) is taken alone; wake_lock guards
 * the stop/done flags and is never held while calling out.
 *
 * What it won't do: keep a process from exiting (stop waits at most the
 * caller's timeout), or free anything a late signal could still touch at
 * process exit (rings stay mapped until cg_agent_free).
 */
#include "core/agent/agent.h"

#include "core/base/error.h"
#include "core/base/log.h"
#include "core/profile/calltree.h"
#include "core/profile/profile_doc.h"
#include "core/sample/cpu_timer.h"
#include "core/sample/ring.h"
#include "core/sample/stackagg.h"
#include "core/sample/threads.h"
#include "core/sample/wall.h"
#include "core/symbols/symbolizer.h"
#include "core/upload/fleet.h"
#include "core/upload/sink_local.h"
#include "core/upload/uploader.h"

#include <dirent.h>
#include <errno.h>
#include <gnu/libc-version.h>
#include <link.h>
#include <stddef.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>


struct cg_agent {
    /* settings copied at creation */
    uint32_t cpu_hz;
    uint32_t wall_interval_ms;
    uint32_t max_stack_depth;
    uint64_t reporting_interval_ms;
    char *output_dir;
    char *profile_name;     /* group name, else program name: file names */
    uint32_t cpu_limit_percent;
    uint64_t memory_limit_bytes;
    const char *kill_file;
    struct cg_agent_options opts;

    struct cg_threads *threads;
    pthread_mutex_t reg_lock; /* registration: find-then-claim is atomic */
    _Atomic bool stopped;     /* stand_aside or stop: no more timers */
    _Atomic bool modules_changed;
    _Atomic pid_t tid;
    _Atomic uint64_t unprofiled_threads; /* registry full or timer failed */

    pthread_t thread;
    bool thread_started;
    pthread_mutex_t wake_lock;
    pthread_cond_t wake_cond;
    bool stop_requested;      /* guarded by wake_lock */
    bool kicked;              /* guarded by wake_lock: drain now */
    _Atomic size_t exited_pending; /* EXITED slots not yet reclaimed */
    bool done;                /* guarded by wake_lock */

    /* agent-thread state */
    struct cg_stackagg *stacks;
    struct cg_symbolizer *symbolizer;
    struct cg_wall *wall;        /* created at the first wall tick */
    uint64_t *wall_scratch;      /* CG_MAX_UNWIND_FRAMES pcs */
    uint64_t wall_unwinds, wall_reused, wall_moved; /* for debug logging */
    uint64_t period_start_ms;   /* epoch ms */
    uint64_t last_sample_ms;    /* epoch ms of the last drained sample */
    uint64_t period_cpu_ns;     /* process CPU at period start */
    uint64_t period_agent_ns;   /* agent thread CPU at period start */
    uint64_t period_upload_ns;  /* upload thread CPU at period start */
    uint64_t samples_in_period;
    uint64_t drops_in_period;
    uint64_t handler_ns_in_period; /* time spent in the handler, all threads */
    uint64_t handler_calls_in_period;
    uint64_t threads_seen_max;
    uint64_t loader_generation; /* dlpi_adds + dlpi_subs at the last check */
    uint64_t started_mono_ns;     /* when the agent thread started */
    uint64_t handler_ns_total;    /* handler time since start, all threads */
    size_t last_tree_bytes;       /* memory of the last call tree built */
    char fleet_id[37];
    char runtime_version[32];
    uint32_t vcpus;

    /* CodeGuru Profiler delivery (NULL without a profiling group) */
    struct cg_uploader *uploader;
    /* What ConfigureAgent asked for, set from the uploader thread and
     * taken over by the agent thread at its next wake-up (0: no change). */
    _Atomic bool paused;              /* shouldProfile=false or a setup error */
    bool paused_applied;              /* agent thread: timers disarmed */
    _Atomic uint64_t svc_reporting_interval_ms;
    _Atomic uint32_t svc_wall_interval_ms;
    _Atomic uint32_t svc_max_stack_depth;
    _Atomic bool svc_changed;
    pid_t pid;                        /* the process this agent belongs to */
    _Atomic bool exit_requested;      /* _exit: stop and flush (set sigsafe) */
    _Atomic uint64_t stop_deadline_ns;/* CLOCK_MONOTONIC; 0: none set */
    _Atomic bool finished;            /* the thread is done (read sigsafe) */
    struct cg_fleet fleet;            /* written once by the uploader, then */
    _Atomic bool fleet_ready;         /* published here; read by the agent */
};

static uint64_t clock_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t epoch_ms(void)
{
    return clock_ns(CLOCK_REALTIME) / 1000000u;
}

static pid_t current_tid(void)
{
    return (pid_t)syscall(SYS_gettid);
}

static void make_uuid(char out[37])
{
    unsigned char b[16];
    if (getrandom(b, sizeof(b), GRND_NONBLOCK) != (ssize_t)sizeof(b)) {
        uint64_t x = clock_ns(CLOCK_REALTIME) ^ ((uint64_t)getpid() << 32);
        for (size_t i = 0; i < sizeof(b); i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            b[i] = (unsigned char)(x >> 56);
        }
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
             b[13], b[14], b[15]);
}


/* The uploader's callback: ConfigureAgent's answer (any thread). */
static void apply_service_settings(void *ctx, const struct cg_service_settings *st)
{
    struct cg_agent *a = ctx;
    atomic_store(&a->paused, !st->should_profile);
    if (st->reporting_interval_ms)
        atomic_store(&a->svc_reporting_interval_ms, st->reporting_interval_ms);
    if (st->wall_interval_ms)
        atomic_store(&a->svc_wall_interval_ms, st->wall_interval_ms);
    if (st->max_stack_depth)
        atomic_store(&a->svc_max_stack_depth, st->max_stack_depth);
    atomic_store(&a->svc_changed, true);
    pthread_mutex_lock(&a->wake_lock);
    a->kicked = true;
    pthread_cond_broadcast(&a->wake_cond);
    pthread_mutex_unlock(&a->wake_lock);
}

static void set_fleet(void *ctx, const struct cg_fleet *f)
{
    struct cg_agent *a = ctx;
    if (atomic_load(&a->fleet_ready))
        return;
    a->fleet = *f;
    atomic_store_explicit(&a->fleet_ready, true, memory_order_release);
}

struct cg_agent *cg_agent_new(const struct cg_config *cfg, const struct cg_agent_options *opts)
{
    struct cg_agent *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->cpu_hz = cfg->cpu_hz;
    a->wall_interval_ms = cfg->wall_interval_ms;
    a->max_stack_depth = cfg->max_stack_depth;
    a->reporting_interval_ms = cfg->reporting_interval_ms;
    a->cpu_limit_percent = cfg->cpu_limit_percent;
    a->memory_limit_bytes = (uint64_t)cfg->memory_limit_mb << 20;
    a->opts = *opts;
    a->kill_file = opts->kill_file ? opts->kill_file : CG_AGENT_KILL_FILE;
    if (!a->opts.drain_interval_ms)
        a->opts.drain_interval_ms = 100;
    if (!a->opts.rescan_interval_ms)
        a->opts.rescan_interval_ms = 1000;
    const char *name = cfg->profiling_group ? cfg->profiling_group
                       : cfg->program_name  ? cfg->program_name
                                            : "process";
    if ((cfg->output_dir && !(a->output_dir = strdup(cfg->output_dir))) ||
        !(a->profile_name = strdup(name)))
        goto err;

    /* Rings get at most half of the memory limit; the rest is for the
     * stack table, symbols and the encoded document. */
    size_t ring_bytes = CG_RING_DEFAULT_BYTES;
    size_t max_threads = ((size_t)cfg->memory_limit_mb << 20) / 2 / ring_bytes;
    if (max_threads < 16)
        max_threads = 16;
    if (!(a->threads = cg_threads_new(max_threads, ring_bytes)))
        goto err;
    if (!(a->stacks = cg_stackagg_new()))
        goto err;

    pthread_mutex_init(&a->reg_lock, NULL);
    pthread_mutex_init(&a->wake_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&a->wake_cond, &ca);
    pthread_condattr_destroy(&ca);

    make_uuid(a->fleet_id);
    a->pid = getpid();
    if (cfg->profiling_group) {
        struct cg_uploader_options uo = {
            .pthread_create = opts->pthread_create,
            .fleet_id = a->fleet_id,
            .apply = apply_service_settings,
            .set_fleet = set_fleet,
            .local_sink = cfg->output_dir != NULL,
            .apply_ctx = a,
        };
        if (!(a->uploader = cg_uploader_new(cfg, &uo)))
            goto err;
    }
    snprintf(a->runtime_version, sizeof(a->runtime_version), "glibc-%s",
             gnu_get_libc_version());
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    a->vcpus = n > 0 ? (uint32_t)n : 1;
    a->period_start_ms = epoch_ms();
    a->period_cpu_ns = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    return a;
err:
    cg_agent_free(a);
    return NULL;
}

void cg_agent_free(struct cg_agent *a)
{
    if (!a)
        return;
    cg_uploader_free(a->uploader);
    cg_symbolizer_free(a->symbolizer);
    cg_wall_free(a->wall);
    free(a->wall_scratch);
    cg_stackagg_free(a->stacks);
    cg_threads_free(a->threads);
    free(a->output_dir);
    free(a->profile_name);
    free(a);
}

struct cg_threads *cg_agent_threads(struct cg_agent *a)
{
    return a->threads;
}

pid_t cg_agent_tid(const struct cg_agent *a)
{
    return atomic_load(&((struct cg_agent *)a)->tid);
}

bool cg_agent_is_stopped(const struct cg_agent *a)
{
    return atomic_load(&((struct cg_agent *)a)->stopped);
}

void cg_agent_modules_changed(struct cg_agent *a)
{
    atomic_store(&a->modules_changed, true);
}

/* Takes the slot's timer away (whoever gets it deletes it): a kernel timer
 * id deleted twice could by then name someone else's timer. */
static void slot_delete_timer(struct cg_thread_slot *s)
{
    int id = atomic_exchange(&s->timer_id, -1);
    if (id >= 0)
        cg_cpu_timer_delete(id);
}

/* Gives an ACTIVE slot an armed timer on its thread.  reg_lock held. */
static int slot_arm(struct cg_agent *a, struct cg_thread_slot *s)
{
    if (a->cpu_hz == 0)
        return 0;
    int id;
    int rc = cg_cpu_timer_create(s->tid, a->opts.signo, &id);
    if (rc != 0)
        return rc;
    /* Paused by the service: the timer exists but stays disarmed. */
    rc = atomic_load(&a->paused) ? 0 : cg_cpu_timer_arm(id, 1000000000ull / a->cpu_hz);
    if (rc != 0) {
        cg_cpu_timer_delete(id);
        return rc;
    }
    s->has_timer = true;
    atomic_store(&s->timer_id, id);
    /* stand_aside may have run between our check and now. */
    if (atomic_load(&a->stopped))
        slot_delete_timer(s);
    return 0;
}

static uint64_t read_start_ticks(pid_t tid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Field 22 (starttime) counts from after the ")" that ends comm. */
    char *p = strrchr(buf, ')');
    if (!p)
        return 0;
    unsigned long long v = 0;
    int field = 2;
    for (p++; *p && field < 22; p++)
        if (*p == ' ')
            field++;
    if (field == 22)
        v = strtoull(p, NULL, 10);
    return v;
}

struct cg_thread_slot *cg_agent_register_current_thread(struct cg_agent *a, bool self_exit_hook)
{
    if (atomic_load(&a->stopped))
        return NULL;
    pid_t tid = current_tid();
    pthread_mutex_lock(&a->reg_lock);
    /* The agent's task scan may have found us first: adopt that slot. */
    struct cg_thread_slot *s = cg_threads_find_sigsafe(a->threads, tid);
    if (!s) {
        s = cg_threads_register(a->threads, tid, 0);
        if (s && slot_arm(a, s) != 0) {
            cg_threads_mark_exited(s);
            s = NULL;
        }
    }
    if (s)
        s->self_registered = self_exit_hook;
    else
        atomic_fetch_add(&a->unprofiled_threads, 1);
    pthread_mutex_unlock(&a->reg_lock);
    return s;
}

void cg_agent_unregister_thread(struct cg_agent *a, struct cg_thread_slot *s)
{
    slot_delete_timer(s);
    cg_threads_mark_exited(s);
    /* An exited slot keeps its ring until the agent drains it.  Under heavy
     * thread churn that could fill the registry between two drains, so
     * past a quarter of the capacity the agent is asked to drain now. */
    size_t pending = atomic_fetch_add(&a->exited_pending, 1) + 1;
    if (pending > cg_threads_capacity(a->threads) / 4) {
        pthread_mutex_lock(&a->wake_lock);
        a->kicked = true;
        pthread_cond_broadcast(&a->wake_cond);
        pthread_mutex_unlock(&a->wake_lock);
    }
}

static void disarm_slot(struct cg_thread_slot *s, void *ctx)
{
    (void)ctx;
    slot_delete_timer(s);
}

void cg_agent_stand_aside(struct cg_agent *a, const char *why)
{
    if (atomic_exchange(&a->stopped, true))
        return;
    pthread_mutex_lock(&a->reg_lock);
    cg_threads_for_each(a->threads, disarm_slot, NULL);
    pthread_mutex_unlock(&a->reg_lock);
    if (why)
        CG_WARN("%s: profiling stops; the profile so far is still reported", why);
}

/* ---- agent thread ---- */

static void drain_slot(struct cg_thread_slot *s, void *ctx)
{
    struct cg_agent *a = ctx;
    /* Read the state before draining: once EXITED nothing more is pushed,
     * so a ring drained after seeing EXITED is empty for good.  Reading it
     * after would race with a last sample pushed just before the exit. */
    bool exited = atomic_load(&s->state) == CG_SLOT_EXITED;
    const struct cg_sample_rec *rec;
    while ((rec = cg_ring_peek(s->ring)) != NULL) {
        unsigned flags = rec->flags & (CG_REC_TRUNCATED | CG_REC_UNWIND_FAILED);
        if (cg_stackagg_add(a->stacks, rec->pcs, rec->depth, rec->key, flags, rec->weight) == 0)
            a->samples_in_period += rec->weight;
        else
            a->drops_in_period += rec->weight;
        a->drops_in_period += rec->missed;
        cg_ring_release(s->ring, rec);
        a->last_sample_ms = 0; /* set below, once per drain */
    }
    uint64_t hns = atomic_load_explicit(&s->handler_ns, memory_order_relaxed);
    a->handler_ns_in_period += hns - s->handler_ns_reported;
    a->handler_ns_total += hns - s->handler_ns_reported;
    s->handler_ns_reported = hns;
    uint64_t calls = atomic_load_explicit(&s->handler_calls, memory_order_relaxed);
    a->handler_calls_in_period += calls - s->handler_calls_reported;
    s->handler_calls_reported = calls;
    uint64_t drops = cg_ring_drops(s->ring);
    a->drops_in_period += drops - s->drops_reported;
    s->drops_reported = drops;
    if (exited) {
        free(s->wall_pcs);
        s->wall_pcs = NULL;
        s->wall_depth = 0;
        if (s->self_registered)
            atomic_fetch_sub(&a->exited_pending, 1);
        cg_threads_reclaim(a->threads, s);
    }
}

static int read_loader_counts(struct dl_phdr_info *info, size_t size, void *data)
{
    uint64_t *gen = data;
    if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs))
        *gen = (uint64_t)info->dlpi_adds + (uint64_t)info->dlpi_subs;
    return 1; /* the counters are the same in every entry: one is enough */
}

/* Notices dlopen/dlclose without wrapping them (see interpose.c). */
static void check_modules(struct cg_agent *a)
{
    uint64_t gen = 0;
    dl_iterate_phdr(read_loader_counts, &gen);
    if (gen != a->loader_generation) {
        a->loader_generation = gen;
        atomic_store(&a->modules_changed, true);
    }
}

static void drain_all(struct cg_agent *a)
{
    check_modules(a);
    uint64_t before = a->samples_in_period;
    cg_threads_for_each(a->threads, drain_slot, a);
    if (a->samples_in_period != before)
        a->last_sample_ms = epoch_ms();
    size_t n = cg_threads_count(a->threads);
    if (n > a->threads_seen_max)
        a->threads_seen_max = n;
}

/* One wall-clock sample of a thread that is off the CPU (SPEC §4), without
 * signalling it: see core/sample/wall.h.  Threads on the CPU are the CPU timers'
 * business and are skipped. */
static void wall_sample_slot(struct cg_thread_slot *s, void *ctx)
{
    struct cg_agent *a = ctx;
    if (atomic_load(&s->state) != CG_SLOT_ACTIVE || s->tid == cg_agent_tid(a))
        return;
    struct cg_wall_state st;
    if (cg_wall_read_state(s->tid, &st) != 0 || !st.in_syscall)
        return;
    unsigned key = st.state == 'D' ? CG_KEY_BLOCKED : CG_KEY_WAITING;
    if (s->wall_depth && s->wall_sp == st.sp && s->wall_pc == st.pc && s->wall_nr == st.nr) {
        /* Still blocked where it was: the same stack. */
        if (cg_stackagg_add(a->stacks, s->wall_pcs, s->wall_depth, key, 0, 1) == 0)
            a->samples_in_period++;
        a->wall_reused++;
        return;
    }
    size_t depth = 0;
    if (cg_wall_unwind(a->wall, &st, a->wall_scratch, CG_MAX_UNWIND_FRAMES, &depth) != 0)
        return;
    a->wall_unwinds++;
    struct cg_wall_state again;
    if (cg_wall_read_state(s->tid, &again) != 0 || !again.in_syscall || again.sp != st.sp ||
        again.pc != st.pc || again.nr != st.nr) {
        a->wall_moved++; /* it ran meanwhile: the stack may be torn */
        return;
    }
    uint64_t *copy = realloc(s->wall_pcs, depth * sizeof(*copy));
    if (copy) {
        memcpy(copy, a->wall_scratch, depth * sizeof(*copy));
        s->wall_pcs = copy;
        s->wall_depth = depth;
        s->wall_sp = st.sp;
        s->wall_pc = st.pc;
        s->wall_nr = st.nr;
    }
    if (cg_stackagg_add(a->stacks, a->wall_scratch, depth, key, 0, 1) == 0)
        a->samples_in_period++;
}

static void wall_tick(struct cg_agent *a)
{
    if (!a->wall) {
        a->wall = cg_wall_new();
        a->wall_scratch = malloc(CG_MAX_UNWIND_FRAMES * sizeof(*a->wall_scratch));
        if (!a->wall || !a->wall_scratch) {
            CG_WARN("cannot set up wall-clock sampling: out of memory; CPU sampling goes on");
            a->wall_interval_ms = 0;
            return;
        }
    }
    cg_threads_for_each(a->threads, wall_sample_slot, a);
}

struct scan {
    pid_t *tids;
    size_t n, cap;
};

static bool scan_has(const struct scan *sc, pid_t tid)
{
    for (size_t i = 0; i < sc->n; i++)
        if (sc->tids[i] == tid)
            return true;
    return false;
}

static void retire_vanished(struct cg_thread_slot *s, void *ctx)
{
    const struct scan *sc = ctx;
    if (atomic_load(&s->state) == CG_SLOT_ACTIVE && !scan_has(sc, s->tid)) {
        /* Gone without its exit hook (it never counted itself as exited). */
        s->self_registered = false;
        slot_delete_timer(s);
        cg_threads_mark_exited(s);
    }
}

/* Finds threads nobody registered (created before the agent, or by code
 * that bypasses pthread_create) and retires slots of threads that are gone
 * without running their TLS destructor. */
static void rescan_tasks(struct cg_agent *a)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return;
    struct scan sc = {0};
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        if (sc.n == sc.cap) {
            size_t cap = sc.cap ? sc.cap * 2 : 64;
            pid_t *t = realloc(sc.tids, cap * sizeof(*t));
            if (!t)
                break;
            sc.tids = t;
            sc.cap = cap;
        }
        sc.tids[sc.n++] = (pid_t)atoi(e->d_name);
    }
    closedir(d);
    pid_t self = cg_agent_tid(a);
    pthread_mutex_lock(&a->reg_lock);
    if (!atomic_load(&a->stopped)) {
        for (size_t i = 0; i < sc.n; i++) {
            pid_t tid = sc.tids[i];
            if (tid == self || tid == cg_uploader_tid(a->uploader) ||
                cg_threads_find_sigsafe(a->threads, tid))
                continue;
            struct cg_thread_slot *s = cg_threads_register(a->threads, tid, read_start_ticks(tid));
            if (!s) {
                atomic_fetch_add(&a->unprofiled_threads, 1);
                continue;
            }
            if (slot_arm(a, s) != 0) /* ESRCH: it exited meanwhile */
                cg_threads_mark_exited(s);
            else
                CG_DEBUG("found thread %d not created through pthread_create", (int)tid);
        }
        cg_threads_for_each(a->threads, retire_vanished, &sc);
    }
    pthread_mutex_unlock(&a->reg_lock);
    free(sc.tids);
}

bool cg_agent_over_cpu_limit(uint64_t agent_cpu_ns, uint64_t wall_ns, uint32_t limit_percent)
{
    if (wall_ns < 10ull * 1000000000u || limit_percent == 0)
        return false;
    return agent_cpu_ns * 100u > wall_ns * (uint64_t)limit_percent;
}

static size_t agent_bytes(const struct cg_agent *a)
{
    return cg_threads_bytes(a->threads) + cg_stackagg_bytes(a->stacks) +
           (a->symbolizer ? cg_symbolizer_bytes(a->symbolizer) : 0) + a->last_tree_bytes +
           cg_uploader_bytes(a->uploader);
}

/* The agent's limits (SPEC §4): past any of them it stops sampling for
 * good, with one log line, and keeps what it has for the reports. */
static void check_limits(struct cg_agent *a)
{
    if (cg_agent_is_stopped(a))
        return;
    if (access(a->kill_file, F_OK) == 0) {
        char why[300];
        snprintf(why, sizeof(why), "%s exists (kill switch)", a->kill_file);
        cg_agent_stand_aside(a, why);
        return;
    }
    uint64_t cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID) + a->handler_ns_total +
                   cg_uploader_cpu_ns(a->uploader);
    uint64_t wall = clock_ns(CLOCK_MONOTONIC) - a->started_mono_ns;
    if (cg_agent_over_cpu_limit(cpu, wall, a->cpu_limit_percent)) {
        char why[200];
        snprintf(why, sizeof(why), "the agent used %.1f%% CPU (limit %u%%, CGAGENT_CPU_LIMIT_PERCENT)",
                 100.0 * (double)cpu / (double)wall, a->cpu_limit_percent);
        cg_agent_stand_aside(a, why);
        return;
    }
    size_t bytes = agent_bytes(a);
    if (bytes > a->memory_limit_bytes) {
        char why[200];
        snprintf(why, sizeof(why), "the agent holds %.1f MB (limit %llu MB, CGAGENT_MEMORY_LIMIT_MB)",
                 (double)bytes / 1048576.0, (unsigned long long)(a->memory_limit_bytes >> 20));
        cg_agent_stand_aside(a, why);
    }
}

struct build_ctx {
    struct cg_agent *a;
    struct cg_calltree *tree;
    struct cg_frame *frames;
    int err;
};

/* Symbolizes one unique stack (leaf first in the record) into root-first
 * frames.  Return addresses point after the call instruction, so every
 * frame but the interrupted one is looked up at pc - 1: otherwise a call
 * that ends a function would be charged to the next function. */
static void add_stack(const struct cg_stack_view *st, void *ctx)
{
    struct build_ctx *b = ctx;
    if (b->err || st->depth == 0)
        return;
    size_t depth = st->depth;
    for (size_t i = 0; i < depth; i++) {
        uint64_t pc = st->pcs[i];
        if (i > 0 && pc > 0)
            pc -= 1;
        struct cg_symbol sym;
        if (cg_symbolizer_resolve(b->a->symbolizer, (uintptr_t)pc, &sym) != 0) {
            sym.name = "[unknown]";
            sym.file = NULL;
        }
        b->frames[depth - 1 - i].name = sym.name;
        b->frames[depth - 1 - i].file = sym.file;
    }
    int rc = cg_calltree_add(b->tree, b->frames, depth, (enum cg_count_key)st->key, st->count);
    if (rc != 0)
        b->err = rc;
}

static void report(struct cg_agent *a, bool final)
{
    uint64_t now_ms = epoch_ms();
    uint64_t cpu_ns = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    uint64_t agent_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    uint64_t upload_ns = cg_uploader_cpu_ns(a->uploader);
    if (upload_ns < a->period_upload_ns)
        upload_ns = a->period_upload_ns;
    if (cg_stackagg_samples(a->stacks) == 0) {
        CG_DEBUG("no samples in this period; nothing to report");
        goto reset;
    }
    if (!a->symbolizer && !(a->symbolizer = cg_symbolizer_new(NULL))) {
        CG_ERROR("cannot create the symbolizer: out of memory; profile dropped");
        goto reset;
    }
    if (atomic_exchange(&a->modules_changed, false))
        cg_symbolizer_refresh(a->symbolizer);

    struct build_ctx b = {a, cg_calltree_new(a->max_stack_depth),
                          malloc(CG_MAX_UNWIND_FRAMES * sizeof(struct cg_frame)), 0};
    if (!b.tree || !b.frames) {
        CG_ERROR("out of memory building the call tree; profile dropped");
        goto done;
    }
    cg_stackagg_for_each(a->stacks, add_stack, &b);
    a->last_tree_bytes = cg_calltree_bytes(b.tree);
    if (b.err) {
        CG_ERROR("building the call tree failed: %s; profile dropped", cg_strerror(b.err));
        goto done;
    }
    uint64_t end_ms = a->last_sample_ms > a->period_start_ms ? a->last_sample_ms : now_ms;
    uint64_t unprofiled = atomic_load(&a->unprofiled_threads);
    const char *err_names[] = {"unprofiledThreads"};
    uint64_t err_counts[] = {unprofiled};
    struct cg_profile_meta meta = {
        .start_ms = a->period_start_ms,
        .end_ms = end_ms,
        .cpu_hz = a->cpu_hz,
        .wall_interval_ms = a->wall_interval_ms,
        .fleet = {.id = a->fleet_id, .type = "UNKNOWN", .vcpus = a->vcpus},
        .agent_version = CGAGENT_VERSION,
        .agent_memory_mb = (double)agent_bytes(a) / (1024.0 * 1024.0),
        .agent_time_ms = (agent_ns - a->period_agent_ns + a->handler_ns_in_period +
                          upload_ns - a->period_upload_ns) /
                         1000000u,
        .runtime_version = a->runtime_version,
        .cpu_time_s = (double)(cpu_ns - a->period_cpu_ns) / 1e9,
        .num_threads = (uint32_t)a->threads_seen_max,
        .num_times_sampled = a->samples_in_period,
        .pid = (int)getpid(),
        .dropped_samples = a->drops_in_period,
        .handler_ns_total = a->handler_ns_in_period,
        .handler_calls = a->handler_calls_in_period,
        .error_names = err_names,
        .error_counts = err_counts,
        .n_errors = unprofiled ? 1 : 0,
    };
    if (atomic_load_explicit(&a->fleet_ready, memory_order_acquire)) {
        const struct cg_fleet *f = &a->fleet;
        meta.fleet = (struct cg_fleet_info){
            .compute_type = f->compute_type,
            .host_name = f->host_name[0] ? f->host_name : NULL,
            .host_type = f->host_type[0] ? f->host_type : NULL,
            .task_arn = f->task_arn[0] ? f->task_arn : NULL,
            .vcpus = a->vcpus,
        };
    }
    if (a->output_dir) {
        size_t len = 0;
        char *doc = cg_profile_doc_encode(b.tree, &meta, &len);
        if (!doc)
            CG_ERROR("encoding the profile failed: out of memory; local profile dropped");
        else
            cg_sink_local_write(a->output_dir, a->profile_name, getpid(), &meta, b.tree, doc,
                                len);
        free(doc);
    }
    CG_INFO("profile %s: %llu samples, %zu unique stacks, %zu nodes, %llu dropped%s",
            a->profile_name, (unsigned long long)a->samples_in_period,
            cg_stackagg_unique(a->stacks), cg_calltree_node_count(b.tree),
            (unsigned long long)a->drops_in_period, final ? " (final)" : "");
    if (a->uploader) {
        cg_uploader_submit(a->uploader, b.tree, &meta); /* takes the tree */
        b.tree = NULL;
    }
done:
    cg_calltree_free(b.tree);
    free(b.frames);
reset:
    cg_stackagg_clear(a->stacks);
    a->period_start_ms = now_ms;
    a->period_cpu_ns = cpu_ns;
    a->period_agent_ns = agent_ns;
    a->period_upload_ns = upload_ns;
    a->samples_in_period = 0;
    a->drops_in_period = 0;
    a->handler_ns_in_period = 0;
    a->handler_calls_in_period = 0;
    a->threads_seen_max = cg_threads_count(a->threads);
}

/* Waits until `deadline_ns` (CLOCK_MONOTONIC) or a stop request.
 * Returns true when stop was requested. */
static bool wait_until(struct cg_agent *a, uint64_t deadline_ns)
{
    struct timespec ts = {(time_t)(deadline_ns / 1000000000u), (long)(deadline_ns % 1000000000u)};
    pthread_mutex_lock(&a->wake_lock);
    while (!a->stop_requested && !a->kicked) {
        if (pthread_cond_timedwait(&a->wake_cond, &a->wake_lock, &ts) == ETIMEDOUT)
            break;
    }
    a->kicked = false;
    bool stop = a->stop_requested;
    pthread_mutex_unlock(&a->wake_lock);
    return stop;
}

struct arm_ctx {
    struct cg_agent *a;
    bool arm;
};

static void rearm_slot(struct cg_thread_slot *s, void *ctx)
{
    struct arm_ctx *c = ctx;
    int id = atomic_load(&s->timer_id);
    if (id < 0)
        return;
    if (c->arm)
        cg_cpu_timer_arm(id, 1000000000ull / c->a->cpu_hz);
    else
        cg_cpu_timer_disarm_sigsafe(id);
}

/* Takes over what ConfigureAgent asked for (agent thread). */
static void take_service_settings(struct cg_agent *a, uint64_t now, uint64_t *next_report,
                                  uint64_t *next_wall)
{
    bool paused = atomic_load(&a->paused);
    if (paused != a->paused_applied && a->cpu_hz && !cg_agent_is_stopped(a)) {
        struct arm_ctx c = {a, !paused};
        pthread_mutex_lock(&a->reg_lock);
        if (!atomic_load(&a->stopped))
            cg_threads_for_each(a->threads, rearm_slot, &c);
        pthread_mutex_unlock(&a->reg_lock);
        CG_INFO("sampling %s", paused ? "paused (the service said shouldProfile=false, or the "
                                        "profiling group is not usable)"
                                      : "resumed");
    }
    a->paused_applied = paused;
    if (!atomic_exchange(&a->svc_changed, false))
        return;
    uint64_t r = atomic_load(&a->svc_reporting_interval_ms);
    if (r && r != a->reporting_interval_ms) {
        a->reporting_interval_ms = r;
        *next_report = now + r * 1000000u;
    }
    uint32_t w = atomic_load(&a->svc_wall_interval_ms);
    if (w && w != a->wall_interval_ms && a->wall_interval_ms) {
        a->wall_interval_ms = w;
        *next_wall = now + (uint64_t)w * 1000000u;
    }
    uint32_t d = atomic_load(&a->svc_max_stack_depth);
    if (d)
        a->max_stack_depth = d;
}

static void *agent_main(void *arg)
{
    struct cg_agent *a = arg;
    atomic_store(&a->tid, current_tid());
    a->period_agent_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    a->started_mono_ns = clock_ns(CLOCK_MONOTONIC);
    uint64_t now = clock_ns(CLOCK_MONOTONIC);
    bool stop = false;
    if (a->opts.start_delay_ms)
        stop = wait_until(a, now + a->opts.start_delay_ms * 1000000u);
    uint64_t drain_ns = a->opts.drain_interval_ms * 1000000u;
    uint64_t next_rescan = 0;
    uint64_t next_report = clock_ns(CLOCK_MONOTONIC) + a->reporting_interval_ms * 1000000u;
    uint64_t next_wall = clock_ns(CLOCK_MONOTONIC) + a->wall_interval_ms * 1000000u;
    while (!stop) {
        uint64_t wake = clock_ns(CLOCK_MONOTONIC) + drain_ns;
        if (a->wall_interval_ms && next_wall < wake)
            wake = next_wall;
        stop = wait_until(a, wake) || atomic_load(&a->exit_requested);
        drain_all(a);
        now = clock_ns(CLOCK_MONOTONIC);
        take_service_settings(a, now, &next_report, &next_wall);
        if (!stop && a->wall_interval_ms && !cg_agent_is_stopped(a) && !a->paused_applied &&
            now >= next_wall) {
            wall_tick(a);
            next_wall += a->wall_interval_ms * 1000000u;
            if (next_wall < now) /* fell behind: skip, do not burst */
                next_wall = now + a->wall_interval_ms * 1000000u;
        }
        if (!stop && now >= next_rescan) {
            check_limits(a);
            rescan_tasks(a);
            next_rescan = now + a->opts.rescan_interval_ms * 1000000u;
        }
        if (!stop && now >= next_report) {
            report(a, false);
            next_report = now + a->reporting_interval_ms * 1000000u;
        }
    }
    /* Stopping: from here on the uploader only flushes. */
    cg_uploader_stop_soon(a->uploader);
    if (atomic_load(&a->exit_requested)) {
        /* _exit's thread could not take the registry lock itself. */
        atomic_store(&a->stopped, true);
        pthread_mutex_lock(&a->reg_lock);
        cg_threads_for_each(a->threads, disarm_slot, NULL);
        pthread_mutex_unlock(&a->reg_lock);
    }
    drain_all(a);
    report(a, true);
    /* The final profile is queued: deliver it in the time that is left. */
    uint64_t deadline = atomic_load(&a->stop_deadline_ns);
    if (a->uploader)
        cg_uploader_stop(a->uploader, (deadline ? deadline
                                                 : clock_ns(CLOCK_MONOTONIC) + 5000000000u) /
                                          1000000u);
    atomic_store(&a->finished, true);
    pthread_mutex_lock(&a->wake_lock);
    a->done = true;
    pthread_cond_broadcast(&a->wake_cond);
    pthread_mutex_unlock(&a->wake_lock);
    return NULL;
}

int cg_agent_start(struct cg_agent *a)
{
    sigset_t all, old;
    sigfillset(&all);
    /* The new thread inherits this mask: it never runs a signal handler,
     * so it is never sampled and never interrupted mid-update. */
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = a->opts.pthread_create(&a->thread, NULL, agent_main, a);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return -rc;
    a->thread_started = true;
    if (a->uploader && (rc = cg_uploader_start(a->uploader)) != 0)
        CG_ERROR("cannot start the upload thread: %s; profiles are not sent to CodeGuru "
                 "Profiler",
                 strerror(-rc));
    return 0;
}

int cg_agent_stop(struct cg_agent *a, uint64_t timeout_ms)
{
    cg_uploader_stop_soon(a->uploader);
    atomic_store(&a->stopped, true);
    pthread_mutex_lock(&a->reg_lock);
    cg_threads_for_each(a->threads, disarm_slot, NULL);
    pthread_mutex_unlock(&a->reg_lock);
    if (!a->thread_started)
        return 0;
    uint64_t deadline = clock_ns(CLOCK_MONOTONIC) + timeout_ms * 1000000u;
    uint64_t unset = 0;
    atomic_compare_exchange_strong(&a->stop_deadline_ns, &unset, deadline);
    struct timespec ts = {(time_t)(deadline / 1000000000u), (long)(deadline % 1000000000u)};
    pthread_mutex_lock(&a->wake_lock);
    a->stop_requested = true;
    pthread_cond_broadcast(&a->wake_cond);
    int rc = 0;
    while (!a->done && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&a->wake_cond, &a->wake_lock, &ts);
    bool done = a->done;
    pthread_mutex_unlock(&a->wake_lock);
    if (!done) {
        CG_WARN("the final report did not finish within %llu ms; exiting without it",
                (unsigned long long)timeout_ms);
        return CG_ESTATE;
    }
    pthread_join(a->thread, NULL);
    a->thread_started = false;
    return 0;
}

void cg_agent_exit_flush_sigsafe(struct cg_agent *a, uint64_t timeout_ms)
{
    /* Only the process that owns this agent (not a vfork child sharing its
     * memory), only while its thread runs. */
    if (!a || getpid() != a->pid || !a->thread_started || atomic_load(&a->finished) ||
        (pid_t)syscall(SYS_gettid) == atomic_load(&a->tid))
        return;
    uint64_t now = clock_ns(CLOCK_MONOTONIC);
    uint64_t deadline = now + timeout_ms * 1000000u;
    uint64_t unset = 0;
    atomic_compare_exchange_strong(&a->stop_deadline_ns, &unset, deadline);
    atomic_store(&a->exit_requested, true);
    /* No lock, no condition variable: poll.  The agent thread notices the
     * request within a drain interval (100 ms). */
    while (!atomic_load(&a->finished) && clock_ns(CLOCK_MONOTONIC) < deadline + 200000000u) {
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
}
