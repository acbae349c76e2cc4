build-tls-al/obj/sts/chain.o: sts/chain.c sts/chain.h sts/aws_request.h \
 sts/credentials.h sts/endpoints.h sts/provider.h core/base/error.h \
 core/base/http.h sts/aws_config.h
sts/chain.h:
sts/aws_request.h:
sts/credentials.h:
sts/endpoints.h:
sts/provider.h:
core/base/error.h:
core/base/http.h:
sts/aws_config.h:
