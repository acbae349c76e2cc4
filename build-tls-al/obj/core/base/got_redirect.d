build-tls-al/obj/core/base/got_redirect.o: core/base/got_redirect.c \
 core/base/got_redirect.h core/base/error.h
core/base/got_redirect.h:
core/base/error.h:
