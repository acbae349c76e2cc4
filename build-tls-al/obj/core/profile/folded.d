build-tls-al/obj/core/profile/folded.o: core/profile/folded.c \
 core/profile/folded.h core/profile/calltree.h core/sample/count_key.h
core/profile/folded.h:
core/profile/calltree.h:
core/sample/count_key.h:
