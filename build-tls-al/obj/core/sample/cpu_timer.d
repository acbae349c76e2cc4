build-tls-al/obj/core/sample/cpu_timer.o: core/sample/cpu_timer.c \
 core/sample/cpu_timer.h
core/sample/cpu_timer.h:
