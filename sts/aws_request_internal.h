/*
 * aws_request_internal.h - the error-answer reader of aws_request.c, for
 * its fuzz target.  Private to sts/.
 *
 * Owns: nothing; the response is borrowed, the result's fields are filled.
 * Thread safety: reentrant.
 * Signal safety: none (it allocates).
 */
#ifndef CG_AWS_REQUEST_INTERNAL_H
#define CG_AWS_REQUEST_INTERNAL_H

#include "core/base/http.h"
#include "sts/aws_request.h"

/* Fills res->error_code and res->error_message from an error answer: the
 * query protocol's XML ErrorResponse, or REST-JSON's x-amzn-ErrorType
 * header and body ("__type", "message"); "HTTPnnn" when there is none.
 * Both are masked with cg_sign_log_mask_text before they are cut to
 * size: no session token, signature or secret key of an echoed request
 * survives. */
void cg_aws_parse_error(enum cg_aws_protocol protocol, const struct cg_http_response *hr,
                        struct cg_aws_result *res);

#endif
