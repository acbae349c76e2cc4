build-tls-al/obj/core/upload/uploader_post.o: core/upload/uploader_post.c \
 core/upload/uploader_internal.h core/upload/uploader.h \
 core/base/real_fns.h core/profile/profile_doc.h core/base/cpu_account.h \
 core/base/clock.h core/base/log.h core/base/uuid.h core/upload/fleet.h \
 sts/aws_request.h sts/credentials.h core/profile/calltree.h \
 core/sample/count_key.h core/upload/codeguru.h sts/cred_cache.h \
 sts/provider.h sts/chain.h sts/endpoints.h
core/upload/uploader_internal.h:
core/upload/uploader.h:
core/base/real_fns.h:
core/profile/profile_doc.h:
core/base/cpu_account.h:
core/base/clock.h:
core/base/log.h:
core/base/uuid.h:
core/upload/fleet.h:
sts/aws_request.h:
sts/credentials.h:
core/profile/calltree.h:
core/sample/count_key.h:
core/upload/codeguru.h:
sts/cred_cache.h:
sts/provider.h:
sts/chain.h:
sts/endpoints.h:
