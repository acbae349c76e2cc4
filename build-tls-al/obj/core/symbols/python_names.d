build-tls-al/obj/core/symbols/python_names.o: core/symbols/python_names.c \
 core/symbols/python_names.h
core/symbols/python_names.h:
