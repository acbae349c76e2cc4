/*
 * config_fuzz.c - libFuzzer over the agent's settings (core/agent/config.c):
 * the config file (INI, `[default]`, `[process NAME]`) and the environment
 * values.  The input up to its first NUL is the file; after it, lines of
 * NAME=VALUE are the environment.  Whatever the bytes, loading returns
 * cleanly, and what it accepts is within the documented ranges.
 */
#include "core/agent/config.h"
#include "fuzz_util.h"

#include <stdbool.h>

struct env {
    char path[64];
    char *text; /* NAME=VALUE lines */
};

static const char *fake_getenv(const char *name, void *ctx)
{
    struct env *e = ctx;
    if (strcmp(name, "CGAGENT_CONFIG") == 0)
        return e->path;
    size_t nl = strlen(name);
    for (char *p = e->text; p && *p;) {
        char *end = strchr(p, '\n');
        if (strncmp(p, name, nl) == 0 && p[nl] == '=') {
            if (end)
                *end = '\0'; /* the value ends at the line's end (kept so) */
            return p + nl + 1;
        }
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_quiet();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t file_len = nul ? (size_t)(nul - data) : size;
    struct env e;
    if (fuzz_file(data, file_len, e.path) != 0)
        return 0;
    e.text = nul ? fuzz_cstr(nul + 1, size - file_len - 1) : NULL;
    struct cg_config_source src = {.getenv_fn = fake_getenv, .getenv_ctx = &e,
                                   .exe_name = "fuzzed", .argv0_name = "fuzzed"};
    struct cg_config cfg;
    if (cg_config_load(&cfg, &src) == 0) {
        if (cfg.cpu_hz > 1000 || cfg.max_stack_depth < 1 || cfg.max_stack_depth > 10000 ||
            cfg.memory_limit_mb < 4 || cfg.reporting_interval_ms < 1000 ||
            cfg.reporting_interval_ms > 86400000u || cfg.cpu_limit_percent < 1 ||
            cfg.cpu_limit_percent > 100)
            abort();
        cg_config_cleanup(&cfg);
    }
    fuzz_quiet(); /* a log_file setting must not leak into the next run */
    unlink(e.path);
    free(e.text);
    return 0;
}
