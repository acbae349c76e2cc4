build-tls-al/obj/core/agent/config.o: core/agent/config.c \
 core/agent/config.h core/base/log.h core/base/error.h \
 core/base/ini_file.h
core/agent/config.h:
core/base/log.h:
core/base/error.h:
core/base/ini_file.h:
