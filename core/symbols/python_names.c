/*
 * python_names.c - "py::qualname:file" to "module:Class:function".
 *
 * DESIGN: pure string work on the agent thread.  The module follows the
 * CodeGuru Python agent's encoder (longest sys.path root, suffix dropped,
 * '/' to '.'), except that a root must end at a '/' of the path (that
 * agent strips a root found anywhere in the string) and that, without the
 * interpreter's sys.path, roots come from the command line, PYTHONPATH
 * and well-known directory names in the path itself (python_names.h).
 * What it won't do: ask the interpreter anything, or read source files for
 * line numbers (the perf map has none).
 */
#include "core/symbols/python_names.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct cg_python_roots {
    char **dirs;
    size_t n;
};

static int add_dir(struct cg_python_roots *r, const char *dir, size_t len)
{
    while (len > 1 && dir[len - 1] == '/')
        len--;
    if (!len)
        return 0;
    char **grown = realloc(r->dirs, (r->n + 1) * sizeof(*grown));
    if (!grown)
        return -1;
    r->dirs = grown;
    if (!(r->dirs[r->n] = strndup(dir, len)))
        return -1;
    r->n++;
    return 0;
}

struct cg_python_roots *cg_python_roots_new(const char *const *dirs, size_t n)
{
    struct cg_python_roots *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (dirs[i] && add_dir(r, dirs[i], strlen(dirs[i])) != 0)
            goto err;
    return r;
err:
    cg_python_roots_free(r);
    return NULL;
}

void cg_python_roots_free(struct cg_python_roots *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->dirs[i]);
    free(r->dirs);
    free(r);
}

/* sys.path[0] from the interpreter's arguments: the script's directory,
 * or "" (the working directory) for -c, -m, or an interactive session. */
static const char *script_of(const char *args, size_t len)
{
    const char *end = args + len;
    const char *a = args + strnlen(args, len) + 1; /* skip argv[0] */
    while (a < end) {
        const char *next = a + strnlen(a, (size_t)(end - a)) + 1;
        if (a[0] != '-' || a[1] == '\0')
            return a; /* the script ("-" is stdin: no script) */
        if (strcmp(a, "--") == 0)
            return next < end ? next : NULL;
        if (a[1] == '-') {
            if (strcmp(a, "--check-hash-based-pycs") == 0)
                next = next < end ? next + strnlen(next, (size_t)(end - next)) + 1 : next;
            a = next;
            continue;
        }
        for (const char *c = a + 1; *c; c++) {
            if (*c == 'c' || *c == 'm')
                return NULL;
            if (*c == 'W' || *c == 'X') {
                if (!c[1] && next < end) /* the value is the next argument */
                    next = next + strnlen(next, (size_t)(end - next)) + 1;
                break;
            }
        }
        a = next;
    }
    return NULL;
}

struct cg_python_roots *cg_python_roots_of_process(void)
{
    struct cg_python_roots *r = cg_python_roots_new(NULL, 0);
    char cwd[PATH_MAX];
    char *args = NULL;
    if (!r)
        return NULL;
    if (!getcwd(cwd, sizeof(cwd)))
        cwd[0] = '\0';
    FILE *f = fopen("/proc/self/cmdline", "re");
    if (f) {
        args = calloc(1, 65536);
        size_t len = args ? fread(args, 1, 65535, f) : 0;
        fclose(f);
        const char *script = len ? script_of(args, len) : NULL;
        const char *slash = script ? strrchr(script, '/') : NULL;
        if (script && script[0] == '/') {
            if (add_dir(r, script, slash == script ? 1 : (size_t)(slash - script)) != 0)
                goto err;
        } else if (script && slash && cwd[0]) {
            char dir[PATH_MAX];
            int n = snprintf(dir, sizeof(dir), "%s/%.*s", cwd, (int)(slash - script), script);
            if (n > 0 && (size_t)n < sizeof(dir) && add_dir(r, dir, (size_t)n) != 0)
                goto err;
        } else if (cwd[0] && add_dir(r, cwd, strlen(cwd)) != 0) {
            goto err;
        }
    }
    /* Not in a privileged (AT_SECURE) process: nothing on its say-so. */
    const char *pp = secure_getenv("PYTHONPATH");
    while (pp && *pp) {
        const char *colon = strchr(pp, ':');
        size_t n = colon ? (size_t)(colon - pp) : strlen(pp);
        if (n && pp[0] == '/' && add_dir(r, pp, n) != 0)
            goto err;
        pp = colon ? colon + 1 : NULL;
    }
    free(args);
    return r;
err:
    free(args);
    cg_python_roots_free(r);
    return NULL;
}

