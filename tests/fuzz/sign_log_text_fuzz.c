/*
 * sign_log_text_fuzz.c - libFuzzer over the free-text masker of quoted
 * service messages (sts/sign_log.h, cg_sign_log_mask_text): whatever a
 * message holds, the output is at most about twice the input, masking it
 * again changes nothing (so no named secret or long bare run is left),
 * and a session-token header line planted in it comes out redacted.
 */
#include "sts/sign_log.h"
#include "fuzz_util.h"

#define PLANTED "\nx-amz-security-token:Zq9Zq9Zq9Zq9Zq9\n"
#define MASKED "\nx-amz-security-token:<redacted>\n"

static void check(const char *in)
{
    char *out = cg_sign_log_mask_text(in);
    if (!out)
        return;
    if (strlen(out) > 2 * strlen(in) + 15)
        abort();
    char *again = cg_sign_log_mask_text(out);
    if (again && strcmp(again, out) != 0)
        abort();
    free(again);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_cstr(data, size);
    if (!in)
        return 0;
    check(in);
    /* The input on both sides of a planted token line. */
    size_t n = strlen(in);
    char *planted = malloc(2 * n + sizeof(PLANTED));
    if (planted) {
        memcpy(planted, in, n);
        memcpy(planted + n, PLANTED, sizeof(PLANTED) - 1);
        memcpy(planted + n + sizeof(PLANTED) - 1, in, n + 1);
        check(planted);
        char *out = cg_sign_log_mask_text(planted);
        if (out && !strstr(out, MASKED))
            abort();
        free(out);
        free(planted);
    }
    free(in);
    return 0;
}
