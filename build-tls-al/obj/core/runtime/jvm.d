build-tls-al/obj/core/runtime/jvm.o: core/runtime/jvm.c \
 core/runtime/jvm_internal.h core/runtime/jvm.h core/base/real_fns.h \
 core/sample/count_key.h core/base/thread_tls.h core/sample/threads.h \
 /usr/lib/jvm/java-17-openjdk-amd64/include/jni.h \
 /usr/lib/jvm/java-17-openjdk-amd64/include/linux/jni_md.h \
 /usr/lib/jvm/java-17-openjdk-amd64/include/jvmti.h \
 /usr/lib/jvm/java-17-openjdk-amd64/include/jni.h core/base/clock.h \
 core/base/log.h
core/runtime/jvm_internal.h:
core/runtime/jvm.h:
core/base/real_fns.h:
core/sample/count_key.h:
core/base/thread_tls.h:
core/sample/threads.h:
/usr/lib/jvm/java-17-openjdk-amd64/include/jni.h:
/usr/lib/jvm/java-17-openjdk-amd64/include/linux/jni_md.h:
/usr/lib/jvm/java-17-openjdk-amd64/include/jvmti.h:
/usr/lib/jvm/java-17-openjdk-amd64/include/jni.h:
core/base/clock.h:
core/base/log.h:
