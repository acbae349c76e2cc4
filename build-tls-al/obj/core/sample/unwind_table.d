build-tls-al/obj/core/sample/unwind_table.o: core/sample/unwind_table.c \
 core/sample/unwind_table.h core/base/error.h
core/sample/unwind_table.h:
core/base/error.h:
