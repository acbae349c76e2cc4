build-tls-al/obj/core/agent/config_privilege.o: \
 core/agent/config_privilege.c core/agent/config.h core/base/log.h
core/agent/config.h:
core/base/log.h:
