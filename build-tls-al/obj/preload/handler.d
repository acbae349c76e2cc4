build-tls-al/obj/preload/handler.o: preload/handler.c preload/preload.h \
 core/base/real_fns.h core/agent/agent.h core/agent/config.h \
 core/base/log.h core/base/thread_tls.h core/runtime/jvm.h \
 core/sample/count_key.h core/runtime/python.h core/sample/frame_rules.h \
 core/sample/jit_unwind.h core/sample/ring.h core/sample/threads.h \
 core/symbols/dynsym.h
preload/preload.h:
core/base/real_fns.h:
core/agent/agent.h:
core/agent/config.h:
core/base/log.h:
core/base/thread_tls.h:
core/runtime/jvm.h:
core/sample/count_key.h:
core/runtime/python.h:
core/sample/frame_rules.h:
core/sample/jit_unwind.h:
core/sample/ring.h:
core/sample/threads.h:
core/symbols/dynsym.h:
