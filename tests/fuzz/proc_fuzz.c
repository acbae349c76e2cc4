/*
 * proc_fuzz.c - libFuzzer over the /proc and kernel-config parsers: a
 * thread's stat line (state letter: core/sample/wall.c; start time:
 * core/agent/agent_threads.c), its syscall line (SP, PC: wall.c), and
 * CONFIG_HZ in a kernel config (core/sample/cpu_timer.c).  The first byte
 * picks the parser.
 */
#include "core/agent/agent_internal.h"
#include "core/base/error.h"
#include "core/sample/cpu_timer.h"
#include "core/sample/wall_internal.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int which = fuzz_pick(&data, &size, 3);
    if (which < 0)
        return 0;
    switch (which) {
    case 0: {
        char *text = fuzz_cstr(data, size);
        if (!text)
            return 0;
        struct cg_wall_state st = {0};
        int rc = cg_wall_parse_stat(text, &st);
        if (rc != 0 && rc != CG_EPARSE)
            abort();
        (void)cg_agent_parse_start_ticks(text);
        free(text);
        break;
    }
    case 1: {
        char *text = fuzz_cstr(data, size);
        if (!text)
            return 0;
        struct cg_wall_state st = {0};
        int rc = cg_wall_parse_syscall(text, &st);
        if (rc == 0 && st.in_syscall && (!st.sp || !st.pc))
            abort();
        free(text);
        break;
    }
    default: {
        char *text = fuzz_copy(data, size);
        if (!text)
            return 0;
        uint32_t hz = cg_cpu_timer_parse_config_hz(text, size);
        if (hz != 0 && (hz < 24 || hz > 10000))
            abort();
        free(text);
        break;
    }
    }
    return 0;
}
