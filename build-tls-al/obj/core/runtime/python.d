build-tls-al/obj/core/runtime/python.o: core/runtime/python.c \
 core/runtime/python_internal.h core/runtime/python.h \
 core/runtime/python_layout.h core/runtime/python_lines.h \
 core/sample/own_mem.h core/symbols/dynsym.h core/base/log.h \
 core/symbols/python_names.h
core/runtime/python_internal.h:
core/runtime/python.h:
core/runtime/python_layout.h:
core/runtime/python_lines.h:
core/sample/own_mem.h:
core/symbols/dynsym.h:
core/base/log.h:
core/symbols/python_names.h:
