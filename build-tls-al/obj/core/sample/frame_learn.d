build-tls-al/obj/core/sample/frame_learn.o: core/sample/frame_learn.c \
 core/sample/frame_rules.h core/sample/frame_rules_internal.h \
 core/sample/cfi_image.h core/base/error.h core/sample/cfi_row.h \
 core/sample/own_mem.h core/sample/jit_unwind.h \
 core/sample/unwind_table.h
core/sample/frame_rules.h:
core/sample/frame_rules_internal.h:
core/sample/cfi_image.h:
core/base/error.h:
core/sample/cfi_row.h:
core/sample/own_mem.h:
core/sample/jit_unwind.h:
core/sample/unwind_table.h:
