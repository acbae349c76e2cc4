/*
 * sigv4_canonical_fuzz.c - libFuzzer target for the SigV4 canonicalisation
 * functions and the whole signer: any bytes as path, query and header
 * value must give a result without a sanitizer finding, and canonical
 * forms must be stable (canonicalising the canonical query is a no-op).
 *
 * Built by `make fuzz` with clang -fsanitize=fuzzer,address,undefined.
 */
#include "sigv4/sigv4.h"
#include "sigv4/sigv4_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Split the input at the first two NUL-free '\n' into path, query, value. */
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    char *path = s, *query = "", *value = "";
    char *nl = strchr(path, '\n');
    if (nl) {
        *nl = '\0';
        query = nl + 1;
        nl = strchr(query, '\n');
        if (nl) {
            *nl = '\0';
            value = nl + 1;
        }
    }
    char *u1 = sigv4_canonical_uri(path, true, true);
    char *u2 = sigv4_canonical_uri(path, false, false);
    char *q1 = sigv4_canonical_query(query);
    char *q2 = q1 ? sigv4_canonical_query(q1) : NULL;
    if (q1 && q2 && strcmp(q1, q2) != 0)
        abort(); /* the canonical query must be a fixed point */
    char *v = sigv4_canonical_header_value(value);
    struct sigv4_header h[] = {{"Host", "example.amazonaws.com"}, {"X-Fuzz", value}};
    struct sigv4_request req = {"POST", path, query, h, 2, data, size, NULL};
    struct sigv4_credentials cred = {"AKID", "secret", size & 1 ? "token" : NULL};
    struct sigv4_options o = {.region = "us-east-1", .service = "service", .time = 1440938160,
                              .presign_expires_s = size & 2 ? 60 : 0};
    struct sigv4_result r;
    if (sigv4_sign(&req, &cred, &o, NULL, &r) == 0)
        sigv4_result_cleanup(&r);
    free(u1);
    free(u2);
    free(q1);
    free(q2);
    free(v);
    free(s);
    return 0;
}
