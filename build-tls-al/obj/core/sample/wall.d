build-tls-al/obj/core/sample/wall.o: core/sample/wall.c \
 core/sample/wall.h core/sample/wall_internal.h core/base/error.h \
 core/sample/own_mem.h core/sample/unwind_table.h
core/sample/wall.h:
core/sample/wall_internal.h:
core/base/error.h:
core/sample/own_mem.h:
core/sample/unwind_table.h:
