/*
 * sts_parsing_test.c - the parsers the credential chain relies on: AWS
 * shared files, AWS time formats, credential_process command lines, URLs
 * and the container host allow-list, STS XML, retry classification and
 * clock-skew bookkeeping.
 */
#include "core/base/error.h"
#include "core/base/http.h"
#include "sts/aws_config.h"
#include "sts/aws_request.h"
#include "sts/credentials.h"
#include "sts/provider.h"
#include "sts/xml_fields.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static void shared_files_profiles_and_precedence(void **state)
{
    (void)state;
    const char *config = "# comment\n"
                         "; another\n"
                         "[default]\n"
                         "region = eu-west-1\n"
                         "[profile dev]  # trailing comment\n"
                         "role_arn = arn:aws:iam::1:role/r\n"
                         "source_profile = base\n"
                         "s3 =\n"
                         "  max_concurrent_requests = 10\n"
                         "[sso-session corp]\n"
                         "sso_region = us-east-1\n"
                         "[services x]\n"
                         "sts =\n"
                         "  endpoint_url = http://nowhere\n"
                         "[bare]\n"
                         "aws_access_key_id = ignored\n"
                         "[profile base]\n"
                         "aws_access_key_id = FROMCONFIG\n";
    const char *creds = "[base]\r\n"
                        "aws_access_key_id = FROMCREDS\r\n"
                        "aws_secret_access_key = s3cr=t\r\n";
    struct cg_aws_config cfg;
    char err[256];
    assert_int_equal(cg_aws_config_load_text(&cfg, config, creds, err, sizeof(err)), 0);
    const struct cg_aws_profile *d = cg_aws_config_profile(&cfg, "default");
    assert_non_null(d);
    assert_string_equal(cg_aws_profile_get(d, "region"), "eu-west-1");
    const struct cg_aws_profile *dev = cg_aws_config_profile(&cfg, "dev");
    assert_string_equal(cg_aws_profile_get(dev, "source_profile"), "base");
    assert_string_equal(cg_aws_profile_get(dev, "s3"), "\nmax_concurrent_requests = 10");
    assert_null(cg_aws_config_profile(&cfg, "bare"));
    assert_null(cg_aws_config_profile(&cfg, "corp"));
    assert_null(cg_aws_config_profile(&cfg, "sso-session corp"));
    const struct cg_aws_profile *base = cg_aws_config_profile(&cfg, "base");
    /* The credentials file wins for the same profile and key. */
    assert_string_equal(cg_aws_profile_get(base, "aws_access_key_id"), "FROMCREDS");
    /* Only the first '=' splits; CR is trimmed. */
    assert_string_equal(cg_aws_profile_get(base, "aws_secret_access_key"), "s3cr=t");
    assert_null(cg_aws_profile_get(base, "region"));
    cg_aws_config_cleanup(&cfg);
}

static void shared_files_long_lines(void **state)
{
    (void)state;
    /* Session tokens are often over 1,000 bytes: no line limit. */
    size_t n = 5000;
    char *token = malloc(n + 1);
    memset(token, 'T', n);
    token[n] = '\0';
    char *text = malloc(n + 200);
    snprintf(text, n + 200, "[default]\naws_session_token = %s\n", token);
    struct cg_aws_config cfg;
    char err[256];
    assert_int_equal(cg_aws_config_load_text(&cfg, NULL, text, err, sizeof(err)), 0);
    assert_string_equal(cg_aws_profile_get(cg_aws_config_profile(&cfg, "default"),
                                           "aws_session_token"),
                        token);
    cg_aws_config_cleanup(&cfg);
    free(text);
    free(token);
}

static void shared_files_errors_name_the_line(void **state)
{
    (void)state;
    struct cg_aws_config cfg;
    char err[256];
    assert_int_equal(cg_aws_config_load_text(&cfg, "[default]\nregion = x\nnot a property\n",
                                             NULL, err, sizeof(err)),
                     CG_EPARSE);
    assert_non_null(strstr(err, "config:3"));
    assert_int_equal(cg_aws_config_load_text(&cfg, "[default\n", NULL, err, sizeof(err)),
                     CG_EPARSE);
    assert_non_null(strstr(err, "config:1"));
    assert_int_equal(cg_aws_config_load_text(&cfg, "key = before any section\n", NULL, err,
                                             sizeof(err)),
                     CG_EPARSE);
    assert_int_equal(cg_aws_config_load_text(&cfg, NULL, "[a]\n= novalue\n", err, sizeof(err)),
                     CG_EPARSE);
    assert_non_null(strstr(err, "credentials:2"));
}

static void shared_files_from_disk(void **state)
{
    (void)state;
    struct cg_aws_config cfg;
    char err[256];
    /* Missing files are no profiles, not an error. */
    assert_int_equal(cg_aws_config_load(&cfg, "/nonexistent/config", "/nonexistent/creds", err,
                                        sizeof(err)),
                     0);
    assert_int_equal(cfg.count, 0);
    cg_aws_config_cleanup(&cfg);
    /* A directory is refused. */
    assert_int_equal(cg_aws_config_load(&cfg, "/tmp", NULL, err, sizeof(err)), CG_EINVAL);
    assert_non_null(strstr(err, "not a regular file"));
}

static void times(void **state)
{
    (void)state;
    int64_t t;
    assert_int_equal(cg_parse_iso8601("2026-11-24T20:02:40Z", &t), 0);
    assert_int_equal(t, 1795550560);
    assert_int_equal(cg_parse_iso8601("2026-11-24T20:02:40.914643Z", &t), 0);
    assert_int_equal(t, 1795550560);
    assert_int_equal(cg_parse_iso8601("2026-11-24T20:02:40+00:00", &t), 0);
    assert_int_equal(cg_parse_iso8601("1970-01-01T00:00:00Z", &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(cg_parse_iso8601("2024-02-29T12:00:00Z", &t), 0);
    assert_int_equal(t, 1709208000);
    assert_int_equal(cg_parse_iso8601("2026-11-24 20:02:40Z", &t), CG_EPARSE);
    assert_int_equal(cg_parse_iso8601("2026-11-24T20:02:40", &t), CG_EPARSE);
    assert_int_equal(cg_parse_iso8601("2026-13-24T20:02:40Z", &t), CG_EPARSE);
    assert_int_equal(cg_parse_iso8601("2026-11-24T20:02:40+02:00", &t), CG_EPARSE);
    assert_int_equal(cg_parse_http_date("Tue, 24 Nov 2026 20:02:40 GMT", &t), 0);
    assert_int_equal(t, 1795550560);
    assert_int_equal(cg_parse_http_date("Tue, 24 Nov 2026 20:02:40 PST", &t), CG_EPARSE);
    assert_int_equal(cg_parse_http_date("garbage", &t), CG_EPARSE);
    char buf[32];
    cg_format_iso8601(1795550560, buf, sizeof(buf));
    assert_string_equal(buf, "2026-11-24T20:02:40Z");
}

static void command_lines(void **state)
{
    (void)state;
    char **argv = cg_split_command("  /usr/bin/helper --profile 'my prof' \"a \\\"q\\\" b\" c\\ d ");
    assert_non_null(argv);
    assert_string_equal(argv[0], "/usr/bin/helper");
    assert_string_equal(argv[1], "--profile");
    assert_string_equal(argv[2], "my prof");
    assert_string_equal(argv[3], "a \"q\" b");
    assert_string_equal(argv[4], "c d");
    assert_null(argv[5]);
    for (int i = 0; argv[i]; i++)
        free(argv[i]);
    free(argv);
    assert_null(cg_split_command("unbalanced 'quote"));
    assert_null(cg_split_command("   "));
}

static void urls(void **state)
{
    (void)state;
    struct cg_url u;
    assert_int_equal(cg_url_parse("http://127.0.0.1:8080/a/b?x=1", &u), 0);
    assert_string_equal(u.host, "127.0.0.1:8080");
    assert_string_equal(u.hostname, "127.0.0.1");
    assert_int_equal(u.port, 8080);
    assert_string_equal(u.path, "/a/b");
    assert_string_equal(u.query, "x=1");
    cg_url_cleanup(&u);
    assert_int_equal(cg_url_parse("https://sts.eu-west-1.amazonaws.com:443", &u), 0);
    assert_string_equal(u.host, "sts.eu-west-1.amazonaws.com"); /* default port dropped */
    assert_string_equal(u.path, "/");
    assert_true(u.https);
    cg_url_cleanup(&u);
    assert_int_equal(cg_url_parse("http://[fd00:ec2::23]:80/creds", &u), 0);
    assert_string_equal(u.hostname, "fd00:ec2::23");
    assert_string_equal(u.host, "[fd00:ec2::23]");
    cg_url_cleanup(&u);
    assert_int_equal(cg_url_parse("ftp://x/", &u), CG_EINVAL);
    assert_int_equal(cg_url_parse("http://user:pw@x/", &u), CG_EINVAL);
    assert_int_equal(cg_url_parse("http://x:99999/", &u), CG_EINVAL);
    assert_int_equal(cg_url_parse("http:///path", &u), CG_EINVAL);
    assert_int_equal(cg_url_parse("http://x/a#frag", &u), CG_EINVAL);

    assert_true(cg_url_host_is_container_allowed("127.0.0.1"));
    assert_true(cg_url_host_is_container_allowed("127.4.5.6"));
    assert_true(cg_url_host_is_container_allowed("169.254.170.2"));
    assert_true(cg_url_host_is_container_allowed("169.254.170.23"));
    assert_true(cg_url_host_is_container_allowed("fd00:ec2::23"));
    assert_true(cg_url_host_is_container_allowed("::1"));
    assert_true(cg_url_host_is_container_allowed("localhost"));
    assert_false(cg_url_host_is_container_allowed("169.254.169.254"));
    assert_false(cg_url_host_is_container_allowed("10.0.0.1"));
    assert_false(cg_url_host_is_container_allowed("fd00:ec2::254"));
    assert_false(cg_url_host_is_container_allowed("example.com"));
}

static void xml_fields(void **state)
{
    (void)state;
    const char *ok =
        "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
        "  <AssumeRoleResult>\n"
        "    <AssumedRoleUser><Arn>arn:aws:sts::2:assumed-role/r/s</Arn></AssumedRoleUser>\n"
        "    <Credentials>\n"
        "      <SessionToken>tok&amp;en</SessionToken>\n"
        "      <AccessKeyId> ASIAX </AccessKeyId>\n"
        "    </Credentials>\n"
        "  </AssumeRoleResult>\n"
        "</AssumeRoleResponse>\n";
    struct cg_xml_field f[] = {{"AccessKeyId", NULL}, {"SessionToken", NULL}, {"Arn", NULL},
                               {"Missing", NULL}};
    assert_int_equal(cg_xml_fields(ok, strlen(ok), f, 4), 0);
    assert_string_equal(f[0].value, "ASIAX");
    assert_string_equal(f[1].value, "tok&en");
    assert_string_equal(f[2].value, "arn:aws:sts::2:assumed-role/r/s");
    assert_null(f[3].value);
    cg_xml_fields_cleanup(f, 4);

    const char *bomb = "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaa\">]><x>&a;</x>";
    struct cg_xml_field g[] = {{"x", NULL}};
    assert_int_equal(cg_xml_fields(bomb, strlen(bomb), g, 1), CG_EPARSE);
    assert_null(g[0].value);
    assert_int_equal(cg_xml_fields("not xml", 7, g, 1), CG_EPARSE);
    assert_int_equal(cg_xml_fields("<a><b>", 6, g, 1), CG_EPARSE);
}

static void retry_rules(void **state)
{
    (void)state;
    assert_true(cg_aws_is_retryable(0, ""));          /* no answer */
    assert_true(cg_aws_is_retryable(500, "HTTP500"));
    assert_true(cg_aws_is_retryable(503, ""));
    assert_true(cg_aws_is_retryable(429, "ThrottlingException"));
    assert_true(cg_aws_is_retryable(400, "Throttling"));
    assert_true(cg_aws_is_retryable(400, "IDPCommunicationError"));
    assert_false(cg_aws_is_retryable(403, "AccessDenied"));
    assert_false(cg_aws_is_retryable(400, "ValidationError"));
    assert_false(cg_aws_is_retryable(404, "ResourceNotFoundException"));
    assert_true(cg_aws_is_skew_error("SignatureDoesNotMatch", "Signature expired: 2026..."));
    assert_false(cg_aws_is_skew_error("SignatureDoesNotMatch", "The request signature we "
                                                               "calculated does not match"));
    assert_true(cg_aws_is_skew_error("InvalidSignatureException", "Signature expired"));
    assert_true(cg_aws_is_skew_error("RequestTimeTooSkewed", NULL));
    /* Full jitter, base 1 s, cap 20 s. */
    assert_int_equal(cg_aws_backoff_ms(1, 0.5), 500);
    assert_int_equal(cg_aws_backoff_ms(2, 0.5), 1000);
    assert_int_equal(cg_aws_backoff_ms(3, 0.5), 2000);
    assert_int_equal(cg_aws_backoff_ms(10, 0.5), 10000);
    assert_int_equal(cg_aws_backoff_ms(3, 0.0), 0);
    assert_true(cg_aws_backoff_ms(30, 0.999) < 20000);
}

static void clock_skew(void **state)
{
    (void)state;
    cg_aws_clock_reset();
    int64_t local = 1795550560; /* Tue, 24 Nov 2026 20:02:40 GMT */
    /* Under five minutes apart: no change. */
    assert_false(cg_aws_clock_observe("Tue, 24 Nov 2026 20:06:40 GMT", local));
    assert_int_equal(cg_aws_clock_offset(), 0);
    /* Twenty minutes ahead: the offset follows the server. */
    assert_true(cg_aws_clock_observe("Tue, 24 Nov 2026 20:22:40 GMT", local));
    assert_int_equal(cg_aws_clock_offset(), 1200);
    /* Consistent with the offset now: unchanged. */
    assert_false(cg_aws_clock_observe("Tue, 24 Nov 2026 20:22:41 GMT", local));
    assert_false(cg_aws_clock_observe("garbage", local));
    assert_false(cg_aws_clock_observe("", local));
    cg_aws_clock_reset();
}

static void uri_encoding(void **state)
{
    (void)state;
    char *e = cg_aws_uri_encode("arn:aws:iam::1:role/a b+c~._-");
    assert_string_equal(e, "arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fa%20b%2Bc~._-");
    free(e);
}

static void credential_documents(void **state)
{
    (void)state;
    struct cg_credentials c = {0};
    char err[256];
    const char *imds = "{\"Code\":\"Success\",\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"ASIA1\","
                       "\"SecretAccessKey\":\"s\",\"Token\":\"t\","
                       "\"Expiration\":\"2026-11-24T20:02:40Z\"}";
    assert_int_equal(cg_parse_credentials_json(imds, strlen(imds), "Token", true, "imds", &c,
                                               err, sizeof(err)),
                     0);
    assert_string_equal(c.access_key_id, "ASIA1");
    assert_string_equal(c.session_token, "t");
    assert_int_equal(c.expiration, 1795550560);
    cg_credentials_clear(&c);
    assert_null(c.secret_access_key);
    const char *failed = "{\"Code\":\"AssumeRoleUnauthorizedAccess\",\"Message\":\"no\"}";
    assert_int_equal(cg_parse_credentials_json(failed, strlen(failed), "Token", true, "imds",
                                               &c, err, sizeof(err)),
                     CG_EAUTH);
    assert_non_null(strstr(err, "AssumeRoleUnauthorizedAccess"));
    const char *noexp = "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\"}";
    assert_int_equal(cg_parse_credentials_json(noexp, strlen(noexp), "Token", true, "imds", &c,
                                               err, sizeof(err)),
                     CG_EPARSE);
    assert_int_equal(cg_parse_credentials_json(noexp, strlen(noexp), "SessionToken", false,
                                               "process", &c, err, sizeof(err)),
                     0);
    assert_int_equal(c.expiration, 0);
    cg_credentials_clear(&c);
    assert_int_equal(cg_parse_credentials_json("[1]", 3, "Token", false, "x", &c, err,
                                               sizeof(err)),
                     CG_EPARSE);
    assert_int_equal(cg_parse_credentials_json("{garbage", 8, "Token", false, "x", &c, err,
                                               sizeof(err)),
                     CG_EPARSE);
}

/* Fails when any 6 characters of `secret` in a row appear in `text`. */
static void assert_no_fragment(const char *text, const char *secret)
{
    size_t n = strlen(secret);
    for (size_t i = 0; i + 6 <= n; i++) {
        char frag[7];
        memcpy(frag, secret + i, 6);
        frag[6] = '\0';
        if (strstr(text, frag))
            fail_msg("'%s' quotes \"%s\" of the secret", text, frag);
    }
}

/* Review finding "partial secrets in errors": jansson's error text quotes
 * up to 20 characters around the error ("invalid token near
 * 'wJalrXUtnFEMIK'"), and the message used to copy it. */
static void credential_documents_errors_never_quote_the_document(void **state)
{
    (void)state;
    static const char secret[] = "wJalrXUtnFEMIK7MDENGbPxRfiCYSECRETKEY";
    static const struct {
        const char *doc;
        const char *where; /* expected position */
    } cases[] = {
        /* a bare word: the lexer's excerpt is the secret's start */
        {"{\"Version\":1,\"AccessKeyId\":\"AKIA1\",\"SecretAccessKey\":"
         "wJalrXUtnFEMIK7MDENGbPxRfiCYSECRETKEY}", "line 1, column 67, byte 67"},
        /* an invalid escape inside the secret */
        {"{\"Version\":1,\"AccessKeyId\":\"AKIA1\",\"SecretAccessKey\":"
         "\"wJalrXUtnFEMI\\qK7MDENGbPxRfiCYSECRETKEY\"}", "line 1, column 69"},
        /* a raw tab inside the secret, on line 2 */
        {"{\"Version\":1,\n \"SecretAccessKey\":\"wJalrXUtnFEMI\tK7MDENGbPxRfiCYSECRETKEY\"}",
         "line 2, column 33"},
        /* a missing comma: the excerpt would be the next string */
        {"{\"SecretAccessKey\":\"x\" \"wJalrXUtnFEMIK7MDENGbPxRfiCYSECRETKEY\"}", "line 1"},
        /* unterminated */
        {"{\"SecretAccessKey\":\"wJalrXUtnFEMIK7MDENGbPxRfiCYSECRETKEY", "line 1"},
        /* trailing text after the document */
        {"{\"Version\":1} wJalrXUtnFEMIK7MDENGbPxRfiCYSECRETKEY", "line 1, column 28"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cg_credentials c = {0};
        char err[512] = "";
        int rc = cg_parse_credentials_json(cases[i].doc, strlen(cases[i].doc), "SessionToken",
                                           false, "profile p (credential_process): output of 'h'",
                                           &c, err, sizeof(err));
        assert_int_equal(rc, CG_EPARSE);
        assert_no_fragment(err, secret);
        /* Still says what is wrong and where. */
        assert_non_null(strstr(err, "profile p (credential_process): output of 'h': "
                                    "not valid JSON ("));
        if (!strstr(err, cases[i].where))
            fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].where);
        assert_null(c.secret_access_key);
    }
    /* A fixed phrase per kind of error. */
    struct cg_credentials c = {0};
    char err[512];
    const char *doc = "{\"SecretAccessKey\":\"abc";
    cg_parse_credentials_json(doc, strlen(doc), "Token", false, "x", &c, err, sizeof(err));
    assert_string_equal(err, "x: not valid JSON (the document ends too early at line 1, "
                             "column 23, byte 23)");
    doc = "{\"a\":1,\"a\":2}";
    cg_parse_credentials_json(doc, strlen(doc), "Token", false, "x", &c, err, sizeof(err));
    assert_non_null(strstr(err, "a key appears twice"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shared_files_profiles_and_precedence),
        cmocka_unit_test(shared_files_long_lines),
        cmocka_unit_test(shared_files_errors_name_the_line),
        cmocka_unit_test(shared_files_from_disk),
        cmocka_unit_test(times),
        cmocka_unit_test(command_lines),
        cmocka_unit_test(urls),
        cmocka_unit_test(xml_fields),
        cmocka_unit_test(retry_rules),
        cmocka_unit_test(clock_skew),
        cmocka_unit_test(uri_encoding),
        cmocka_unit_test(credential_documents),
        cmocka_unit_test(credential_documents_errors_never_quote_the_document),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
