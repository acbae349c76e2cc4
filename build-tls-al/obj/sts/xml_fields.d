build-tls-al/obj/sts/xml_fields.o: sts/xml_fields.c sts/xml_fields.h \
 core/base/error.h
sts/xml_fields.h:
core/base/error.h:
