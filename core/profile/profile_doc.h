/*
 * profile_doc.h - the CodeGuru Profiler profile document (SPEC §5).
 *
 * The same bytes go to PostAgentProfile and to the local sink.  The
 * encoder writes exactly the shape of SPEC §5 (docs/format.md); the
 * decoder reads ours and other producers' documents back into a call
 * tree for `cgagent report`.
 *
 * Owns: nothing; encode returns malloc'd text the caller frees, decode
 * returns a tree the caller frees.
 * Thread safety: reentrant (the agent thread for the local sink, the
 * upload thread for PostAgentProfile, `cgagent report` to read).
 * Signal safety: none (it allocates, jansson).
 */
#ifndef CG_PROFILE_DOC_H
#define CG_PROFILE_DOC_H

#include "core/base/cpu_account.h"

#include <stddef.h>
#include <stdint.h>

struct cg_calltree;

/* fleetInfo: the UNKNOWN variant uses id/type/vcpus; EC2 sets
 * compute_type "aws_ec2_instance" with host_name and host_type; ECS/Fargate
 * sets compute_type "aws_fargate_task" (or "aws_ecs_task") with task_arn.
 * NULL strings are left out. */
struct cg_fleet_info {
    const char *id;
    const char *type;
    const char *compute_type;
    const char *host_name;
    const char *host_type;
    const char *task_arn;
    double vcpus;
};

struct cg_profile_meta {
    uint64_t start_ms, end_ms;     /* epoch ms; end = the last sample */
    uint32_t cpu_hz;               /* RUNNABLE weight; 0 = CPU sampling off */
    uint32_t wall_interval_ms;     /* the wall keys' weight is 1000 / this */
    struct cg_fleet_info fleet;
    const char *agent_version;
    double agent_memory_mb;        /* agentOverhead.memoryInMB */
    uint64_t agent_time_ms;        /* agentOverhead.timeInMs (left out when 0) */
    const char *runtime_version;   /* "glibc-2.36" */
    const char *main_file;         /* the executable as frames name it; NULL: unknown */
    double cpu_time_s;             /* whole-process CPU in the period */
    uint32_t num_threads;
    uint64_t num_times_sampled;
    int pid;
    uint64_t dropped_samples;
    uint64_t handler_ns_total;     /* debugInfo.genericMetrics: handler cost */
    uint64_t handler_calls;
    uint64_t handler_libunwind_calls; /* of handler_calls: unwound by libunwind */
    /* debugInfo.genericMetrics "agentCpuNs.<activity>": the agent and
     * upload threads' CPU in the period by activity (all 0: left out) */
    uint64_t agent_cpu_ns[CG_ACT_N];
    /* debugInfo.errorsCount: name -> count (borrowed arrays) */
    const char *const *error_names;
    const uint64_t *error_counts;
    size_t n_errors;
};

/* Encodes the document.  sampleWeights has one entry per key with samples
 * in the tree.  Frame names and files with invalid UTF-8 bytes get U+FFFD
 * in their place, so the result is always valid JSON.  Returns malloc'd
 * NUL-terminated text and its length, or NULL when out of memory. */
char *cg_profile_doc_encode(const struct cg_calltree *tree, const struct cg_profile_meta *meta,
                            size_t *len_out);

/* Parses a document into a new tree (unlimited depth) and fills the
 * numeric fields of *meta_out (strings left NULL; meta_out may be NULL).
 * Count keys other than RUNNABLE/WAITING/BLOCKED/TIMED_WAITING are skipped.  Returns
 * NULL for malformed input, with a short reason in err (may be NULL). */
struct cg_calltree *cg_profile_doc_decode(const char *json, size_t len,
                                          struct cg_profile_meta *meta_out,
                                          char *err, size_t err_size);

/* Weight (samples per second) of a key under meta's sampling settings;
 * 0 when that regime is off. */
double cg_profile_doc_weight(const struct cg_profile_meta *meta, unsigned key);

#endif
