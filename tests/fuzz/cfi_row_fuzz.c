/*
 * cfi_row_fuzz.c - libFuzzer over the DWARF call-frame reader
 * (core/sample/cfi_row.c): a corrupt .eh_frame in a loaded object ends in
 * "no row", never in a fault, a hang or a row that does not hold the
 * address asked about.
 *
 * Input: 4 bytes of the address's offset, 4 of the FDE's offset, then
 * the bytes the FDE and its CIE are read from (placed in memory as they
 * are: PC-relative pointers work at any address).
 */
#include "core/sample/cfi_row.h"
#include "fuzz_util.h"

static struct cg_own_mem g_mem;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_quiet();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 9)
        return 0;
    uint32_t addr_off, fde_off;
    memcpy(&addr_off, data, 4);
    memcpy(&fde_off, data + 4, 4);
    size -= 8;
    char *region = fuzz_copy(data + 8, size);
    if (!region)
        return 0;
    uint64_t base = (uint64_t)(uintptr_t)region;
    uint64_t addr = base + (int32_t)addr_off, fde = base + fde_off % size;
    cg_own_mem_reset(&g_mem); /* the region is new memory each time */
    struct cg_cfi_row row;
    if (cg_cfi_row_of_fde(&g_mem, fde, addr, &row) && !(row.start <= addr && addr < row.end))
        abort();
    free(region);
    return 0;
}
