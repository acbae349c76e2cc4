/*
 * maps_probe.c - prints the base name of every file mapped into this
 * process (from /proc/self/maps, each name once, in map order), then one
 * fixed line.  The shim tests (tests/e2e/test_shim_trust.py) run it under
 * the agent, preloaded or linked (setuid), to see whether the shim
 * mapped the agent (libcgagent-impl.so) and its libraries.
 *
 * Usage: maps_probe
 */
#include <stdio.h>
#include <string.h>

int main(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) {
        printf("maps_probe: cannot read /proc/self/maps\n");
        return 1;
    }
    char line[4096], seen[64][256];
    int n_seen = 0;
    while (fgets(line, sizeof(line), f)) {
        char *path = strchr(line, '/');
        if (!path)
            continue;
        path[strcspn(path, "\n")] = '\0';
        const char *base = strrchr(path, '/') + 1;
        int dup = 0;
        for (int i = 0; i < n_seen && !dup; i++)
            dup = strcmp(seen[i], base) == 0;
        if (dup)
            continue;
        if (n_seen < 64)
            snprintf(seen[n_seen++], sizeof(seen[0]), "%s", base);
        printf("%s\n", base);
    }
    fclose(f);
    printf("maps_probe: done\n");
    return 0;
}
