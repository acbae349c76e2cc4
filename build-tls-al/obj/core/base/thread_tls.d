build-tls-al/obj/core/base/thread_tls.o: core/base/thread_tls.c \
 core/base/thread_tls.h
core/base/thread_tls.h:
