/*
 * main.c - the `cgagent` command.
 *
 *   cgagent run [--group G] [--role-arn ARN] [--region R] [--output DIR] -- CMD ARGS...
 *       sets LD_PRELOAD and the agent's environment, then execs CMD (the
 *       container entrypoint wrapper).  The agent preloaded is the one
 *       built for CMD's libc, glibc or musl (target_libc.h); CMD runs
 *       without one, saying so, when none is installed for it.  Without
 *       --group, --output or the equivalent variables, profiles go to
 *       ./cgagent-profiles.  A library path LD_PRELOAD cannot carry (a
 *       space, a colon, a '$', not absolute) is refused and CMD is not
 *       started.
 *   cgagent report [--top N] [--flamegraph OUT.svg] FILE|DIR...
 *       prints the top functions by self and total samples per count key,
 *       and optionally writes an SVG flame graph.
 *   cgagent check [--group G] [--role-arn ARN] [--region R] [--program NAME]
 *                 [--no-identity] [--json]
 *       the doctor: resolves configuration and credentials as the agent
 *       would, asks ConfigureAgent, and names the cause and fix of a
 *       failure (check.c, check_diagnose.c).
 *   cgagent version
 *
 * DESIGN: argument parsing and environment set-up only; the report itself
 * lives in core/profile/report.c so tests can call it.  Exit status: 0, 2 for a
 * usage error, 127 when CMD cannot be executed (like env(1)), 1 otherwise.
 */
#include "cli/cli.h"
#include "cli/target_libc.h"
#include "core/profile/report.h"

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_OUTPUT "cgagent-profiles"

static void usage(FILE *out)
{
    fputs("usage: cgagent run [--group G] [--role-arn ARN] [--region R] [--output DIR] -- CMD "
          "[ARGS...]\n"
          "       cgagent report [--top N] [--flamegraph OUT.svg] FILE|DIR...\n"
          "       cgagent check [--group G] [--role-arn ARN] [--region R] [--program NAME]\n"
          "                     [--no-identity] [--json]\n"
          "       cgagent version\n"
          "       cgagent help | --help | -h\n",
          out);
}

/* The agent library for a program of libc `want` (target_libc.h; UNKNOWN:
 * any): next to this binary (build tree), in ../lib (installed), or in
 * ../lib/musl or ../lib/glibc (an installation with both: the glibc
 * tarball's lib/ and the musl tarball's library in lib/musl/,
 * docs/install.md); the first whose libc is `want`.  CGAGENT_LIBRARY
 * overrides.  The result is realpath()'d: absolute, so a child that
 * changes directory still finds it.  -ENOEXEC: libraries were found, but
 * none for `want` (or CGAGENT_LIBRARY is for the other libc).
 * `*from_env` says which was used, for the error message. */
static int find_library(char *out, size_t size, enum cg_libc_kind want, bool *from_env)
{
    const char *env = secure_getenv("CGAGENT_LIBRARY");
    *from_env = env && *env;
    if (*from_env) {
        if (access(env, R_OK) != 0)
            return -errno;
        enum cg_libc_kind has = cg_library_libc(env);
        if (want && has && has != want)
            return -ENOEXEC;
        return realpath(env, out) ? 0 : -errno;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return -errno;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    *slash = '\0';
    const char *candidates[] = {"%s/libcgagent.so", "%s/../lib/libcgagent.so",
                                "%s/../lib/musl/libcgagent.so", "%s/../lib/glibc/libcgagent.so"};
    int rc = -ENOENT;
    for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
        char path[PATH_MAX + 32];
        snprintf(path, sizeof(path), candidates[i], self);
        if (access(path, R_OK) != 0)
            continue;
        if (want && cg_library_libc(path) != want) {
            rc = -ENOEXEC;
            continue;
        }
        if (realpath(path, out))
            return 0;
    }
    (void)size;
    return rc;
}

/* Why `path` cannot go into LD_PRELOAD, or NULL when it can.  ld.so
 * splits LD_PRELOAD at spaces and colons (glibc's rtld.c): installed
 * under ".../my dir/", every child would preload "dir/bin/libcgagent.so"
 * relative to its own working directory, a file anyone who can write
 * there plants (issue 28, item 5).  A relative path has the same flaw,
 * and ld.so expands $ORIGIN (the program's directory) in it, so a '$'
 * would point each program elsewhere.  Control bytes are refused too: no
 * real install has them, and they would garble the one error line. */
static const char *preload_path_problem(const char *path)
{
    if (path[0] != '/')
        return "is relative, so each program would look for it from its own working directory";
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if (*p == ' ')
            return "holds a space, and ld.so splits LD_PRELOAD at spaces and colons: each "
                   "program would load the pieces, the later ones from its working directory";
        if (*p == ':')
            return "holds a colon, and ld.so splits LD_PRELOAD at spaces and colons: each "
                   "program would load the pieces, the later ones from its working directory";
        if (*p == '$')
            return "holds a '$', and ld.so expands $ORIGIN, $LIB and $PLATFORM in LD_PRELOAD: "
                   "each program would load a file of another directory";
        if (*p < 0x20 || *p == 0x7f)
            return "holds a control character, which no install path needs";
    }
    return NULL;
}

/* `s` with control bytes as \xNN, so the error stays one line. */
static void put_escaped(const char *s, FILE *out)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            fprintf(out, "\\x%02x", *p);
        else
            fputc(*p, out);
    }
}

/* Whether the LD_PRELOAD list `list` already names `lib` as one entry
 * (split as ld.so splits it), not merely as a substring of another. */
static bool preload_names(const char *list, const char *lib)
{
    size_t len = strlen(lib);
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, " :");
        if (n == len && strncmp(p, lib, len) == 0)
            return true;
        p += n;
        p += strspn(p, " :");
    }
    return false;
}

static int set_env(const char *name, const char *value)
{
    if (setenv(name, value, 1) != 0) {
        fprintf(stderr, "cgagent: cannot set %s: %s\n", name, strerror(errno));
        return -1;
    }
    return 0;
}

/* Runs the command; returns only when it cannot be executed. */
static int exec_program(char **argv)
{
    execvp(argv[0], argv);
    fprintf(stderr, "cgagent run: cannot execute %s: %s\n", argv[0], strerror(errno));
    return 127;
}

static int cmd_run(int argc, char **argv)
{
    const char *group = NULL, *role = NULL, *region = NULL, *output = NULL;
    int i = 0;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        const char **slot = strcmp(a, "--group") == 0      ? &group
                            : strcmp(a, "--role-arn") == 0 ? &role
                            : strcmp(a, "--region") == 0   ? &region
                            : strcmp(a, "--output") == 0   ? &output
                                                           : NULL;
        if (!slot) {
            if (a[0] == '-') {
                fprintf(stderr, "cgagent run: unknown option %s\n", a);
                usage(stderr);
                return 2;
            }
            break; /* the command, without "--" */
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "cgagent run: %s needs a value\n", a);
            return 2;
        }
        *slot = argv[++i];
    }
    if (i >= argc) {
        fprintf(stderr, "cgagent run: no command given\n");
        usage(stderr);
        return 2;
    }
    char lib[PATH_MAX];
    bool from_env;
    enum cg_libc_kind want = cg_target_libc(argv[i]);
    int rc = find_library(lib, sizeof(lib), want, &from_env);
    if (rc == -ENOEXEC) {
        /* The agent of the other libc would stop the program from
         * starting (target_libc.h): it runs, unprofiled, and says so. */
        fprintf(stderr, "cgagent run: %s runs on %s and %s; running it without the agent\n",
                argv[i], cg_libc_name(want),
                from_env ? "CGAGENT_LIBRARY is not a library for it"
                         : "no agent library for it is installed (lib/, lib/musl/, lib/glibc/)");
        return exec_program(&argv[i]);
    }
    if (rc != 0) {
        fprintf(stderr, "cgagent run: cannot find libcgagent.so next to this program or in "
                        "../lib (set CGAGENT_LIBRARY): %s\n", strerror(-rc));
        return 1;
    }
    const char *problem = preload_path_problem(lib);
    if (problem) {
        /* One line, and the program is not started: run without the agent
         * it would look profiled when it is not, and run with this
         * LD_PRELOAD it would load files from its working directory. */
        fputs("cgagent run: refusing to preload ", stderr);
        put_escaped(lib, stderr);
        fprintf(stderr, " (%s): the path %s; %s\n",
                from_env ? "CGAGENT_LIBRARY" : "installed with cgagent", problem,
                from_env ? "set CGAGENT_LIBRARY to a path without spaces, colons or '$'"
                         : "install cgagent under a path without spaces, colons or '$', or set "
                           "CGAGENT_LIBRARY to one");
        return 1;
    }
    if ((group && set_env("AWS_CODEGURU_PROFILER_GROUP_NAME", group)) ||
        (role && set_env("CGAGENT_ROLE_ARN", role)) ||
        (region && set_env("AWS_CODEGURU_PROFILER_TARGET_REGION", region)))
        return 1;
    bool has_group = secure_getenv("AWS_CODEGURU_PROFILER_GROUP_NAME") ||
                     secure_getenv("AWS_CODEGURU_PROFILER_GROUP_ARN");
    if (!output && !secure_getenv("CGAGENT_OUTPUT") && !has_group)
        output = DEFAULT_OUTPUT;
    if (output) {
        /* Absolute, so a program that changes directory still writes here. */
        char abs[PATH_MAX];
        if (output[0] != '/') {
            char cwd[PATH_MAX];
            if (!getcwd(cwd, sizeof(cwd))) {
                fprintf(stderr, "cgagent run: getcwd: %s\n", strerror(errno));
                return 1;
            }
            if ((size_t)snprintf(abs, sizeof(abs), "%s/%s", cwd, output) >= sizeof(abs)) {
                fprintf(stderr, "cgagent run: output path too long\n");
                return 1;
            }
            output = abs;
        }
        if (set_env("CGAGENT_OUTPUT", output))
            return 1;
    }
    const char *old = secure_getenv("LD_PRELOAD");
    if (!old || !preload_names(old, lib)) {
        size_t len = strlen(lib) + (old ? strlen(old) + 2 : 1);
        char *preload = malloc(len);
        if (!preload)
            return 1;
        snprintf(preload, len, "%s%s%s", lib, old && *old ? " " : "", old ? old : "");
        if (set_env("LD_PRELOAD", preload))
            return 1;
        free(preload);
    }
    return exec_program(&argv[i]);
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Expands directories to the .json documents they hold. */
static int collect_paths(int argc, char **argv, char ***out, size_t *n_out)
{
    size_t n = 0, cap = 16;
    char **paths = malloc(cap * sizeof(*paths));
    if (!paths)
        return -1;
    for (int i = 0; i < argc; i++) {
        struct stat st;
        DIR *d = stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode) ? opendir(argv[i]) : NULL;
        if (!d) {
            if (n == cap && !(paths = realloc(paths, (cap *= 2) * sizeof(*paths))))
                return -1;
            paths[n++] = strdup(argv[i]);
            continue;
        }
        size_t first = n;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.' || !has_suffix(e->d_name, ".json"))
                continue;
            if (n == cap && !(paths = realloc(paths, (cap *= 2) * sizeof(*paths))))
                return -1;
            size_t len = strlen(argv[i]) + strlen(e->d_name) + 2;
            paths[n] = malloc(len);
            if (!paths[n])
                return -1;
            snprintf(paths[n++], len, "%s/%s", argv[i], e->d_name);
        }
        closedir(d);
        qsort(paths + first, n - first, sizeof(*paths), name_cmp);
        if (n == first)
            fprintf(stderr, "cgagent report: %s: no .json profiles in this directory\n", argv[i]);
    }
    *out = paths;
    *n_out = n;
    return 0;
}

static int cmd_report(int argc, char **argv)
{
    struct cg_report_options opts = {.top_n = 15, .out = stdout};
    int i = 0;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--top") == 0 && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v <= 0 || v > 100000) {
                fprintf(stderr, "cgagent report: --top takes a number from 1 to 100000\n");
                return 2;
            }
            opts.top_n = (size_t)v;
        } else if (strcmp(argv[i], "--flamegraph") == 0 && i + 1 < argc) {
            opts.flamegraph_path = argv[++i];
        } else if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else {
            fprintf(stderr, "cgagent report: unknown option %s\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (i >= argc) {
        fprintf(stderr, "cgagent report: no profile given\n");
        usage(stderr);
        return 2;
    }
    char **paths;
    size_t n;
    if (collect_paths(argc - i, argv + i, &paths, &n) != 0) {
        fprintf(stderr, "cgagent report: out of memory\n");
        return 1;
    }
    int rc = n ? cg_report_run((const char *const *)paths, n, &opts) : -1;
    for (size_t k = 0; k < n; k++)
        free(paths[k]);
    free(paths);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "run") == 0)
        return cmd_run(argc - 2, argv + 2);
    if (strcmp(argv[1], "report") == 0)
        return cmd_report(argc - 2, argv + 2);
    if (strcmp(argv[1], "check") == 0)
        return cg_cli_check(argc - 2, argv + 2);
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("cgagent %s\n", CGAGENT_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "cgagent: unknown command %s\n", argv[1]);
    usage(stderr);
    return 2;
}
