build-tls-al/obj/core/agent/agent.o: core/agent/agent.c \
 core/agent/agent_internal.h core/agent/agent.h core/agent/config.h \
 core/base/log.h core/base/real_fns.h core/base/clock.h \
 core/base/cpu_account.h core/base/uuid.h core/upload/fleet.h \
 core/profile/profile_doc.h core/base/own_thread.h core/runtime/jvm.h \
 core/sample/count_key.h core/runtime/python.h core/sample/frame_rules.h \
 core/sample/ring.h core/sample/stackagg.h core/sample/threads.h \
 core/sample/wall.h core/symbols/symbolizer.h core/upload/uploader.h
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
core/base/own_thread.h:
core/runtime/jvm.h:
core/sample/count_key.h:
core/runtime/python.h:
core/sample/frame_rules.h:
core/sample/ring.h:
core/sample/stackagg.h:
core/sample/threads.h:
core/sample/wall.h:
core/symbols/symbolizer.h:
core/upload/uploader.h:
