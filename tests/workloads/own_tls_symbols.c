/*
 * own_tls_symbols.c - a program that exports functions named as OpenSSL's
 * and zlib's (as a program that links its own copies statically with
 * -rdynamic, or a plugin host, would), each of which writes
 * "own_tls_symbols: foreign call to NAME" to stderr and aborts: the
 * program never calls them itself, so any call came from a library that
 * bound to the program's definition instead of its own (the agent's
 * libcurl, before it was loaded deep-bound: tests/stress/test_own_symbols.py).
 * It then burns CPU in own_tls_symbols_work() for the agent to sample.
 *
 * usage: own_tls_symbols [CPU_SECONDS]   (default 1)
 * Prints "own_tls_symbols: done".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu_burn.h"

static void foreign(const char *name)
{
    static const char head[] = "own_tls_symbols: foreign call to ";
    if (write(2, head, sizeof(head) - 1) < 0 || write(2, name, strlen(name)) < 0 ||
        write(2, "\n", 1) < 0)
        abort();
    abort();
}

#define FOREIGN(name)                                                        \
    __attribute__((visibility("default"), noinline)) void *name(void)       \
    {                                                                        \
        foreign(#name);                                                      \
        return NULL;                                                         \
    }

/* What libcurl 7.88 calls at curl_global_init and for an HTTPS request. */
FOREIGN(OPENSSL_init_ssl)
FOREIGN(OPENSSL_init_crypto)
FOREIGN(TLS_client_method)
FOREIGN(SSL_CTX_new)
FOREIGN(SSL_CTX_set_options)
FOREIGN(SSL_new)
FOREIGN(SSL_set_fd)
FOREIGN(SSL_connect)
FOREIGN(SSL_write)
FOREIGN(SSL_read)
FOREIGN(SSL_get_error)
FOREIGN(SSL_get1_peer_certificate)
FOREIGN(ERR_get_error)
FOREIGN(X509_free)
/* zlib: libcurl's content decoding and version report, libssh2's and
 * librtmp's compression. */
FOREIGN(zlibVersion)
FOREIGN(inflate)
FOREIGN(inflateInit2_)
FOREIGN(inflateEnd)
FOREIGN(deflateInit_)
FOREIGN(deflate)

__attribute__((noinline)) static unsigned long long own_tls_symbols_work(double seconds)
{
    return cpu_burn(seconds);
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    volatile unsigned long long sink = own_tls_symbols_work(seconds);
    (void)sink;
    printf("own_tls_symbols: done\n");
    return 0;
}
