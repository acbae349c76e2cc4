build-tls-al/obj/core/sample/cfi_image.o: core/sample/cfi_image.c \
 core/sample/cfi_image.h core/sample/cfi_row.h core/sample/own_mem.h
core/sample/cfi_image.h:
core/sample/cfi_row.h:
core/sample/own_mem.h:
