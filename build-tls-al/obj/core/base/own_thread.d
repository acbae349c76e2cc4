build-tls-al/obj/core/base/own_thread.o: core/base/own_thread.c \
 core/base/own_thread.h core/base/real_fns.h core/base/thread_tls.h
core/base/own_thread.h:
core/base/real_fns.h:
core/base/thread_tls.h:
