build-tls-al/obj/core/upload/codeguru.o: core/upload/codeguru.c \
 core/upload/codeguru.h sts/aws_request.h sts/credentials.h \
 sts/cred_cache.h sts/provider.h core/base/error.h core/base/log.h
core/upload/codeguru.h:
sts/aws_request.h:
sts/credentials.h:
sts/cred_cache.h:
sts/provider.h:
core/base/error.h:
core/base/log.h:
