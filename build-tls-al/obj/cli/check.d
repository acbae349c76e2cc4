build-tls-al/obj/cli/check.o: cli/check.c cli/cli.h core/agent/config.h \
 core/base/log.h core/base/error.h core/base/uuid.h \
 core/upload/codeguru.h sts/aws_request.h sts/credentials.h \
 sts/cred_cache.h sts/provider.h sts/chain.h sts/endpoints.h \
 sts/sign_log.h sts/sts_client.h
cli/cli.h:
core/agent/config.h:
core/base/log.h:
core/base/error.h:
core/base/uuid.h:
core/upload/codeguru.h:
sts/aws_request.h:
sts/credentials.h:
sts/cred_cache.h:
sts/provider.h:
sts/chain.h:
sts/endpoints.h:
sts/sign_log.h:
sts/sts_client.h:
