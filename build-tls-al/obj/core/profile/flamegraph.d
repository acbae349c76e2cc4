build-tls-al/obj/core/profile/flamegraph.o: core/profile/flamegraph.c \
 core/profile/flamegraph.h core/profile/calltree.h \
 core/sample/count_key.h core/base/error.h
core/profile/flamegraph.h:
core/profile/calltree.h:
core/sample/count_key.h:
core/base/error.h:
