build-tls-al/obj/core/base/strpool.o: core/base/strpool.c \
 core/base/strpool.h
core/base/strpool.h:
