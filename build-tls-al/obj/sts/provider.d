build-tls-al/obj/sts/provider.o: sts/provider.c sts/provider.h \
 sts/aws_request.h sts/credentials.h core/base/error.h sts/sign_log.h
sts/provider.h:
sts/aws_request.h:
sts/credentials.h:
core/base/error.h:
sts/sign_log.h:
