build-tls-al/obj/core/sample/ring.o: core/sample/ring.c \
 core/sample/ring.h
core/sample/ring.h:
