build-tls-al/obj/core/runtime/python_walk.o: core/runtime/python_walk.c \
 core/runtime/python_internal.h core/runtime/python.h \
 core/runtime/python_layout.h core/runtime/python_lines.h \
 core/sample/own_mem.h core/symbols/dynsym.h
core/runtime/python_internal.h:
core/runtime/python.h:
core/runtime/python_layout.h:
core/runtime/python_lines.h:
core/sample/own_mem.h:
core/symbols/dynsym.h:
