build-tls-al/obj/core/profile/report.o: core/profile/report.c \
 core/profile/report.h core/base/error.h core/profile/calltree.h \
 core/sample/count_key.h core/profile/flamegraph.h \
 core/profile/profile_doc.h core/base/cpu_account.h core/base/clock.h
core/profile/report.h:
core/base/error.h:
core/profile/calltree.h:
core/sample/count_key.h:
core/profile/flamegraph.h:
core/profile/profile_doc.h:
core/base/cpu_account.h:
core/base/clock.h:
