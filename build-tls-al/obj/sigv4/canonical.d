build-tls-al/obj/sigv4/canonical.o: sigv4/canonical.c \
 sigv4/sigv4_internal.h sigv4/sigv4.h
sigv4/sigv4_internal.h:
sigv4/sigv4.h:
