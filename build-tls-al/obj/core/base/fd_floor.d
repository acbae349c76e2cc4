build-tls-al/obj/core/base/fd_floor.o: core/base/fd_floor.c \
 core/base/fd_floor.h
core/base/fd_floor.h:
