build-tls-al/obj/core/agent/agent_report.o: core/agent/agent_report.c \
 core/agent/agent_internal.h core/agent/agent.h core/agent/config.h \
 core/base/log.h core/base/real_fns.h core/base/clock.h \
 core/base/cpu_account.h core/base/uuid.h core/upload/fleet.h \
 core/profile/profile_doc.h core/base/error.h core/profile/calltree.h \
 core/sample/count_key.h core/runtime/jvm.h core/runtime/python.h \
 core/sample/ring.h core/sample/frame_rules.h core/sample/stackagg.h \
 core/sample/threads.h core/symbols/symbolizer.h core/upload/sink_local.h \
 core/upload/uploader.h
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
core/profile/calltree.h:
core/sample/count_key.h:
core/runtime/jvm.h:
core/runtime/python.h:
core/sample/ring.h:
core/sample/frame_rules.h:
core/sample/stackagg.h:
core/sample/threads.h:
core/symbols/symbolizer.h:
core/upload/sink_local.h:
core/upload/uploader.h:
