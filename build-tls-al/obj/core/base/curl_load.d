build-tls-al/obj/core/base/curl_load.o: core/base/curl_load.c \
 core/base/curl_load.h core/base/fd_floor.h core/base/got_redirect.h \
 core/base/log.h core/base/openssl_exit.h core/base/own_thread.h \
 core/base/real_fns.h
core/base/curl_load.h:
core/base/fd_floor.h:
core/base/got_redirect.h:
core/base/log.h:
core/base/openssl_exit.h:
core/base/own_thread.h:
core/base/real_fns.h:
