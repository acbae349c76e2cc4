build-tls-al/obj/sts/aws_request.o: sts/aws_request.c sts/aws_request.h \
 sts/credentials.h sts/aws_request_internal.h core/base/http.h \
 core/base/error.h core/base/log.h sigv4/sigv4.h sts/sign_log.h \
 sts/xml_fields.h
sts/aws_request.h:
sts/credentials.h:
sts/aws_request_internal.h:
core/base/http.h:
core/base/error.h:
core/base/log.h:
sigv4/sigv4.h:
sts/sign_log.h:
sts/xml_fields.h:
