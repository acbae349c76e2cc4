build-tls-al/obj/core/profile/profile_doc.o: core/profile/profile_doc.c \
 core/profile/profile_doc.h core/base/cpu_account.h core/base/clock.h \
 core/base/error.h core/profile/calltree.h core/sample/count_key.h
core/profile/profile_doc.h:
core/base/cpu_account.h:
core/base/clock.h:
core/base/error.h:
core/profile/calltree.h:
core/sample/count_key.h:
