build-tls-al/obj/sigv4/sigv4.o: sigv4/sigv4.c sigv4/sigv4.h \
 core/base/error.h sigv4/sigv4_internal.h
sigv4/sigv4.h:
core/base/error.h:
sigv4/sigv4_internal.h:
