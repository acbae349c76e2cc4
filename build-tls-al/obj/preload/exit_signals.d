build-tls-al/obj/preload/exit_signals.o: preload/exit_signals.c \
 preload/preload.h core/base/real_fns.h
preload/preload.h:
core/base/real_fns.h:
