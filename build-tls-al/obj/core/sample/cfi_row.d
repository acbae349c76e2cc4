build-tls-al/obj/core/sample/cfi_row.o: core/sample/cfi_row.c \
 core/sample/cfi_row.h core/sample/own_mem.h core/sample/cfi_image.h \
 core/sample/unwind_table.h
core/sample/cfi_row.h:
core/sample/own_mem.h:
core/sample/cfi_image.h:
core/sample/unwind_table.h:
