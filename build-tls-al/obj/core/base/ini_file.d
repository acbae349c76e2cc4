build-tls-al/obj/core/base/ini_file.o: core/base/ini_file.c \
 core/base/ini_file.h core/base/error.h
core/base/ini_file.h:
core/base/error.h:
