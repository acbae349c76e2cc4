build-tls-al/obj/core/runtime/python_lines.o: core/runtime/python_lines.c \
 core/runtime/python_lines.h
core/runtime/python_lines.h:
