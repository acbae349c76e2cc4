build-tls-al/obj/preload/profile_signal.o: preload/profile_signal.c \
 preload/preload.h core/base/real_fns.h
preload/preload.h:
core/base/real_fns.h:
