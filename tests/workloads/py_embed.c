/*
 * py_embed.c - a C program that embeds CPython the way plugin hosts do:
 * libpython is opened with dlopen(RTLD_LOCAL) after start-up, so none of
 * its symbols is in the program's global scope, and Python code runs
 * from a string.
 *
 * usage: py_embed LIBPYTHON SCRIPT-FILE
 * Runs the script's text with PyRun_SimpleString on the main thread and
 * exits with 0 when it ran without an exception.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: py_embed LIBPYTHON SCRIPT-FILE\n");
        return 2;
    }
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "py_embed: %s\n", dlerror());
        return 2;
    }
    void (*init)(int) = (void (*)(int))dlsym(h, "Py_InitializeEx");
    int (*run)(const char *) = (int (*)(const char *))dlsym(h, "PyRun_SimpleString");
    int (*fini)(void) = (int (*)(void))dlsym(h, "Py_FinalizeEx");
    if (!init || !run || !fini) {
        fprintf(stderr, "py_embed: not a libpython\n");
        return 2;
    }
    FILE *f = fopen(argv[2], "r");
    if (!f) {
        perror(argv[2]);
        return 2;
    }
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    init(0);
    int rc = run(text);
    fini();
    printf("py_embed: done\n");
    return rc == 0 ? 0 : 1;
}
