build-tls-al/obj/core/runtime/python_layouts.o: \
 core/runtime/python_layouts.c core/runtime/python_layout.h
core/runtime/python_layout.h:
