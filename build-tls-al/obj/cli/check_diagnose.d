build-tls-al/obj/cli/check_diagnose.o: cli/check_diagnose.c cli/cli.h
cli/cli.h:
