build-tls-al/obj/core/sample/count_key.o: core/sample/count_key.c \
 core/sample/count_key.h core/base/error.h
core/sample/count_key.h:
core/base/error.h:
