build-tls-al/obj/core/symbols/rust_v0_text.o: core/symbols/rust_v0_text.c \
 core/symbols/rust_v0_internal.h
core/symbols/rust_v0_internal.h:
