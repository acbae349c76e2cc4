build-tls-al/obj/sts/endpoints.o: sts/endpoints.c sts/endpoints.h
sts/endpoints.h:
