build-tls-al/obj/core/symbols/rust_v0_types.o: \
 core/symbols/rust_v0_types.c core/symbols/rust_v0_internal.h
core/symbols/rust_v0_internal.h:
