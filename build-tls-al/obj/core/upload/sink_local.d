build-tls-al/obj/core/upload/sink_local.o: core/upload/sink_local.c \
 core/upload/sink_local.h core/base/cpu_account.h core/base/clock.h \
 core/base/error.h core/base/log.h core/profile/calltree.h \
 core/sample/count_key.h core/profile/folded.h core/profile/pprof.h \
 core/profile/profile_doc.h
core/upload/sink_local.h:
core/base/cpu_account.h:
core/base/clock.h:
core/base/error.h:
core/base/log.h:
core/profile/calltree.h:
core/sample/count_key.h:
core/profile/folded.h:
core/profile/pprof.h:
core/profile/profile_doc.h:
