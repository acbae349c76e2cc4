build-tls-al/obj/core/symbols/dynsym.o: core/symbols/dynsym.c \
 core/symbols/dynsym.h
core/symbols/dynsym.h:
