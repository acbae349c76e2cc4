build-tls-al/obj/core/symbols/perfmap.o: core/symbols/perfmap.c \
 core/symbols/perfmap.h core/base/strpool.h
core/symbols/perfmap.h:
core/base/strpool.h:
