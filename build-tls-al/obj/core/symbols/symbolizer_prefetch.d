build-tls-al/obj/core/symbols/symbolizer_prefetch.o: \
 core/symbols/symbolizer_prefetch.c core/symbols/symbolizer_internal.h \
 core/symbols/perfmap.h core/symbols/symbolizer.h core/base/error.h \
 core/base/log.h core/symbols/elf_symtab.h
core/symbols/symbolizer_internal.h:
core/symbols/perfmap.h:
core/symbols/symbolizer.h:
core/base/error.h:
core/base/log.h:
core/symbols/elf_symtab.h:
