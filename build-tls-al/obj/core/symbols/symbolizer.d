build-tls-al/obj/core/symbols/symbolizer.o: core/symbols/symbolizer.c \
 core/symbols/symbolizer.h core/base/error.h core/base/log.h \
 core/base/strpool.h core/symbols/demangle.h core/symbols/elf_sections.h \
 core/symbols/elf_symtab.h core/symbols/perfmap.h \
 core/symbols/python_names.h core/symbols/symbolizer_internal.h
core/symbols/symbolizer.h:
core/base/error.h:
core/base/log.h:
core/base/strpool.h:
core/symbols/demangle.h:
core/symbols/elf_sections.h:
core/symbols/elf_symtab.h:
core/symbols/perfmap.h:
core/symbols/python_names.h:
core/symbols/symbolizer_internal.h:
