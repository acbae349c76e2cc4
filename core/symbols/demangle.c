/*
 * demangle.c - C++ through __cxa_demangle, plus Rust legacy clean-up.
 *
 * DESIGN: __cxa_demangle is looked up once with dlsym(RTLD_DEFAULT); a C
 * program without libstdc++ keeps mangled C++ names rather than pulling a
 * C++ runtime into a process that did not have one.  A legacy Rust symbol
 * is an Itanium-style nested name whose last part is "h" + 16 hex digits;
 * after C++ demangling that is "::h0123456789abcdef", which we cut, then
 * decode Rust's escapes ($LT$ → <, $u20$ → ' ', .. → ::).  Rust v0 names
 * ("_R...") go to our own parser, rust_v0.c.
 */
#include "core/symbols/demangle.h"

#include <ctype.h>
#include <stdbool.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef char *cxa_demangle_fn(const char *mangled, char *buf, size_t *len, int *status);

static cxa_demangle_fn *g_cxa_demangle;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void find_demangler(void)
{
    g_cxa_demangle = (cxa_demangle_fn *)dlsym(RTLD_DEFAULT, "__cxa_demangle");
}

/* True for "…::h" followed by 16 lower-case hex digits at the end. */
static size_t rust_hash_suffix(const char *s)
{
    size_t n = strlen(s);
    if (n < 19 || strncmp(s + n - 19, "::h", 3) != 0)
        return 0;
    for (size_t i = n - 16; i < n; i++)
        if (!isxdigit((unsigned char)s[i]))
            return 0;
    return 19;
}

static const struct {
    const char *esc;
    char ch;
} rust_escapes[] = {
    {"$SP$", '@'}, {"$BP$", '*'}, {"$RF$", '&'}, {"$LT$", '<'}, {"$GT$", '>'},
    {"$LP$", '('}, {"$RP$", ')'}, {"$C$", ','},  {"$u7e$", '~'}, {"$u20$", ' '},
    {"$u27$", '\''}, {"$u5b$", '['}, {"$u5d$", ']'}, {"$u7b$", '{'}, {"$u7d$", '}'},
    {"$u3b$", ';'}, {"$u2b$", '+'}, {"$u22$", '"'},
};

/* Rewrites a legacy Rust path in place: escapes and ".." separators. */
static void rust_unescape(char *s)
{
    char *o = s;
    for (const char *p = s; *p;) {
        if (*p == '$') {
            bool done = false;
            for (size_t i = 0; i < sizeof(rust_escapes) / sizeof(rust_escapes[0]); i++) {
                size_t n = strlen(rust_escapes[i].esc);
                if (strncmp(p, rust_escapes[i].esc, n) == 0) {
                    *o++ = rust_escapes[i].ch;
                    p += n;
                    done = true;
                    break;
                }
            }
            if (done)
                continue;
        }
        if (p[0] == '.' && p[1] == '.') {
            *o++ = ':';
            *o++ = ':';
            p += 2;
            continue;
        }
        *o++ = *p++;
    }
    *o = '\0';
}

/* Cuts the first compiler clone suffix (and everything after it) in
 * place; a name that starts with one is left alone. */
static void strip_clone_suffix(char *name)
{
    static const char *const marks[] = {".constprop.", ".isra.", ".part.", ".cold",
                                        ".lto_priv.", ".llvm."};
    for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
        char *p = strstr(name, marks[i]);
        if (p && p != name) {
            *p = '\0';
            return;
        }
    }
}

char *cg_demangle_symbol(const char *raw)
{
    char *name = strdup(raw);
    if (!name)
        return NULL;
    strip_clone_suffix(name);
    char *pretty = cg_demangle(name);
    if (pretty) {
        free(name);
        return pretty;
    }
    return name;
}

char *cg_demangle(const char *name)
{
    if (name[0] == '_' && name[1] == 'R')
        return cg_demangle_rust_v0(name);
    if (strncmp(name, "_Z", 2) != 0)
        return NULL;
    pthread_once(&g_once, find_demangler);
    if (!g_cxa_demangle)
        return NULL;
    int status = -1;
    char *out = g_cxa_demangle(name, NULL, NULL, &status);
    if (status != 0 || !out) {
        free(out);
        return NULL;
    }
    size_t cut = rust_hash_suffix(out);
    if (cut) {
        out[strlen(out) - cut] = '\0';
        rust_unescape(out);
    }
    return out;
}
