/*
 * elf_symtab_order_test.c - a symbol table built by hand: unsorted
 * addresses across many bytes, aliases at one address, versioned names.
 */
#include "core/base/error.h"
#include "core/symbols/elf_symtab.h"
#include "tests/unit/elf_header.h"

#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

struct test_sym {
    const char *name;
    uint64_t value, size;
    int bind;
};

/* An ELF64 image with a .symtab of `syms` (all STT_FUNC in section 1),
 * its .strtab and a .shstrtab.  Returns a malloc'd image. */
static void *build_image(const struct test_sym *syms, size_t n, size_t *len)
{
    static const char shstr[] = "\0.symtab\0.strtab\0.shstrtab\0.text";
    size_t str_cap = 1;
    for (size_t i = 0; i < n; i++)
        str_cap += strlen(syms[i].name) + 1;
    char *strtab = calloc(1, str_cap);
    size_t str_len = 1;
    Elf64_Sym *st = calloc(n + 1, sizeof(*st));
    /* Locals first, as a linker writes them; sh_info is the first global. */
    size_t out = 1, first_global = 1;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            first_global = out;
        for (size_t i = 0; i < n; i++) {
            if ((syms[i].bind == STB_LOCAL) != (pass == 0))
                continue;
            size_t l = strlen(syms[i].name) + 1;
            memcpy(strtab + str_len, syms[i].name, l);
            st[out].st_name = (Elf64_Word)str_len;
            str_len += l;
            st[out].st_info = ELF64_ST_INFO(syms[i].bind, STT_FUNC);
            st[out].st_shndx = 4;
            st[out].st_value = syms[i].value;
            st[out].st_size = syms[i].size;
            out++;
        }
    }
    size_t sym_off = sizeof(Elf64_Ehdr), sym_len = (n + 1) * sizeof(Elf64_Sym);
    size_t str_off = sym_off + sym_len, shstr_off = str_off + str_len;
    size_t sh_off = (shstr_off + sizeof(shstr) + 7) & ~(size_t)7;
    *len = sh_off + 5 * sizeof(Elf64_Shdr);
    unsigned char *img = calloc(1, *len);
    Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
    test_elf_header(eh, sh_off, 5, 3);
    memcpy(img + sym_off, st, sym_len);
    memcpy(img + str_off, strtab, str_len);
    memcpy(img + shstr_off, shstr, sizeof(shstr));
    Elf64_Shdr *sh = (Elf64_Shdr *)(img + sh_off);
    sh[1] = (Elf64_Shdr){.sh_name = 1, .sh_type = SHT_SYMTAB, .sh_offset = sym_off,
                         .sh_size = sym_len, .sh_link = 2, .sh_info = (Elf64_Word)first_global,
                         .sh_addralign = 8, .sh_entsize = sizeof(Elf64_Sym)};
    sh[2] = (Elf64_Shdr){.sh_name = 9, .sh_type = SHT_STRTAB, .sh_offset = str_off,
                         .sh_size = str_len, .sh_addralign = 1};
    sh[3] = (Elf64_Shdr){.sh_name = 17, .sh_type = SHT_STRTAB, .sh_offset = shstr_off,
                         .sh_size = sizeof(shstr), .sh_addralign = 1};
    sh[4] = (Elf64_Shdr){.sh_name = 27, .sh_type = SHT_NOBITS, .sh_flags = SHF_ALLOC | SHF_EXECINSTR,
                         .sh_addr = 0x1000, .sh_size = 0x10000, .sh_addralign = 16};
    free(st);
    free(strtab);
    return img;
}

static const char *name_at(const struct cg_elf_symtab *t, uint64_t vaddr)
{
    const char *name;
    uint64_t start;
    return cg_elf_symtab_lookup(t, vaddr, &name, &start) == 0 ? name : NULL;
}

static void unsorted_addresses_across_many_bytes_are_found(void **state)
{
    (void)state;
    /* Addresses that differ in their low, middle and high bytes, shuffled
     * by a fixed permutation, and one table far larger than a byte's range. */
    enum { N = 3000 };
    struct test_sym *syms = calloc(N, sizeof(*syms));
    char (*names)[16] = calloc(N, sizeof(*names));
    for (size_t i = 0; i < N; i++) {
        size_t k = (i * 1237) % N; /* 1237 is prime to 3000: a permutation */
        snprintf(names[i], sizeof(names[i]), "f%zu", k);
        syms[i] = (struct test_sym){names[i], 0x1000 + (uint64_t)k * 0x10 +
                                                  (k % 3 == 0 ? 0x7f0000000000ull : 0),
                                    0x10, STB_GLOBAL};
    }
    size_t len;
    void *img = build_image(syms, N, &len);
    struct cg_elf_symtab *t = cg_elf_symtab_load_mem(img, len);
    assert_non_null(t);
    assert_int_equal(cg_elf_symtab_count(t), N);
    for (size_t k = 0; k < N; k++) {
        char want[16];
        snprintf(want, sizeof(want), "f%zu", k);
        uint64_t at = 0x1000 + (uint64_t)k * 0x10 + (k % 3 == 0 ? 0x7f0000000000ull : 0);
        const char *got = name_at(t, at + 0xf);
        assert_non_null(got);
        assert_string_equal(got, want);
    }
    cg_elf_symtab_free(t);
    free(img);
    free(names);
    free(syms);
}

static void the_best_alias_names_an_address(void **state)
{
    (void)state;
    const struct test_sym syms[] = {
        /* Equal sizes: the fewest leading underscores wins, wherever it is. */
        {"__libc_nanosleep", 0x2000, 0x40, STB_LOCAL},
        {"__nanosleep", 0x2000, 0x40, STB_GLOBAL},
        {"nanosleep", 0x2000, 0x40, STB_WEAK},
        /* A larger alias covers the whole function: it wins. */
        {"small_entry", 0x3000, 0x8, STB_GLOBAL},
        {"__whole_function", 0x3000, 0x80, STB_LOCAL},
        /* A tie: the global one, seen before the locals. */
        {"local_twin", 0x4000, 0x20, STB_LOCAL},
        {"global_twin", 0x4000, 0x20, STB_GLOBAL},
        /* glibc's .symtab keeps symbol versions in the name. */
        {"__libc_start_main@@GLIBC_2.34", 0x5000, 0x20, STB_GLOBAL},
        {"memcpy@GLIBC_2.2.5", 0x6000, 0x20, STB_GLOBAL},
    };
    size_t len;
    void *img = build_image(syms, sizeof(syms) / sizeof(syms[0]), &len);
    struct cg_elf_symtab *t = cg_elf_symtab_load_mem(img, len);
    assert_non_null(t);
    assert_int_equal(cg_elf_symtab_count(t), 5);
    assert_string_equal(name_at(t, 0x2010), "nanosleep");
    assert_string_equal(name_at(t, 0x3040), "__whole_function");
    assert_string_equal(name_at(t, 0x4000), "global_twin");
    assert_string_equal(name_at(t, 0x5004), "__libc_start_main");
    assert_string_equal(name_at(t, 0x6004), "memcpy");
    assert_null(name_at(t, 0x6020));
    cg_elf_symtab_free(t);
    free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unsorted_addresses_across_many_bytes_are_found),
        cmocka_unit_test(the_best_alias_names_an_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
