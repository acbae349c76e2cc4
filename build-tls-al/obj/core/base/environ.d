build-tls-al/obj/core/base/environ.o: core/base/environ.c \
 core/base/environ.h
core/base/environ.h:
