/*
 * own_symbols.c - a program with its own copies of jansson and mbedTLS
 * functions, and of zlib, expat, libelf, inih and libunwind ones (as a
 * program that links them statically and exports its symbols, -rdynamic,
 * would have), behaving differently from the real
 * ones: each returns NULL or an error and counts its calls.  The program
 * calls each once itself; any further call came from someone else (the
 * agent binding to the program's symbols instead of its own).  It then
 * burns CPU in own_symbols_work() for the agent to sample.
 *
 * usage: own_symbols [CPU_SECONDS]   (default 1)
 * Prints "own_symbols: N own calls, M foreign calls".
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "cpu_burn.h"

static volatile long g_calls;

#define OWN(ret, name, args, value) \
    __attribute__((visibility("default"), noinline)) ret name args { g_calls++; return value; }

OWN(void *, json_loadb, (const char *b, size_t n, size_t f, void *e), NULL)
OWN(void *, json_loads, (const char *b, size_t f, void *e), NULL)
OWN(char *, json_dumps, (const void *j, size_t f), NULL)
OWN(void *, json_object_get, (const void *o, const char *k), NULL)
OWN(const char *, json_string_value, (const void *j), NULL)
OWN(long long, json_integer_value, (const void *j), -1)
OWN(const void *, mbedtls_md_info_from_type, (int t), NULL)
OWN(int, mbedtls_md, (const void *i, const unsigned char *in, size_t n, unsigned char *out), -1)
OWN(int, mbedtls_md_hmac, (const void *i, const unsigned char *k, size_t kn,
                           const unsigned char *in, size_t n, unsigned char *out), -1)
OWN(int, mbedtls_sha256_ret, (const unsigned char *in, size_t n, unsigned char *out, int is224), -1)

/* zlib, expat, inih and libunwind: one or more of each.  Only
 * libunwind's API name: its internal calls between its own functions go
 * through the program's scope (docs/security.md says why it stays so). */
OWN(int, deflateInit2_, (void *s, int l, int m, int w, int ml, int st, const char *v, int n), -2)
OWN(int, deflate, (void *s, int f), -2)
OWN(int, deflateEnd, (void *s), -2)
OWN(void *, gzopen, (const char *p, const char *m), NULL)
OWN(void *, XML_ParserCreate_MM, (const char *e, const void *m, const char *s), NULL)
OWN(int, ini_parse_stream, (void *reader, void *stream, void *handler, void *user), -1)
OWN(int, unw_backtrace, (void **buf, int n), 0)

__attribute__((visibility("default"), noinline)) void *json_pack(const char *fmt, ...)
{
    g_calls++;
    return NULL;
}

__attribute__((noinline)) static uint64_t own_symbols_work(double seconds)
{
    return cpu_burn(seconds);
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    unsigned char out[64];
    long own = 0;
    /* The program's own calls (through volatile pointers: not inlined). */
    void *(*volatile loadb)(const char *, size_t, size_t, void *) = json_loadb;
    void *(*volatile loads)(const char *, size_t, void *) = json_loads;
    char *(*volatile dumps)(const void *, size_t) = json_dumps;
    void *(*volatile get)(const void *, const char *) = json_object_get;
    const char *(*volatile sval)(const void *) = json_string_value;
    long long (*volatile ival)(const void *) = json_integer_value;
    const void *(*volatile info)(int) = mbedtls_md_info_from_type;
    int (*volatile md)(const void *, const unsigned char *, size_t, unsigned char *) = mbedtls_md;
    int (*volatile hmac)(const void *, const unsigned char *, size_t, const unsigned char *,
                         size_t, unsigned char *) = mbedtls_md_hmac;
    int (*volatile sha)(const unsigned char *, size_t, unsigned char *, int) = mbedtls_sha256_ret;
    void *(*volatile pack)(const char *, ...) = json_pack;
    int (*volatile dinit)(void *, int, int, int, int, int, const char *, int) = deflateInit2_;
    int (*volatile def)(void *, int) = deflate;
    int (*volatile dend)(void *) = deflateEnd;
    void *(*volatile gzo)(const char *, const char *) = gzopen;
    void *(*volatile xml)(const char *, const void *, const char *) = XML_ParserCreate_MM;
    int (*volatile ini)(void *, void *, void *, void *) = ini_parse_stream;
    int (*volatile bt)(void **, int) = unw_backtrace;
    loadb("{}", 2, 0, NULL), own++;
    loads("{}", 0, NULL), own++;
    dumps(NULL, 0), own++;
    get(NULL, "k"), own++;
    sval(NULL), own++;
    ival(NULL), own++;
    info(6), own++;
    md(NULL, out, 0, out), own++;
    hmac(NULL, out, 1, out, 1, out), own++;
    sha(out, 0, out, 0), own++;
    pack("{}"), own++;
    dinit(NULL, 0, 0, 0, 0, 0, NULL, 0), own++;
    def(NULL, 0), own++;
    dend(NULL), own++;
    gzo("/nonexistent", "r"), own++;
    xml(NULL, NULL, NULL), own++;
    ini(NULL, NULL, NULL, NULL), own++;
    bt(NULL, 0), own++;
    uint64_t r = own_symbols_work(seconds);
    printf("own_symbols: %ld own calls, %ld foreign calls\n", own, g_calls - own);
    return r == 42; /* never: keeps the work */
}
