build-tls-al/obj/core/sample/own_mem.o: core/sample/own_mem.c \
 core/sample/own_mem.h
core/sample/own_mem.h:
