/*
 * http_wipe_test.c - a request that carries a token and an answer that
 * carries a secret leave no copy of either in memory the agent (or
 * libcurl, for the header list the agent built) frees.
 *
 * Regression test for the review finding "secrets not wiped" as it
 * applies to core/http.c: the header lines handed to libcurl
 * (Authorization, X-Amz-Security-Token, IMDS and container tokens) were
 * freed by curl_slist_free_all without a wipe.  A one-shot HTTP server on
 * 127.0.0.1 answers the request; tests/unit/wipe_check.h watches every
 * free, realloc and curl_slist_free_all.  Skipped when libcurl cannot be
 * loaded.
 */
#include "core/base/error.h"
#include "core/base/http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/unit/wipe_check.h"

static const char token[] = "IQoJb3JpZ2luX2VjEXAMPLEheaderTOKENwipecheck0123456789";
static const char secret[] = "wJalrXUtnFEMIK7MDENGbPxRfiCYANSWERSECRET";

struct server {
    int fd;
    char request[8192]; /* what arrived */
};

/* Answers one request with a 200 whose JSON body holds `secret`, padded
 * so that the agent's body buffer has to grow. */
static void *serve_one(void *arg)
{
    struct server *s = arg;
    int c = accept(s->fd, NULL, NULL);
    if (c < 0)
        return NULL;
    size_t got = 0;
    while (got < sizeof(s->request) - 1 && !strstr(s->request, "\r\n\r\n")) {
        ssize_t n = read(c, s->request + got, sizeof(s->request) - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        s->request[got] = '\0';
    }
    static char body[12000];
    memset(body, ' ', sizeof(body) - 1);
    int n = snprintf(body, sizeof(body), "{\"SecretAccessKey\": \"%s\"", secret);
    body[n] = ' ';
    body[sizeof(body) - 2] = '}';
    char head[256];
    int hn = snprintf(head, sizeof(head),
                      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                      strlen(body));
    if (write(c, head, (size_t)hn) < 0 || write(c, body, strlen(body)) < 0)
        perror("write");
    close(c);
    return NULL;
}

static void request_with_a_token_frees_no_copy_of_it(void **state)
{
    (void)state;
    struct cg_http *http = cg_http_new(NULL);
    if (!http)
        skip();
    struct server s = {.fd = socket(AF_INET, SOCK_STREAM, 0)};
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    assert_int_equal(bind(s.fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s.fd, 1), 0);
    assert_int_equal(getsockname(s.fd, (struct sockaddr *)&a, &al), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, serve_one, &s), 0);

    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/creds", ntohs(a.sin_port));
    struct cg_http_header h[] = {{"X-Amz-Security-Token", token}, {"Accept", "application/json"}};
    struct cg_http_request req = {
        .method = "GET", .url = url, .headers = h, .header_count = 2, .direct = true,
        .timeout_ms = 5000,
    };
    wipe_check_reset();
    wipe_check_watch("session token", token, strlen(token));
    wipe_check_watch("secret in the answer", secret, strlen(secret));
    struct cg_http_response r;
    int rc = cg_http_perform(http, &req, &r);
    pthread_join(t, NULL);
    close(s.fd);
    assert_int_equal(rc, 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(s.request, token)); /* it was sent */
    assert_non_null(strstr(r.body, secret));
    cg_http_response_cleanup(&r);
    cg_http_free(http);
    assert_true(wipe_check.frees > 0);
    if (wipe_check.leaks)
        fail_msg("%d released block(s) still held a secret; first: %s", wipe_check.leaks,
                 wipe_check.first);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(request_with_a_token_frees_no_copy_of_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
