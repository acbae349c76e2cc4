/*
 * openssl_at_exit.c - a short program that uses OpenSSL itself
 * (tests/stress/test_own_symbols.py): it loads the system's libcrypto and
 * initialises it, which registers OpenSSL's cleanup with atexit, burns
 * 0.2 s of CPU and returns from main.  At exit OpenSSL's cleanup runs
 * while the agent may still be uploading over HTTPS through the same
 * libcrypto.  Loaded with dlopen so the workload builds like the others
 * (no OpenSSL headers or link flags).
 *
 * usage: openssl_at_exit     Prints "openssl_at_exit: done", exit status 0
 * (1 when libcrypto cannot be loaded).
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
    void *crypto = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_GLOBAL);
    int (*init_crypto)(uint64_t opts, const void *settings) =
        crypto ? (int (*)(uint64_t, const void *))dlsym(crypto, "OPENSSL_init_crypto") : NULL;
    if (!init_crypto || init_crypto(0, NULL) != 1) {
        fprintf(stderr, "openssl_at_exit: cannot load and initialise libcrypto.so.3\n");
        return 1;
    }
    volatile uint64_t x = 1;
    double end = cpu_s() + 0.2;
    while (cpu_s() < end)
        for (int i = 0; i < 100000; i++)
            x = x * 6364136223846793005ull + 1;
    printf("openssl_at_exit: done\n");
    return 0;
}
