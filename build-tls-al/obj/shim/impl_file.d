build-tls-al/obj/shim/impl_file.o: shim/impl_file.c shim/impl_file.h \
 core/agent/config.h core/base/log.h preload/bridge.h
shim/impl_file.h:
core/agent/config.h:
core/base/log.h:
preload/bridge.h:
