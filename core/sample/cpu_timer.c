/*
 * cpu_timer.c - per-thread CPU-clock timers through raw syscalls.
 *
 * DESIGN: the clock id of another thread's CPU clock is built the way the
 * kernel encodes it (see clock_getcpuclockid(3) and the kernel's
 * posix-cpu-timers: ~tid << 3 | CPUCLOCK_PERTHREAD | CPUCLOCK_SCHED).
 * CPUCLOCK_SCHED counts CPU time at nanosecond resolution; expiries still
 * only happen on the scheduler tick, so rates above CONFIG_HZ are capped
 * by the kernel (the caller logs that).
 *
 * The tick rate comes from the kernel itself: the resolution of the
 * *_COARSE clocks is one tick (TICK_NSEC, kernel/time/posix-timers.c),
 * which works in containers without /proc/config.gz or /boot.  The kernel
 * config is the fallback.  clock_getres() of a CPU clock says 1 ns and
 * sysconf(_SC_CLK_TCK) is USER_HZ (always 100): neither is the tick.
 */
#include "core/sample/cpu_timer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/utsname.h>
#include <zlib.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CPUCLOCK_PERTHREAD_MASK 4
#define CPUCLOCK_SCHED 2

static clockid_t thread_cpu_clock(pid_t tid)
{
    return (clockid_t)((~(unsigned)tid << 3) | CPUCLOCK_PERTHREAD_MASK | CPUCLOCK_SCHED);
}

int cg_cpu_timer_create(pid_t tid, int signo, int *timer_id_out)
{
    struct sigevent sev;
    memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = signo;
#ifdef sigev_notify_thread_id
    sev.sigev_notify_thread_id = tid; /* musl's name for the field */
#else
    sev._sigev_un._tid = tid;
#endif
    int kernel_id = -1;
    if (syscall(SYS_timer_create, thread_cpu_clock(tid), &sev, &kernel_id) != 0)
        return -errno;
    *timer_id_out = kernel_id;
    return 0;
}

/* A cheap per-call pseudo-random phase: mixes the timer id and the time. */
static uint64_t phase_ns(int timer_id, uint64_t period_ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)timer_id * 0x9E3779B97F4A7C15ull);
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return 1 + x % period_ns;
}

int cg_cpu_timer_arm(int timer_id, uint64_t period_ns)
{
    struct itimerspec its;
    uint64_t first = phase_ns(timer_id, period_ns);
    its.it_interval.tv_sec = (time_t)(period_ns / 1000000000u);
    its.it_interval.tv_nsec = (long)(period_ns % 1000000000u);
    its.it_value.tv_sec = (time_t)(first / 1000000000u);
    its.it_value.tv_nsec = (long)(first % 1000000000u);
    if (syscall(SYS_timer_settime, timer_id, 0, &its, NULL) != 0)
        return -errno;
    return 0;
}

int cg_cpu_timer_disarm_sigsafe(int timer_id)
{
    struct itimerspec its;
    memset(&its, 0, sizeof(its));
    int saved = errno;
    long rc = syscall(SYS_timer_settime, timer_id, 0, &its, NULL);
    int err = rc != 0 ? -errno : 0;
    errno = saved;
    return err;
}

int cg_cpu_timer_delete(int timer_id)
{
    if (syscall(SYS_timer_delete, timer_id) != 0)
        return -errno;
    return 0;
}

uint32_t cg_cpu_timer_parse_config_hz(const char *text, size_t len)
{
    static const char key[] = "\nCONFIG_HZ=";
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *hit = memmem(p, (size_t)(end - p), key, sizeof(key) - 1);
        if (!hit)
            break;
        const char *v = hit + sizeof(key) - 1;
        unsigned long hz = 0;
        while (v < end && *v >= '0' && *v <= '9' && hz < 100000)
            hz = hz * 10 + (unsigned long)(*v++ - '0');
        if (hz >= 24 && hz <= 10000)
            return (uint32_t)hz;
        p = hit + 1;
    }
    return 0;
}

/* Reads up to `cap` bytes of a (possibly gzip'd) file; gzread reads plain
 * files as they are. */
static uint32_t hz_from(const char *path)
{
    gzFile f = gzopen(path, "rb");
    if (!f)
        return 0;
    size_t cap = 1u << 20, len = 1;
    char *buf = malloc(cap + 1);
    uint32_t hz = 0;
    if (buf) {
        buf[0] = '\n'; /* so the first line matches "\nCONFIG_HZ=" too */
        int n;
        while (len < cap && (n = gzread(f, buf + len, (unsigned)(cap - len))) > 0)
            len += (size_t)n;
        hz = cg_cpu_timer_parse_config_hz(buf, len);
        free(buf);
    }
    gzclose(f);
    return hz;
}

uint32_t cg_cpu_timer_hz_from_tick_ns(uint64_t tick_ns)
{
    /* TICK_NSEC is 1e9/HZ rounded to nearest, so rounding back is exact
     * for every HZ the kernel offers (100, 250, 300, 1000, ...). */
    if (tick_ns == 0 || tick_ns > 1000000000ull)
        return 0;
    uint64_t hz = (1000000000ull + tick_ns / 2) / tick_ns;
    return hz >= 24 && hz <= 10000 ? (uint32_t)hz : 0;
}

uint32_t cg_cpu_timer_kernel_hz(void)
{
    struct timespec res;
    if (clock_getres(CLOCK_MONOTONIC_COARSE, &res) == 0 && res.tv_sec == 0) {
        uint32_t hz = cg_cpu_timer_hz_from_tick_ns((uint64_t)res.tv_nsec);
        if (hz)
            return hz;
    }
    uint32_t hz = hz_from("/proc/config.gz");
    if (!hz) {
        struct utsname u;
        char path[128 + sizeof(u.release)];
        if (uname(&u) == 0) {
            snprintf(path, sizeof(path), "/boot/config-%s", u.release);
            hz = hz_from(path);
        }
    }
    return hz;
}
