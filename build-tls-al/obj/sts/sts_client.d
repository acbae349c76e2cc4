build-tls-al/obj/sts/sts_client.o: sts/sts_client.c sts/sts_client.h \
 sts/aws_request.h sts/credentials.h core/base/error.h sts/xml_fields.h
sts/sts_client.h:
sts/aws_request.h:
sts/credentials.h:
core/base/error.h:
sts/xml_fields.h:
