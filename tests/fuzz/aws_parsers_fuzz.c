/*
 * aws_parsers_fuzz.c - libFuzzer over everything that reads input the
 * agent does not control on the credentials path: the AWS shared config
 * and credentials files, STS XML answers, JSON credential documents (IMDS,
 * container endpoints, credential_process), AWS time formats,
 * credential_process command lines and endpoint URLs.
 *
 * The first byte picks the parser; the rest is its input, given with its
 * length to the parsers that take one (embedded NULs and all, in a buffer
 * of exactly that size plus the NUL that http.c's bodies carry), and as a
 * C string to those that take one.  Each parser must return cleanly (no
 * crash, leak or sanitizer report) whatever the bytes, and what it accepts
 * must be self-consistent.
 */
#include "core/base/http.h"
#include "sts/aws_config.h"
#include "sts/credentials.h"
#include "sts/provider.h"
#include "sts/xml_fields.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned which = data[0] % 7;
    char *text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    size_t len = size - 1; /* the bytes, not up to the first NUL */
    char err[256];
    switch (which) {
    case 0: {
        /* Split the text into a config part and a credentials part (the
         * files are read as C strings: a NUL ends each). */
        char *mid = text + len / 2;
        char saved = *mid;
        char *creds = strdup(mid);
        *mid = '\0';
        struct cg_aws_config cfg;
        if (creds && cg_aws_config_load_text(&cfg, text, creds, err, sizeof(err)) == 0) {
            for (size_t i = 0; i < cfg.count; i++) {
                const struct cg_aws_profile *p = cg_aws_config_profile(&cfg, cfg.profiles[i].name);
                if (p != &cfg.profiles[i])
                    abort(); /* names are unique */
                for (size_t j = 0; j < p->count; j++)
                    if (!cg_aws_profile_get(p, p->props[j].key))
                        abort();
            }
            cg_aws_config_cleanup(&cfg);
        }
        *mid = saved;
        free(creds);
        break;
    }
    case 1: {
        struct cg_xml_field f[] = {{"AccessKeyId", NULL}, {"SecretAccessKey", NULL},
                                   {"SessionToken", NULL}, {"Expiration", NULL},
                                   {"Arn", NULL},         {"Code", NULL}};
        if (cg_xml_fields(text, len, f, 6) == 0)
            cg_xml_fields_cleanup(f, 6);
        break;
    }
    case 2: {
        struct cg_credentials c = {0};
        if (cg_parse_credentials_json(text, len, "Token", (len & 1) != 0, "fuzz", &c, err,
                                      sizeof(err)) == 0) {
            if (!cg_credentials_valid(&c))
                abort();
            cg_credentials_clear(&c);
        }
        break;
    }
    case 3: {
        int64_t t;
        if (cg_parse_iso8601(text, &t) == 0) {
            char back[32];
            cg_format_iso8601(t, back, sizeof(back));
            int64_t again;
            if (cg_parse_iso8601(back, &again) != 0 || again != t)
                abort(); /* what we accept, we can write and read back */
        }
        break;
    }
    case 4: {
        int64_t t;
        (void)cg_parse_http_date(text, &t);
        break;
    }
    case 5: {
        char **argv = cg_split_command(text);
        for (size_t i = 0; argv && argv[i]; i++)
            free(argv[i]);
        free(argv);
        break;
    }
    default: {
        struct cg_url u;
        if (cg_url_parse(text, &u) == 0) {
            if (u.path[0] != '/' || !u.host[0] || !u.hostname[0] || u.port == 0)
                abort();
            cg_url_cleanup(&u);
        }
        (void)cg_url_host_is_container_allowed(text);
        break;
    }
    }
    free(text);
    return 0;
}
