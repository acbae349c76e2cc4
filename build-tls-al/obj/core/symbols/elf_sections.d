build-tls-al/obj/core/symbols/elf_sections.o: core/symbols/elf_sections.c \
 core/symbols/elf_sections.h core/base/log.h core/sample/jit_unwind.h \
 core/sample/plt_unwind.h core/symbols/dynsym.h
core/symbols/elf_sections.h:
core/base/log.h:
core/sample/jit_unwind.h:
core/sample/plt_unwind.h:
core/symbols/dynsym.h:
