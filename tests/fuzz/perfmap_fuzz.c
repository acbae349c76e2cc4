/*
 * perfmap_fuzz.c - libFuzzer over the JIT perf-map reader
 * (core/symbols/perfmap.c): the file is written in two appends (the first
 * input byte picks the split), read incrementally with an injected clock,
 * and looked up at addresses from the input.  Each line is also parsed
 * alone.  Names returned are NUL-terminated strings of the map.
 */
#include "core/symbols/perfmap.h"
#include "fuzz_util.h"

#include <fcntl.h>

static uint64_t g_now;

static uint64_t fake_clock(void)
{
    return g_now;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t split = size > 1 ? 1 + (size_t)data[0] * (size - 1) / 255 : 1;
    char path[64];
    if (fuzz_file(data + 1, split - 1, path) != 0)
        return 0;
    struct cg_perfmap_options o = {.path = path, .max_entries = 64, .max_name_bytes = 4096,
                                   .clock_ns = fake_clock};
    struct cg_perfmap *m = cg_perfmap_new(0, &o);
    if (m) {
        g_now += 1000000000ull;
        uint64_t pcs[4] = {0};
        for (size_t i = 0; i < 4 && 1 + 8 * (i + 1) <= size; i++)
            memcpy(&pcs[i], data + 1 + 8 * i, 8);
        for (size_t i = 0; i < 4; i++) {
            const char *n = cg_perfmap_lookup(m, pcs[i]);
            if (n)
                (void)strlen(n);
        }
        int fd = open(path, O_WRONLY | O_APPEND);
        if (fd >= 0) {
            if (write(fd, data + split, size - split) < 0) {
            }
            close(fd);
        }
        g_now += 1000000000ull;
        for (size_t i = 0; i < 4; i++) {
            const char *n = cg_perfmap_lookup(m, pcs[i] ^ 0x10);
            if (n)
                (void)strlen(n);
        }
        if (cg_perfmap_entries(m) > 64)
            abort();
        cg_perfmap_free(m);
    }
    unlink(path);
    /* Line by line, with exact lengths. */
    const uint8_t *p = data + 1, *end = data + size;
    while (p < end) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char *line = fuzz_copy(p, len);
        uint64_t start, sz;
        const char *name;
        size_t name_len;
        if (line && cg_perfmap_parse_line(line, len, &start, &sz, &name, &name_len) == 0 &&
            (name < line || name + name_len > line + len))
            abort();
        free(line);
        p += len + 1;
    }
    return 0;
}
