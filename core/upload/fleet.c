/*
 * fleet.c - ECS/Fargate and EC2 detection (see fleet.h).
 */
#include "core/upload/fleet.h"

#include "core/base/http.h"
#include "core/base/log.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TIMEOUT_MS 1000

static int fetch(struct cg_http *http, const char *method, const char *url,
                 const struct cg_http_header *h, size_t nh, struct cg_http_response *r)
{
    struct cg_http_request req = {
        .method = method, .url = url, .headers = h, .header_count = nh,
        .connect_timeout_ms = TIMEOUT_MS, .timeout_ms = TIMEOUT_MS, .direct = true,
        .max_response_bytes = 256 * 1024,
    };
    int rc = cg_http_perform(http, &req, r);
    return rc == 0 && r->status == 200 && r->body ? 0 : -1;
}

static bool detect_ecs(struct cg_http *http, const char *base, struct cg_fleet *out)
{
    char url[1024];
    snprintf(url, sizeof(url), "%s/task", base);
    struct cg_http_response r;
    bool ok = false;
    if (fetch(http, "GET", url, NULL, 0, &r) == 0) {
        json_t *doc = json_loadb(r.body, r.body_len, 0, NULL);
        const char *arn = json_string_value(json_object_get(doc, "TaskARN"));
        const char *launch = json_string_value(json_object_get(doc, "LaunchType"));
        if (arn) {
            snprintf(out->task_arn, sizeof(out->task_arn), "%s", arn);
            snprintf(out->compute_type, sizeof(out->compute_type), "%s",
                     launch && !strcasecmp(launch, "EC2") ? "aws_ecs_task"
                                                          : "aws_fargate_task");
            ok = true;
        }
        json_decref(doc);
    }
    cg_http_response_cleanup(&r);
    return ok;
}

static void imds_get(struct cg_http *http, const char *base, const char *token,
                     const char *path, char *out, size_t size)
{
    char url[512];
    snprintf(url, sizeof(url), "%s/latest/meta-data/%s", base, path);
    struct cg_http_header h = {"X-aws-ec2-metadata-token", token};
    struct cg_http_response r;
    if (fetch(http, "GET", url, &h, token ? 1 : 0, &r) == 0 && !strpbrk(r.body, "\r\n") &&
        r.body_len < size)
        snprintf(out, size, "%s", r.body);
    cg_http_response_cleanup(&r);
}

static bool detect_ec2(struct cg_http *http, const char *base, struct cg_fleet *out)
{
    char url[512];
    snprintf(url, sizeof(url), "%s/latest/api/token", base);
    struct cg_http_header ttl = {"X-aws-ec2-metadata-token-ttl-seconds", "60"};
    struct cg_http_response r;
    char *token = NULL;
    if (fetch(http, "PUT", url, &ttl, 1, &r) == 0 && !strpbrk(r.body, "\r\n")) {
        token = r.body;
        r.body = NULL;
        r.body_len = 0;
    } else if (r.status == 0) {
        cg_http_response_cleanup(&r);
        return false; /* nothing there: not EC2 */
    }
    cg_http_response_cleanup(&r);
    imds_get(http, base, token, "instance-id", out->instance_id, sizeof(out->instance_id));
    imds_get(http, base, token, "instance-type", out->host_type, sizeof(out->host_type));
    imds_get(http, base, token, "local-hostname", out->host_name, sizeof(out->host_name));
    free(token);
    if (!out->instance_id[0] && !out->host_name[0])
        return false;
    snprintf(out->compute_type, sizeof(out->compute_type), "aws_ec2_instance");
    return true;
}

bool cg_fleet_detect(struct cg_fleet *out)
{
    memset(out, 0, sizeof(*out));
    struct cg_http *http = cg_http_new(NULL);
    if (!http)
        return false;
    bool ok = false;
    const char *ecs = secure_getenv("ECS_CONTAINER_METADATA_URI_V4");
    if (ecs && *ecs)
        ok = detect_ecs(http, ecs, out);
    const char *disabled = secure_getenv("AWS_EC2_METADATA_DISABLED");
    if (!ok && !(disabled && !strcasecmp(disabled, "true"))) {
        const char *ep = secure_getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
        const char *mode = secure_getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
        char base[256];
        snprintf(base, sizeof(base), "%s",
                 ep && *ep ? ep
                 : mode && !strcasecmp(mode, "IPv6") ? "http://[fd00:ec2::254]"
                                                     : "http://169.254.169.254");
        size_t n = strlen(base);
        while (n && base[n - 1] == '/')
            base[--n] = '\0';
        ok = detect_ec2(http, base, out);
    }
    cg_http_free(http);
    if (ok)
        CG_INFO("running on %s %s", out->compute_type,
                out->task_arn[0] ? out->task_arn : out->instance_id);
    return ok;
}

const char *cg_fleet_instance_id(const struct cg_fleet *f)
{
    if (f->task_arn[0])
        return f->task_arn;
    if (f->host_name[0])
        return f->host_name;
    if (f->instance_id[0])
        return f->instance_id;
    return NULL;
}

struct cg_fleet_info cg_fleet_doc_info(const struct cg_fleet *f, double vcpus)
{
    return (struct cg_fleet_info){
        .compute_type = f->compute_type,
        .host_name = f->host_name[0] ? f->host_name : NULL,
        .host_type = f->host_type[0] ? f->host_type : NULL,
        .task_arn = f->task_arn[0] ? f->task_arn : NULL,
        .vcpus = vcpus,
    };
}
