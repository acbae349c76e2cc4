build-tls-al/obj/core/sample/frame_rules.o: core/sample/frame_rules.c \
 core/sample/frame_rules.h core/sample/frame_rules_internal.h \
 core/sample/cfi_image.h core/sample/cfi_row.h core/sample/own_mem.h \
 core/sample/jit_unwind.h
core/sample/frame_rules.h:
core/sample/frame_rules_internal.h:
core/sample/cfi_image.h:
core/sample/cfi_row.h:
core/sample/own_mem.h:
core/sample/jit_unwind.h:
