build-tls-al/obj/sts/provider_container.o: sts/provider_container.c \
 sts/provider.h sts/aws_request.h sts/credentials.h core/base/error.h \
 core/base/http.h sts/sign_log.h
sts/provider.h:
sts/aws_request.h:
sts/credentials.h:
core/base/error.h:
core/base/http.h:
sts/sign_log.h:
