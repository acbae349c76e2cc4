build-tls-al/obj/sts/aws_config.o: sts/aws_config.c sts/aws_config.h \
 core/base/error.h
sts/aws_config.h:
core/base/error.h:
