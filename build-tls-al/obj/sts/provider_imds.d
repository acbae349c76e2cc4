build-tls-al/obj/sts/provider_imds.o: sts/provider_imds.c sts/provider.h \
 sts/aws_request.h sts/credentials.h core/base/error.h core/base/http.h \
 core/base/log.h
sts/provider.h:
sts/aws_request.h:
sts/credentials.h:
core/base/error.h:
core/base/http.h:
core/base/log.h:
