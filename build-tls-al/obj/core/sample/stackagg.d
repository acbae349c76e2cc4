build-tls-al/obj/core/sample/stackagg.o: core/sample/stackagg.c \
 core/sample/stackagg.h core/base/error.h
core/sample/stackagg.h:
core/base/error.h:
