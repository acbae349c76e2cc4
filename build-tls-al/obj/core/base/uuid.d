build-tls-al/obj/core/base/uuid.o: core/base/uuid.c core/base/uuid.h
core/base/uuid.h:
