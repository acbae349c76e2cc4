build-tls-al/obj/core/symbols/demangle.o: core/symbols/demangle.c \
 core/symbols/demangle.h
core/symbols/demangle.h:
