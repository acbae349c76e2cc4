build-tls-al/obj/sigv4/buf.o: sigv4/buf.c sigv4/sigv4_internal.h \
 sigv4/sigv4.h
sigv4/sigv4_internal.h:
sigv4/sigv4.h:
