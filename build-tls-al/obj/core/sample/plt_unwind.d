build-tls-al/obj/core/sample/plt_unwind.o: core/sample/plt_unwind.c \
 core/sample/plt_unwind.h core/sample/jit_unwind.h
core/sample/plt_unwind.h:
core/sample/jit_unwind.h:
