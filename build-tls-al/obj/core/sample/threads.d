build-tls-al/obj/core/sample/threads.o: core/sample/threads.c \
 core/sample/threads.h core/sample/frame_rules.h core/sample/ring.h
core/sample/threads.h:
core/sample/frame_rules.h:
core/sample/ring.h:
