/*
 * codeguru_answers_fuzz.c - libFuzzer over what CodeGuru Profiler and STS
 * answer: ConfigureAgent's AgentConfiguration (core/upload/codeguru.c,
 * every value clamped to its range), REST-JSON error answers (the
 * x-amzn-ErrorType header and the "__type"/"message" body) and query-XML
 * ErrorResponses (sts/aws_request.c).  The first byte picks the parser;
 * for errors the input up to the first newline is the header value.
 */
#include "core/upload/codeguru.h"
#include "sts/aws_request_internal.h"
#include "fuzz_util.h"

static void check_range(int64_t v, int64_t lo, int64_t hi)
{
    if (v != -1 && (v < lo || v > hi))
        abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_quiet();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int which = fuzz_pick(&data, &size, 3);
    if (which < 0)
        return 0;
    if (which == 0) {
        char *body = fuzz_copy(data, size);
        struct cg_agent_configuration c;
        unsigned warned = 0;
        if (body && cg_codeguru_parse_configuration(body, size, &c, &warned) == 0) {
            check_range(c.period_s, CG_SVC_PERIOD_S_MIN, CG_SVC_PERIOD_S_MAX);
            check_range(c.sampling_interval_ms, CG_SVC_SAMPLING_MS_MIN, CG_SVC_SAMPLING_MS_MAX);
            check_range(c.min_reporting_ms, 0, CG_SVC_MIN_REPORTING_MS_MAX);
            check_range(c.max_stack_depth, CG_SVC_MAX_STACK_DEPTH_MIN,
                        CG_SVC_MAX_STACK_DEPTH_MAX);
        }
        free(body);
        return 0;
    }
    struct cg_http_response hr = {.status = 400};
    const uint8_t *nl = memchr(data, '\n', size);
    if (nl) {
        size_t hl = (size_t)(nl - data);
        if (hl >= sizeof(hr.amzn_error_type))
            hl = sizeof(hr.amzn_error_type) - 1;
        memcpy(hr.amzn_error_type, data, hl);
        size -= (size_t)(nl - data) + 1;
        data = nl + 1;
    }
    /* The body as http.c keeps it: NUL-terminated, with its length. */
    hr.body = size ? fuzz_cstr(data, size) : NULL;
    hr.body_len = size;
    struct cg_aws_result res;
    memset(&res, 0, sizeof(res));
    cg_aws_parse_error(which == 1 ? CG_AWS_REST_JSON : CG_AWS_QUERY_XML, &hr, &res);
    if (!res.error_code[0] || strlen(res.error_code) >= sizeof(res.error_code) ||
        strlen(res.error_message) >= sizeof(res.error_message))
        abort();
    free(hr.body);
    return 0;
}
