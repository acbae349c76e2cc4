/*
 * fleet.h - what this process runs on, for the profile's fleetInfo and
 * ConfigureAgent's fleetInstanceId (SPEC §5): an ECS/Fargate task (task
 * metadata endpoint v4), an EC2 instance (IMDSv2), else unknown.
 *
 * Called on the upload thread only, with short timeouts (1 s per request),
 * so detection never delays the application; a process without a
 * profiling group never looks.
 *
 * Owns: plain fixed-size data; cg_fleet_doc_info borrows its strings.
 * Thread safety: reentrant (the upload thread detects, the agent thread
 * reads a published copy).
 * Signal safety: none (network).
 */
#ifndef CG_FLEET_H
#define CG_FLEET_H

#include "core/profile/profile_doc.h"

#include <stdbool.h>

struct cg_fleet {
    char compute_type[32]; /* "aws_fargate_task", "aws_ecs_task", "aws_ec2_instance", "" */
    char task_arn[256];
    char host_name[256];
    char host_type[64];
    char instance_id[64];
};

/* Fills *out.  Returns true when something was detected. */
bool cg_fleet_detect(struct cg_fleet *out);

/* The profile document's fleetInfo for what was detected: borrows f's
 * strings (empty ones are left out); id and type stay NULL. */
struct cg_fleet_info cg_fleet_doc_info(const struct cg_fleet *f, double vcpus);

/* The id for ConfigureAgent: the task ARN, the host name, or NULL. */
const char *cg_fleet_instance_id(const struct cg_fleet *f);

#endif
