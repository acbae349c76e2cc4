build-tls-al/obj/preload/interpose.o: preload/interpose.c \
 preload/preload.h core/base/real_fns.h core/base/log.h \
 core/base/own_thread.h core/runtime/jvm.h core/sample/count_key.h
preload/preload.h:
core/base/real_fns.h:
core/base/log.h:
core/base/own_thread.h:
core/runtime/jvm.h:
core/sample/count_key.h:
