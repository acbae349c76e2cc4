/*
 * openssl_exit.c - libcurl's requests and OpenSSL's shutdown
 * (openssl_exit.h says why).
 *
 * DESIGN: transfers announce themselves in one 64-bit atomic, the
 * process id in the high half and the number in flight in the low half,
 * so a fork child (which inherits a parent's count of transfers that do
 * not exist in it) sees another pid and starts from zero.  A transfer
 * adds itself, then reads the "shut down" flag; the OpenSSL callback sets
 * the flag, then reads the count: both sequentially consistent, so either
 * the transfer sees the flag and backs out, or the callback sees the
 * transfer and waits for it.  The wait polls every millisecond: it runs
 * once, at the end of the process.
 *
 * What it won't do: call OPENSSL_cleanup, change the exit handler of a
 * libcrypto the program loaded, or wait without bound.
 */
#include "core/base/openssl_exit.h"

#include "core/base/log.h"

#include <dlfcn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* OpenSSL 3.0's crypto.h, whose header the agent does not build with. */
#define OPENSSL_INIT_NO_ATEXIT 0x00080000ul

/* How long OpenSSL's cleanup waits for a transfer to notice: libcurl calls
 * the progress function at least once a second. */
#define DRAIN_MS 3000

static _Atomic bool g_shut_down;
static _Atomic uint64_t g_in_flight; /* pid << 32 | transfers of that pid */

static uint64_t pack(pid_t pid, uint32_t n)
{
    return (uint64_t)(uint32_t)pid << 32 | n;
}

static uint32_t mine(uint64_t v, pid_t pid)
{
    return (uint32_t)(v >> 32) == (uint32_t)pid ? (uint32_t)v : 0;
}

bool cg_openssl_transfer_begin(void)
{
    pid_t pid = getpid();
    uint64_t old = atomic_load(&g_in_flight);
    while (!atomic_compare_exchange_weak(&g_in_flight, &old, pack(pid, mine(old, pid) + 1))) {
    }
    if (atomic_load(&g_shut_down)) {
        cg_openssl_transfer_end();
        return false;
    }
    return true;
}

void cg_openssl_transfer_end(void)
{
    pid_t pid = getpid();
    uint64_t old = atomic_load(&g_in_flight);
    do {
        if (mine(old, pid) == 0)
            return; /* not ours: begun before a fork */
    } while (!atomic_compare_exchange_weak(&g_in_flight, &old, old - 1));
}

bool cg_openssl_shut_down(void)
{
    return atomic_load(&g_shut_down);
}

/* OPENSSL_atexit's callback: OpenSSL has set its own "stopped" flag and
 * frees nothing until this returns. */
static void on_openssl_cleanup(void)
{
    atomic_store(&g_shut_down, true);
    pid_t pid = getpid();
    struct timespec ms = {.tv_nsec = 1000000};
    for (int i = 0; i < DRAIN_MS && mine(atomic_load(&g_in_flight), pid) > 0; i++)
        nanosleep(&ms, NULL);
}

void cg_openssl_exit_setup(void *curl, bool own_libcrypto)
{
    int (*init_crypto)(uint64_t opts, const void *settings);
    int (*register_cleanup)(void (*fn)(void));
    *(void **)&init_crypto = dlsym(curl, "OPENSSL_init_crypto");
    *(void **)&register_cleanup = dlsym(curl, "OPENSSL_atexit");
    if (own_libcrypto && init_crypto && init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL) != 1)
        CG_INFO("OpenSSL's initialisation failed; libcurl will try again");
    /* Also for our own libcrypto: a program that loads libcrypto later
     * shares it, and may call OPENSSL_cleanup itself. */
    if (register_cleanup && register_cleanup(on_openssl_cleanup) != 1)
        CG_INFO("cannot register with OpenSSL's cleanup: a request in flight when the "
                "program's OpenSSL shuts down may fail");
}