bool cg_python_is_perf_name(const char *perf_name)
{
    return strncmp(perf_name, "py::", 4) == 0 && strchr(perf_name + 4, ':') != NULL;
}

/* Length of the longest root of `path` (a prefix ending at one of its
 * '/'), 0 when none. */
static size_t root_len(const struct cg_python_roots *roots, const char *path, size_t len)
{
    size_t best = 0;
    for (size_t i = 0; roots && i < roots->n; i++) {
        size_t n = strlen(roots->dirs[i]);
        if (n == 1 && roots->dirs[i][0] == '/')
            n = 0; /* "/" holds everything: the path minus its slash */
        if (n < len && path[n] == '/' && strncmp(path, roots->dirs[i], n) == 0 && n + 1 > best)
            best = n + 1;
    }
    /* Directories found in the path itself: the last one of each kind. */
    static const char *const marks[] = {"/site-packages/", "/dist-packages/"};
    for (size_t m = 0; m < 2; m++) {
        size_t ml = strlen(marks[m]);
        for (size_t i = 0; i + ml <= len; i++)
            if (strncmp(path + i, marks[m], ml) == 0 && i + ml > best)
                best = i + ml;
    }
    /* .../lib/pythonX.Y/ (also .../lib64/...). */
    for (size_t i = 0; i + 12 <= len; i++) {
        if (path[i] != '/' || strncmp(path + i + 1, "python", 6) != 0)
            continue;
        size_t j = i + 7;
        while (j < len && ((path[j] >= '0' && path[j] <= '9') || path[j] == '.'))
            j++;
        bool versioned = j > i + 7 && j < len && path[j] == '/';
        bool in_lib = i >= 4 && (strncmp(path + i - 4, "/lib", 4) == 0 ||
                                 (i >= 6 && strncmp(path + i - 6, "/lib64", 6) == 0));
        if (versioned && in_lib && j + 1 > best)
            best = j + 1;
    }
    return best;
}

/* Appends src[0..n) to out at *at, never past cap - 1. */
static void put(char *out, size_t cap, size_t *at, const char *src, size_t n)
{
    for (size_t i = 0; i < n && *at + 1 < cap; i++)
        out[(*at)++] = src[i];
}

static void put_module(const struct cg_python_roots *roots, const char *file, size_t len,
                       char *out, size_t cap, size_t *at)
{
    if (len > 8 && strncmp(file, "<frozen ", 8) == 0 && file[len - 1] == '>') {
        put(out, cap, at, file + 8, len - 9);
        return;
    }
    if (file[0] == '<') { /* "<string>", "<stdin>" */
        put(out, cap, at, file, len);
        return;
    }
    size_t start = root_len(roots, file, len);
    if (!start) { /* under no root: the base name */
        for (size_t i = 0; i < len; i++)
            if (file[i] == '/')
                start = i + 1;
    }
    size_t end = len;
    const char *last_slash = memrchr(file + start, '/', len - start);
    const char *base = last_slash ? last_slash + 1 : file + start;
    const char *dot = memrchr(base, '.', (size_t)(file + len - base));
    if (dot && dot > base)
        end = (size_t)(dot - file);
    for (size_t i = start; i < end; i++) {
        char c = file[i] == '/' ? '.' : file[i];
        put(out, cap, at, &c, 1);
    }
}

int cg_python_frame_name(const struct cg_python_roots *roots, const char *perf_name, char *out,
                         size_t cap, const char **file, size_t *file_len)
{
    if (!cg_python_is_perf_name(perf_name) || cap == 0)
        return -1;
    const char *qual = perf_name + 4;
    const char *colon = strchr(qual, ':');
    if (!colon) /* not after cg_python_is_perf_name; said for the compiler */
        return -1;
    size_t qlen = (size_t)(colon - qual);
    *file = colon + 1;
    *file_len = strlen(colon + 1);
    size_t at = 0;
    if (*file_len)
        put_module(roots, *file, *file_len, out, cap, &at);
    /* function: after the last '.'; class: the component before it. */
    const char *fn = memrchr(qual, '.', qlen);
    fn = fn ? fn + 1 : qual;
    if (fn > qual) {
        const char *cls_end = fn - 1;
        const char *cls = memrchr(qual, '.', (size_t)(cls_end - qual));
        cls = cls ? cls + 1 : qual;
        size_t cl = (size_t)(cls_end - cls);
        if (cl && !(cl == 8 && strncmp(cls, "<locals>", 8) == 0)) {
            if (at)
                put(out, cap, &at, ":", 1);
            put(out, cap, &at, cls, cl);
        }
    }
    if (at)
        put(out, cap, &at, ":", 1);
    put(out, cap, &at, fn, (size_t)(qual + qlen - fn));
    out[at] = '\0';
    return 0;
}
