build-tls-al/obj/sts/provider_process.o: sts/provider_process.c \
 sts/provider.h sts/aws_request.h sts/credentials.h core/base/environ.h \
 core/base/error.h
sts/provider.h:
sts/aws_request.h:
sts/credentials.h:
core/base/environ.h:
core/base/error.h:
