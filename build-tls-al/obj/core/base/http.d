build-tls-al/obj/core/base/http.o: core/base/http.c core/base/http.h \
 core/base/http_internal.h core/base/curl_load.h core/base/error.h \
 core/base/fd_floor.h core/base/log.h core/base/openssl_exit.h
core/base/http.h:
core/base/http_internal.h:
core/base/curl_load.h:
core/base/error.h:
core/base/fd_floor.h:
core/base/log.h:
core/base/openssl_exit.h:
