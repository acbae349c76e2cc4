/*
 * glibc_start.c - the `cgagent` command's start under every glibc since
 * the floor, for the portable build only (make dist; dist/dist.mk).
 *
 * DESIGN: the C start file (Scrt1.o) of glibc 2.34 and later calls
 * __libc_start_main@GLIBC_2.34 with no init function: that glibc runs the
 * program's initialisers itself.  An older glibc has only
 * __libc_start_main@GLIBC_2.2.5, and runs the program's initialisers only
 * through the init function its own start file passed.  The portable link
 * wraps the start file's call (-Wl,--wrap=__libc_start_main) to here,
 * which calls the old version, which every glibc has, with an init
 * function that does what the new glibc does: _init, then the
 * initialiser array.  Finalisers need nothing: every glibc runs the
 * program's from the loader's exit handler.
 *
 * Compiled empty in every other build (CG_GLIBC_FLOOR unset).
 *
 * Owns: nothing.
 * Thread safety: runs before main, on the only thread.
 * Signal safety: not applicable.
 */
#ifdef CG_GLIBC_FLOOR

typedef int main_fn(int, char **, char **);
typedef void init_fn(int, char **, char **);

__asm__(".symver cg_libc_start_main_2_2_5,__libc_start_main@GLIBC_2.2.5");
int cg_libc_start_main_2_2_5(main_fn *main, int argc, char **argv, void (*init)(void),
                             void (*fini)(void), void (*rtld_fini)(void), void *stack_end);
int __wrap___libc_start_main(main_fn *main, int argc, char **argv, void (*init)(void),
                             void (*fini)(void), void (*rtld_fini)(void), void *stack_end);

/* Defined by the linker's default script and crti.o. */
extern init_fn *__init_array_start[] __attribute__((visibility("hidden")));
extern init_fn *__init_array_end[] __attribute__((visibility("hidden")));
extern void _init(void);

static void run_initialisers(int argc, char **argv, char **envp)
{
    _init();
    for (init_fn **f = __init_array_start; f < __init_array_end; f++)
        (*f)(argc, argv, envp);
}

int __wrap___libc_start_main(main_fn *main, int argc, char **argv, void (*init)(void),
                             void (*fini)(void), void (*rtld_fini)(void), void *stack_end)
{
    (void)init;
    (void)fini;
    /* The old ABI types init as void (*)(void) and calls it with argc,
     * argv and envp, as glibc's own __libc_csu_init was. */
    return cg_libc_start_main_2_2_5(main, argc, argv, (void (*)(void))run_initialisers, 0,
                                    rtld_fini, stack_end);
}

#endif
