build-tls-al/obj/sts/credentials.o: sts/credentials.c sts/credentials.h \
 core/base/error.h
sts/credentials.h:
core/base/error.h:
