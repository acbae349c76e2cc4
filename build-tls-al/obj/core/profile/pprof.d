build-tls-al/obj/core/profile/pprof.o: core/profile/pprof.c \
 core/profile/pprof.h core/profile/calltree.h core/sample/count_key.h \
 core/profile/profile_doc.h core/base/cpu_account.h core/base/clock.h \
 core/symbols/elf_symtab.h
core/profile/pprof.h:
core/profile/calltree.h:
core/sample/count_key.h:
core/profile/profile_doc.h:
core/base/cpu_account.h:
core/base/clock.h:
core/symbols/elf_symtab.h:
