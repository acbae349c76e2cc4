/*
 * hop.c - one stack frame in a shared library of its own.
 *
 * signal_cost's busy-process case loads many copies of this library and
 * threads its recursion through them, so the handler's stack walk crosses
 * a library at every other frame, as it does in a service that calls
 * through its dependencies.
 */
int cg_bench_hop(int level, int (*next)(int));

int cg_bench_hop(int level, int (*next)(int))
{
    int r = next(level + 1);
    __asm__ volatile("" ::: "memory"); /* no tail call: the frame stays */
    return r + 1;
}
