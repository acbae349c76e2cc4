build-tls-al/obj/cli/main.o: cli/main.c cli/cli.h core/profile/report.h
cli/cli.h:
core/profile/report.h:
