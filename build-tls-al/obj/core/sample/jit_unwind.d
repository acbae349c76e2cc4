build-tls-al/obj/core/sample/jit_unwind.o: core/sample/jit_unwind.c \
 core/sample/jit_unwind.h core/base/error.h
core/sample/jit_unwind.h:
core/base/error.h:
