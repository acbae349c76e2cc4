build-tls-al/obj/preload/python.o: preload/python.c preload/preload.h \
 core/base/real_fns.h core/base/log.h core/sample/jit_unwind.h \
 core/symbols/elf_sections.h
preload/preload.h:
core/base/real_fns.h:
core/base/log.h:
core/sample/jit_unwind.h:
core/symbols/elf_sections.h:
