build-tls-al/obj/preload/bridge.o: preload/bridge.c preload/bridge.h \
 core/base/environ.h core/base/fd_floor.h
preload/bridge.h:
core/base/environ.h:
core/base/fd_floor.h:
