build-tls-al/obj/core/base/openssl_exit.o: core/base/openssl_exit.c \
 core/base/openssl_exit.h core/base/log.h
core/base/openssl_exit.h:
core/base/log.h:
