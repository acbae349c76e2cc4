build-tls-al/obj/core/agent/agent_exit.o: core/agent/agent_exit.c \
 core/agent/agent_internal.h core/agent/agent.h core/agent/config.h \
 core/base/log.h core/base/real_fns.h core/base/clock.h \
 core/base/cpu_account.h core/base/uuid.h core/upload/fleet.h \
 core/profile/profile_doc.h core/base/error.h core/base/own_thread.h \
 core/sample/threads.h core/upload/uploader.h
core/agent/agent_internal.h:
core/agent/agent.h:
core/agent/config.h:
core/base/log.h:
core/base/real_fns.h:
core/base/clock.h:
core/base/cpu_account.h:
core/base/uuid.h:
core/upload/fleet.h:
core/profile/profile_doc.h:
core/base/error.h:
core/base/own_thread.h:
core/sample/threads.h:
core/upload/uploader.h:
