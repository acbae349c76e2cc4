build-tls-al/obj/shim/shim.o: shim/shim.c preload/bridge.h \
 shim/impl_file.h
preload/bridge.h:
shim/impl_file.h:
