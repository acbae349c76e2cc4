build-tls-al/obj/core/symbols/rust_v0.o: core/symbols/rust_v0.c \
 core/symbols/demangle.h core/symbols/rust_v0_internal.h
core/symbols/demangle.h:
core/symbols/rust_v0_internal.h:
