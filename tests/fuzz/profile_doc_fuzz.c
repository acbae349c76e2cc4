/*
 * profile_doc_fuzz.c - libFuzzer over the profile-document decoder
 * (core/profile/profile_doc.c; `cgagent report` reads documents from
 * anywhere): any bytes give a tree or NULL with a reason; a tree decoded
 * encodes again, and that document decodes to a tree of as many nodes.
 */
#include "core/profile/calltree.h"
#include "core/profile/profile_doc.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_quiet();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *json = fuzz_copy(data, size);
    if (!json)
        return 0;
    char err[256];
    struct cg_profile_meta meta;
    memset(&meta, 0, sizeof(meta));
    struct cg_calltree *t = cg_profile_doc_decode(json, size, &meta, err, sizeof(err));
    if (t) {
        struct cg_profile_meta m2;
        memset(&m2, 0, sizeof(m2));
        m2.start_ms = 1;
        m2.end_ms = 2;
        m2.cpu_hz = 100;
        m2.wall_interval_ms = 1000;
        m2.agent_version = "fuzz";
        m2.runtime_version = "fuzz";
        m2.fleet.id = "fuzz";
        m2.fleet.type = "UNKNOWN";
        m2.fleet.vcpus = 1;
        size_t len = 0;
        char *doc = cg_profile_doc_encode(t, &m2, &len);
        if (doc) {
            struct cg_calltree *again = cg_profile_doc_decode(doc, len, NULL, err, sizeof(err));
            if (!again || cg_calltree_node_count(again) != cg_calltree_node_count(t))
                abort();
            cg_calltree_free(again);
            free(doc);
        }
        cg_calltree_free(t);
    }
    free(json);
    return 0;
}
