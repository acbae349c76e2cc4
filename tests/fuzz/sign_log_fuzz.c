/*
 * sign_log_fuzz.c - libFuzzer over the token masking of the SigV4 debug
 * log (sts/sign_log.c): whatever the canonical request holds, the value
 * after every security-token marker comes out as "<redacted>" and nothing
 * of it survives.
 */
#include "sts/sign_log_internal.h"
#include "fuzz_util.h"

static const char *const markers[] = {"x-amz-security-token:", "X-Amz-Security-Token="};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_cstr(data, size);
    if (!in)
        return 0;
    char *out = cg_sign_log_mask(in);
    if (out) {
        for (size_t m = 0; m < 2; m++) {
            size_t ml = strlen(markers[m]);
            for (const char *p = strstr(out, markers[m]); p; p = strstr(p + 1, markers[m])) {
                const char *v = p + ml;
                /* The value is "<redacted>", then the line or field ends
                 * (or another marker starts inside the redaction's place). */
                if (strncmp(v, "<redacted>", 10) != 0)
                    abort();
                char c = v[10];
                if (c != '\0' && c != '\n' && c != '&')
                    abort();
            }
        }
        if (strlen(out) > 2 * strlen(in) + 15)
            abort();
        free(out);
    }
    free(in);
    return 0;
}
