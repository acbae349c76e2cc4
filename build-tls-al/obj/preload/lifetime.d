build-tls-al/obj/preload/lifetime.o: preload/lifetime.c preload/preload.h \
 core/base/real_fns.h core/base/log.h core/base/own_thread.h
preload/preload.h:
core/base/real_fns.h:
core/base/log.h:
core/base/own_thread.h:
