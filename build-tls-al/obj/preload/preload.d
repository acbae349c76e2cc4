build-tls-al/obj/preload/preload.o: preload/preload.c preload/preload.h \
 core/base/real_fns.h core/agent/agent.h core/agent/config.h \
 core/base/log.h core/base/fd_floor.h core/base/thread_tls.h \
 core/runtime/jvm.h core/sample/count_key.h core/sample/cpu_timer.h \
 core/sample/threads.h core/symbols/elf_symtab.h
preload/preload.h:
core/base/real_fns.h:
core/agent/agent.h:
core/agent/config.h:
core/base/log.h:
core/base/fd_floor.h:
core/base/thread_tls.h:
core/runtime/jvm.h:
core/sample/count_key.h:
core/sample/cpu_timer.h:
core/sample/threads.h:
core/symbols/elf_symtab.h:
