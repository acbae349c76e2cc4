build-tls-al/obj/core/base/log.o: core/base/log.c core/base/log.h \
 core/base/error.h core/base/fd_floor.h
core/base/log.h:
core/base/error.h:
core/base/fd_floor.h:
