build-tls-al/obj/core/profile/calltree.o: core/profile/calltree.c \
 core/profile/calltree.h core/sample/count_key.h core/base/error.h \
 core/base/strpool.h
core/profile/calltree.h:
core/sample/count_key.h:
core/base/error.h:
core/base/strpool.h:
