build-tls-al/obj/sts/cred_cache.o: sts/cred_cache.c sts/cred_cache.h \
 sts/aws_request.h sts/credentials.h sts/provider.h core/base/error.h
sts/cred_cache.h:
sts/aws_request.h:
sts/credentials.h:
sts/provider.h:
core/base/error.h:
