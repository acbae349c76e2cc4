/*
 * fd_dlopen.c - loads a library as memfd-based and extracting loaders do:
 * opens LIB, moves the descriptor to each free number K from 3 to 12 in
 * turn, dlopen's /proc/self/fd/K and looks SYMBOL up in what it got.  The
 * loader answers a dlopen by a name it has seen with the object it
 * loaded then, so a name the agent was loaded by must never be one a
 * program would use (tests/e2e/test_shim_trust.py).
 *
 * Usage: fd_dlopen LIB SYMBOL
 * Prints "fd K: found" or "fd K: missing (...)" per number tried; exit
 * status 0 when SYMBOL was found every time, else 1.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: fd_dlopen LIB SYMBOL\n");
        return 2;
    }
    int status = 0;
    for (int k = 3; k <= 12; k++) {
        if (fcntl(k, F_GETFD) != -1)
            continue; /* in use: not ours to replace */
        int fd = open(argv[1], O_RDONLY);
        if (fd < 0 || (fd != k && (dup2(fd, k) != k || close(fd) != 0))) {
            perror(argv[1]);
            return 2;
        }
        char name[64];
        snprintf(name, sizeof(name), "/proc/self/fd/%d", k);
        void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
        if (h && dlsym(h, argv[2])) {
            printf("fd %d: found\n", k);
        } else {
            printf("fd %d: missing (%s)\n", k, h ? "another object" : dlerror());
            status = 1;
        }
        close(k);
    }
    return status;
}
