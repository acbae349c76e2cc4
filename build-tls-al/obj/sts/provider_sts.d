build-tls-al/obj/sts/provider_sts.o: sts/provider_sts.c sts/provider.h \
 sts/aws_request.h sts/credentials.h core/base/error.h sts/sts_client.h
sts/provider.h:
sts/aws_request.h:
sts/credentials.h:
core/base/error.h:
sts/sts_client.h:
