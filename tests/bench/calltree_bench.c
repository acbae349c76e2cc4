/*
 * calltree_bench.c - time to build and encode a 50,000-node call tree
 * (issue target: under 100 ms on the 2-core CI machine).  Prints the
 * median of 5 runs for each stage.
 */
#include "core/profile/calltree.h"
#include "core/profile/profile_doc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STACKS 10000
#define DEPTH 6

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(void)
{
    static char names[STACKS * (DEPTH - 1)][24];
    for (int i = 0; i < STACKS * (DEPTH - 1); i++)
        snprintf(names[i], sizeof(names[i]), "namespace::fn_%d", i);
    double build[5], encode[5];
    size_t nodes = 0, bytes = 0;
    for (int run = 0; run < 5; run++) {
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        struct cg_calltree *t = cg_calltree_new(1000);
        struct cg_frame fr[DEPTH];
        for (int s = 0; s < STACKS; s++) {
            fr[0] = (struct cg_frame){"main", "/srv/app/bin/server", 0};
            for (int k = 1; k < DEPTH; k++)
                fr[k] = (struct cg_frame){names[s * (DEPTH - 1) + k - 1], "/srv/app/bin/server", 0};
            if (cg_calltree_add(t, fr, DEPTH, CG_KEY_RUNNABLE, 1 + (uint64_t)(s % 7)) != 0)
                return 1;
        }
        build[run] = ms_since(&t0);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        struct cg_profile_meta m = {.start_ms = 1, .end_ms = 2, .cpu_hz = 100,
                                    .fleet = {.id = "x", .type = "UNKNOWN", .vcpus = 2}};
        char *doc = cg_profile_doc_encode(t, &m, &bytes);
        encode[run] = ms_since(&t0);
        if (!doc)
            return 1;
        nodes = cg_calltree_node_count(t);
        free(doc);
        cg_calltree_free(t);
    }
    qsort(build, 5, sizeof(double), cmp);
    qsort(encode, 5, sizeof(double), cmp);
    printf("   %zu nodes: build %.1f ms, encode %.1f ms, total %.1f ms (median of 5); %zu bytes\n",
           nodes, build[2], encode[2], build[2] + encode[2], bytes);
    return 0;
}
