/*
 * count_key.c - the names of the sample kinds.
 *
 * DESIGN: one table, indexed by the enum; what it won't do: accept
 * another spelling (case matters in CodeGuru documents).
 */
#include "core/sample/count_key.h"

#include "core/base/error.h"

#include <string.h>

static const char *const key_names[CG_KEY_COUNT] = {"RUNNABLE", "WAITING", "BLOCKED",
                                                      "TIMED_WAITING"};

const char *cg_count_key_name(enum cg_count_key key)
{
    return (unsigned)key < CG_KEY_COUNT ? key_names[key] : "UNKNOWN";
}

int cg_count_key_parse(const char *name, enum cg_count_key *out)
{
    for (int i = 0; i < CG_KEY_COUNT; i++)
        if (strcmp(name, key_names[i]) == 0) {
            *out = (enum cg_count_key)i;
            return 0;
        }
    return CG_EINVAL;
}
