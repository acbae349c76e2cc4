/*
 * demangle_fuzz.c - libFuzzer over the Rust v0 demangler: symbol names come
 * from whatever ELF objects a profiled program loads, so any bytes must
 * give a name or NULL, within the depth and length limits.
 */
#include "core/symbols/demangle.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *name = malloc(size + 3);
    if (!name)
        return 0;
    memcpy(name, "_R", 2);
    memcpy(name + 2, data, size);
    name[size + 2] = '\0';
    char *out = cg_demangle_rust_v0(name);
    if (out && strlen(out) >= 4096)
        abort();
    free(out);
    free(name);
    return 0;
}
