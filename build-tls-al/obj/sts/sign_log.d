build-tls-al/obj/sts/sign_log.o: sts/sign_log.c sts/sign_log.h \
 sts/sign_log_internal.h core/base/log.h sigv4/sigv4.h
sts/sign_log.h:
sts/sign_log_internal.h:
core/base/log.h:
sigv4/sigv4.h:
