build-tls-al/obj/core/base/error.o: core/base/error.c core/base/error.h
core/base/error.h:
