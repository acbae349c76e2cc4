/*
 * elf_fuzz.c - libFuzzer over ELF symbol tables and build-id notes
 * (core/symbols/elf_symtab.c): a truncated or corrupt library, as a file
 * (the path a loaded object has, then its build-id's debug file under an
 * empty debug root) and as an image in memory (the vDSO's way).  Lookups
 * at addresses from the input give a name inside the table or nothing.
 */
#include "core/symbols/elf_symtab.h"
#include "fuzz_util.h"

#include <sys/stat.h>

static char g_debug_root[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_quiet();
    snprintf(g_debug_root, sizeof(g_debug_root), "/tmp/cgagent-fuzz-debug-%d", (int)getpid());
    mkdir(g_debug_root, 0700);
    return 0;
}

static void probe(const struct cg_elf_symtab *t, const uint8_t *data, size_t size)
{
    if (!t)
        return;
    for (size_t i = 0; i + 8 <= size && i < 64; i += 8) {
        uint64_t a;
        memcpy(&a, data + i, 8);
        const char *name = NULL;
        if (cg_elf_symtab_lookup(t, a, &name, NULL) == 0 && (!name || strlen(name) > 1u << 20))
            abort();
    }
    (void)cg_elf_symtab_count(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    if (fuzz_file(data, size, path) != 0)
        return 0;
    struct cg_elf_symtab_options o = {g_debug_root};
    struct cg_elf_symtab *t = cg_elf_symtab_load(path, &o);
    probe(t, data, size);
    cg_elf_symtab_free(t);
    (void)cg_elf_has_section(path, ".go.buildinfo");
    unlink(path);
    char *image = fuzz_copy(data, size);
    if (image) {
        t = cg_elf_symtab_load_mem(image, size);
        probe(t, data, size);
        cg_elf_symtab_free(t);
        free(image);
    }
    return 0;
}
