build-tls-al/obj/core/symbols/elf_symtab_find.o: \
 core/symbols/elf_symtab_find.c core/symbols/elf_symtab.h \
 core/symbols/elf_symtab_internal.h core/base/error.h core/base/log.h
core/symbols/elf_symtab.h:
core/symbols/elf_symtab_internal.h:
core/base/error.h:
core/base/log.h:
