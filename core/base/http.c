/*
 * http.c - requests through libcurl (see http.h for the policy).
 *
 * libcurl itself is loaded by core/base/curl_load.c, into the agent's own
 * scope, and called through its table; curl's headers are included for
 * types and constants alone.
 *
 * Sockets are made by on_open_socket, close-on-exec and moved to the
 * descriptor floor (core/base/fd_floor.h): the handle keeps its
 * connections alive between requests, for minutes, and they must not sit
 * on numbers the program expects to get.  With the agent's own libcurl
 * its socket calls are redirected to the same effect (curl_load.c), and
 * so is the wakeup socketpair of the multi handle each easy handle makes
 * at its first perform; on_open_socket also covers a libcurl the program
 * loaded, which the agent shares as it is.
 */
#include "core/base/http.h"
#include "core/base/http_internal.h"

#include "core/base/curl_load.h"
#include "core/base/error.h"
#include "core/base/fd_floor.h"
#include "core/base/log.h"
#include "core/base/openssl_exit.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#ifndef CGAGENT_VERSION
#define CGAGENT_VERSION "0.1.0"
#endif

#define DEFAULT_CONNECT_TIMEOUT_MS 2000u
#define DEFAULT_TIMEOUT_MS 10000u
#define DEFAULT_MAX_RESPONSE (1024u * 1024u)
#define MAX_HEADER_LINE 8192u
#define TLS_GONE "the TLS library was shut down (the program is exiting)"

struct cg_http {
    const struct cg_curl_api *curl; /* borrowed, for the process's life */
    CURL *easy;
    char *ca_bundle;
    char *user_agent;
};

bool cg_http_available(void)
{
    return cg_curl_load() != NULL;
}

struct cg_http *cg_http_new(const struct cg_http_options *opts)
{
    const struct cg_curl_api *curl = cg_curl_load();
    if (!curl)
        return NULL;
    struct cg_http *http = calloc(1, sizeof(*http));
    if (!http)
        return NULL;
    http->curl = curl;
    http->easy = curl->easy_init();
    if (opts && opts->ca_bundle)
        http->ca_bundle = strdup(opts->ca_bundle);
    if (asprintf(&http->user_agent, "%s",
                 opts && opts->user_agent ? opts->user_agent : "cgagent/" CGAGENT_VERSION) < 0)
        http->user_agent = NULL;
    if (!http->easy || !http->user_agent || (opts && opts->ca_bundle && !http->ca_bundle)) {
        cg_http_free(http);
        return NULL;
    }
    return http;
}

void cg_http_free(struct cg_http *http)
{
    if (!http)
        return;
    /* Closing a kept TLS connection reaches OpenSSL: once it was shut
     * down, the handle is left as it is. */
    if (http->easy && cg_openssl_transfer_begin()) {
        http->curl->easy_cleanup(http->easy);
        cg_openssl_transfer_end();
    }
    free(http->ca_bundle);
    free(http->user_agent);
    free(http);
}

void cg_http_response_cleanup(struct cg_http_response *resp)
{
    if (!resp)
        return;
    if (resp->body) {
        /* Bodies carry credentials (IMDS, STS, container): wipe them. */
        explicit_bzero(resp->body, resp->body_len);
        free(resp->body);
    }
    resp->body = NULL;
    resp->body_len = 0;
}

struct sink {
    struct cg_http_response *resp;
    size_t cap;   /* allocated */
    size_t limit;
    bool too_big;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
    struct sink *s = ctx;
    size_t n = size * nmemb;
    struct cg_http_response *r = s->resp;
    if (n > s->limit - r->body_len) {
        s->too_big = true;
        return 0; /* aborts the transfer */
    }
    if (r->body_len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < r->body_len + n + 1)
            cap *= 2;
        char *grown = malloc(cap);
        if (!grown)
            return 0;
        if (r->body) {
            memcpy(grown, r->body, r->body_len);
            explicit_bzero(r->body, r->body_len);
            free(r->body);
        }
        r->body = grown;
        s->cap = cap;
    }
    memcpy(r->body + r->body_len, data, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return n;
}

/* Copies the value of header `name` from a raw header line, trimmed. */
static bool header_value(const char *line, size_t len, const char *name, char *out,
                         size_t out_size)
{
    size_t nlen = strlen(name);
    if (len <= nlen || line[nlen] != ':' || strncasecmp(line, name, nlen) != 0)
        return false;
    const char *v = line + nlen + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t n = (size_t)(end - v);
    if (n >= out_size)
        n = out_size - 1;
    memcpy(out, v, n);
    out[n] = '\0';
    return true;
}

void cg_http_header_line(const char *data, size_t n, struct cg_http_response *r)
{
    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        /* A new response (e.g. after 100 Continue): forget the old headers. */
        r->date[0] = '\0';
        r->amzn_error_type[0] = '\0';
        r->retry_after_ms = 0;
        return;
    }
    char tmp[32];
    header_value(data, n, "Date", r->date, sizeof(r->date));
    if (header_value(data, n, "x-amzn-ErrorType", r->amzn_error_type,
                     sizeof(r->amzn_error_type))) {
        char *colon = strchr(r->amzn_error_type, ':');
        if (colon)
            *colon = '\0';
    }
    if (header_value(data, n, "x-amz-retry-after", tmp, sizeof(tmp))) {
        char *end;
        unsigned long ms = strtoul(tmp, &end, 10);
        if (end != tmp && *end == '\0' && ms <= 600000)
            r->retry_after_ms = (uint32_t)ms;
    }
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ctx)
{
    struct sink *s = ctx;
    size_t n = size * nmemb;
    cg_http_header_line(data, n, s->resp);
    return n;
}

/* CURLOPT_XFERINFOFUNCTION: called at least once a second during a
 * transfer; non-zero aborts it.  Once OpenSSL's cleanup has begun (the
 * program is exiting), the transfer must end before OpenSSL frees what it
 * uses (core/base/openssl_exit.h). */
static int on_progress(void *ctx, curl_off_t dl_total, curl_off_t dl_now, curl_off_t ul_total,
                       curl_off_t ul_now)
{
    (void)ctx;
    (void)dl_total;
    (void)dl_now;
    (void)ul_total;
    (void)ul_now;
    return cg_openssl_shut_down() ? 1 : 0;
}

/* CURLOPT_OPENSOCKETFUNCTION: libcurl's own socket() call, but
 * close-on-exec (a program's fork+exec must not inherit our connection)
 * and at the floor. */
static curl_socket_t on_open_socket(void *ctx, curlsocktype purpose, struct curl_sockaddr *addr)
{
    (void)ctx;
    (void)purpose;
    int fd = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
    if (fd < 0)
        return CURL_SOCKET_BAD;
    return cg_fd_raise(fd);
}

int cg_http_perform(struct cg_http *http, const struct cg_http_request *req,
                    struct cg_http_response *resp)
{
    memset(resp, 0, sizeof(*resp));
    if (!http || !req || !req->method || !req->url)
        return CG_EINVAL;
    if (!cg_openssl_transfer_begin()) {
        snprintf(resp->error, sizeof(resp->error), "%s", TLS_GONE);
        return CG_ENET;
    }
    const struct cg_curl_api *api = http->curl;
    CURL *c = http->easy;
    api->easy_reset(c); /* keeps the connection cache */

    struct sink sink = {
        .resp = resp,
        .limit = req->max_response_bytes ? req->max_response_bytes : DEFAULT_MAX_RESPONSE,
    };
    struct curl_slist *headers = NULL;
    int rc = 0;
    char errbuf[CURL_ERROR_SIZE] = "";

    /* Suppress "Expect: 100-continue" (an extra round trip, and never
     * signed) and curl's default Accept. */
    headers = api->slist_append(headers, "Expect:");
    for (size_t i = 0; headers && i < req->header_count; i++) {
        const struct cg_http_header *h = &req->headers[i];
        char *line;
        if (strpbrk(h->name, "\r\n:") || strpbrk(h->value, "\r\n")) {
            rc = CG_EINVAL; /* header injection: never send it */
            goto out;
        }
        if (asprintf(&line, "%s: %s", h->name, h->value) < 0) {
            rc = CG_ENOMEM;
            goto out;
        }
        struct curl_slist *next = api->slist_append(headers, line);
        explicit_bzero(line, strlen(line)); /* may be a token */
        free(line);
        if (!next) {
            rc = CG_ENOMEM;
            goto out;
        }
        headers = next;
    }
    if (!headers) {
        rc = CG_ENOMEM;
        goto out;
    }

    api->easy_setopt(c, CURLOPT_URL, req->url);
    api->easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    api->easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    api->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    api->easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    api->easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    api->easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (http->ca_bundle)
        api->easy_setopt(c, CURLOPT_CAINFO, http->ca_bundle);
    if (req->direct)
        api->easy_setopt(c, CURLOPT_NOPROXY, "*");
    api->easy_setopt(c, CURLOPT_USERAGENT, http->user_agent);
    api->easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                         (long)(req->connect_timeout_ms ? req->connect_timeout_ms
                                                        : DEFAULT_CONNECT_TIMEOUT_MS));
    api->easy_setopt(c, CURLOPT_TIMEOUT_MS,
                         (long)(req->timeout_ms ? req->timeout_ms : DEFAULT_TIMEOUT_MS));
    api->easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    api->easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    api->easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    api->easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    api->easy_setopt(c, CURLOPT_HEADERDATA, &sink);
    api->easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    api->easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    api->easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    if (strcmp(req->method, "GET") == 0) {
        api->easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else {
        /* POSTFIELDS with an explicit size sends exactly these bytes (or
         * none) with Content-Length; CUSTOMREQUEST renames the method. */
        api->easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        api->easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        if (strcmp(req->method, "POST") != 0)
            api->easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
    }

    CURLcode cr = api->easy_perform(c);
    if (cr == CURLE_OK) {
        api->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    } else if (sink.too_big) {
        snprintf(resp->error, sizeof(resp->error), "response body over %zu bytes", sink.limit);
        rc = CG_ETOOBIG;
    } else {
        resp->timed_out = cr == CURLE_OPERATION_TIMEDOUT;
        snprintf(resp->error, sizeof(resp->error), "%s",
                 cg_openssl_shut_down() ? TLS_GONE
                 : errbuf[0]            ? errbuf
                                        : api->easy_strerror(cr));
        size_t n = strlen(resp->error);
        while (n && resp->error[n - 1] == '\n')
            resp->error[--n] = '\0';
        resp->status = 0;
        rc = cr == CURLE_OUT_OF_MEMORY ? CG_ENOMEM : CG_ENET;
    }
    if (rc != 0)
        cg_http_response_cleanup(resp);
out:
    /* The handle keeps pointers to these until the next reset. */
    api->easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    api->easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
    /* Header lines carry tokens (Authorization, X-Amz-Security-Token,
     * IMDS and container tokens): wipe curl's copies before it frees. */
    for (struct curl_slist *h = headers; h; h = h->next)
        explicit_bzero(h->data, strlen(h->data));
    if (headers)
        api->slist_free_all(headers);
    cg_openssl_transfer_end();
    return rc;
}

/* ---- URLs ---- */

void cg_url_cleanup(struct cg_url *u)
{
    if (!u)
        return;
    free(u->host);
    free(u->hostname);
    free(u->path);
    free(u->query);
    memset(u, 0, sizeof(*u));
}

int cg_url_parse(const char *url, struct cg_url *out)
{
    memset(out, 0, sizeof(*out));
    const char *p;
    if (strncasecmp(url, "https://", 8) == 0) {
        out->https = true;
        p = url + 8;
    } else if (strncasecmp(url, "http://", 7) == 0) {
        p = url + 7;
    } else {
        return CG_EINVAL;
    }
    if (strpbrk(url, " \t\r\n#"))
        return CG_EINVAL;
    size_t alen = strcspn(p, "/?");
    const char *auth_end = p + alen;
    if (alen == 0 || memchr(p, '@', alen))
        return CG_EINVAL;
    const char *host_end, *port_start = NULL;
    const char *hs = p;
    if (*p == '[') {
        const char *close = memchr(p, ']', alen);
        if (!close)
            return CG_EINVAL;
        hs = p + 1;
        host_end = close;
        if (close + 1 < auth_end) {
            if (close[1] != ':')
                return CG_EINVAL;
            port_start = close + 2;
        }
    } else {
        const char *colon = memchr(p, ':', alen);
        host_end = colon ? colon : auth_end;
        if (colon)
            port_start = colon + 1;
    }
    if (host_end == hs)
        return CG_EINVAL;
    uint16_t def = out->https ? 443 : 80;
    unsigned long port = def;
    if (port_start) {
        if (port_start == auth_end)
            return CG_EINVAL;
        port = 0;
        for (const char *q = port_start; q < auth_end; q++) {
            if (*q < '0' || *q > '9')
                return CG_EINVAL;
            port = port * 10 + (unsigned long)(*q - '0');
            if (port > 65535)
                return CG_EINVAL;
        }
        if (port == 0)
            return CG_EINVAL;
    }
    out->port = (uint16_t)port;
    out->hostname = strndup(hs, (size_t)(host_end - hs));
    size_t bare = (size_t)((*p == '[' ? host_end + 1 : host_end) - p);
    if (port != def) {
        if (asprintf(&out->host, "%.*s:%lu", (int)bare, p, port) < 0)
            out->host = NULL;
    } else {
        out->host = strndup(p, bare);
    }
    const char *rest = auth_end;
    size_t plen = strcspn(rest, "?");
    out->path = plen ? strndup(rest, plen) : strdup("/");
    if (rest[plen] == '?')
        out->query = strdup(rest + plen + 1);
    if (!out->hostname || !out->host || !out->path || (rest[plen] == '?' && !out->query)) {
        cg_url_cleanup(out);
        return CG_ENOMEM;
    }
    return 0;
}

bool cg_url_host_is_container_allowed(const char *hostname)
{
    if (strcasecmp(hostname, "localhost") == 0)
        return true;
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, hostname, &a4) == 1) {
        uint32_t ip = ntohl(a4.s_addr);
        return (ip >> 24) == 127 || ip == 0xA9FEAA02u /* 169.254.170.2 */ ||
               ip == 0xA9FEAA17u /* 169.254.170.23 */;
    }
    if (inet_pton(AF_INET6, hostname, &a6) == 1) {
        static const struct in6_addr eks = {
            .s6_addr = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x23}};
        if (IN6_IS_ADDR_LOOPBACK(&a6) || memcmp(&a6, &eks, sizeof(eks)) == 0)
            return true;
        if (IN6_IS_ADDR_V4MAPPED(&a6)) {
            char v4[INET_ADDRSTRLEN];
            struct in_addr m;
            memcpy(&m, &a6.s6_addr[12], 4);
            inet_ntop(AF_INET, &m, v4, sizeof(v4));
            return cg_url_host_is_container_allowed(v4);
        }
    }
    return false;
}
