build-tls-al/obj/core/upload/fleet.o: core/upload/fleet.c \
 core/upload/fleet.h core/profile/profile_doc.h core/base/cpu_account.h \
 core/base/clock.h core/base/http.h core/base/log.h
core/upload/fleet.h:
core/profile/profile_doc.h:
core/base/cpu_account.h:
core/base/clock.h:
core/base/http.h:
core/base/log.h:
