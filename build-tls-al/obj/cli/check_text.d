build-tls-al/obj/cli/check_text.o: cli/check_text.c cli/cli.h
cli/cli.h:
