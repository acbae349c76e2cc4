/*
 * http.h - HTTP(S) requests for the agent's own traffic (STS, IMDS,
 * container credentials, CodeGuru Profiler), through libcurl.
 *
 * libcurl is loaded with dlopen on the first cg_http_new(), from the
 * agent's own threads, never at process start: its dependency chain
 * (OpenSSL, GnuTLS through LDAP/RTMP, p11-kit, ...) would otherwise run its
 * constructors and destructors in every profiled program, and some of them
 * deadlock under sanitizers.  A process that only writes local profiles
 * never loads it.  When libcurl cannot be loaded, cg_http_new() logs one
 * line and returns NULL.  It is loaded deep-bound, into the agent's own
 * scope, with the agent's allocator and its descriptors above the floor
 * (core/base/curl_load.h): a program's own OpenSSL or zlib symbols never
 * see the agent's requests.
 *
 * Policy applied to every request: TLS peer and host verification on
 * (`ca_bundle` replaces the system store, AWS_CA_BUNDLE); only http and
 * https; no redirects; no signals (CURLOPT_NOSIGNAL: the agent thread
 * blocks SIGPIPE instead); proxies from the environment (http_proxy,
 * HTTPS_PROXY, NO_PROXY) unless the request says `direct` (link-local and
 * loopback credential endpoints); `Expect: 100-continue` suppressed; the
 * response body capped; none made, and the one in flight aborted, once
 * OpenSSL's cleanup has begun (the program is exiting:
 * core/base/openssl_exit.h).
 *
 * Owns: a struct cg_http owns one curl easy handle, so requests made
 * through it reuse connections.  Responses own their body; free with
 * cg_http_response_cleanup().
 * Thread safety: one struct cg_http is used by one thread at a time (the
 * upload thread, or `cgagent check`); separate ones may be used
 * concurrently.
 * Signal safety: none; never from a signal handler (libcurl allocates
 * and locks).
 */
#ifndef CG_HTTP_H
#define CG_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cg_http_header {
    const char *name;
    const char *value;
};

struct cg_http_request {
    const char *method;                   /* "GET", "PUT", "POST" */
    const char *url;
    const struct cg_http_header *headers; /* sent as given, in order */
    size_t header_count;
    const void *body;                     /* NULL: no body */
    size_t body_len;
    uint32_t connect_timeout_ms;          /* 0: 2000 */
    uint32_t timeout_ms;                  /* whole request; 0: 10000 */
    size_t max_response_bytes;            /* 0: 1 MiB */
    bool direct;                          /* never through a proxy */
};

struct cg_http_response {
    long status;           /* HTTP status; 0 when no response arrived */
    char *body;            /* NUL-terminated; NULL when empty */
    size_t body_len;
    char date[64];         /* the Date header, "" if none */
    char amzn_error_type[128]; /* x-amzn-ErrorType up to ':', "" if none */
    uint32_t retry_after_ms;   /* x-amz-retry-after, 0 if none */
    bool timed_out;        /* the transport failure was a timeout */
    char error[256];       /* transport failure text, "" on success */
};

struct cg_http_options {
    const char *ca_bundle; /* PEM file; NULL: the system store */
    const char *user_agent; /* NULL: "cgagent/VERSION" */
};

struct cg_http;

/* Loads libcurl if needed and makes a client.  Returns NULL (one log line
 * the first time) when libcurl is unavailable or out of memory. */
struct cg_http *cg_http_new(const struct cg_http_options *opts);

void cg_http_free(struct cg_http *http);

/* Whether libcurl is loaded, loading it if needed (one log line the first
 * time it cannot be): lets a caller whose client failed keep quiet about
 * the cause already told. */
bool cg_http_available(void);

/* Performs one request.  Returns 0 when a response arrived (any status:
 * look at resp->status), CG_ENET when none did (connection refused or
 * reset, DNS, TLS, timeout; resp->error says which), CG_ETOOBIG when the
 * body exceeded the cap, CG_EINVAL for a malformed request, CG_ENOMEM.
 * *resp is always initialised; clean it up in every case. */
int cg_http_perform(struct cg_http *http, const struct cg_http_request *req,
                    struct cg_http_response *resp);

void cg_http_response_cleanup(struct cg_http_response *resp);

/* Parts of an http(s) URL, for signing and for the endpoint rules.
 * `host` is what goes in the Host header: the host as written (IPv6 in
 * brackets) plus ":port" when the port is not the scheme's default.
 * `path` starts with '/' ("/" when the URL has none); the query, if any,
 * is kept apart without its '?'.  Strings are malloc'd; free with
 * cg_url_cleanup().  Returns 0, CG_EINVAL (not http/https, userinfo, empty
 * host, bad port, fragment) or CG_ENOMEM. */
struct cg_url {
    bool https;
    char *host;
    char *hostname;  /* host without port and brackets */
    uint16_t port;
    char *path;
    char *query;     /* NULL when none */
};
int cg_url_parse(const char *url, struct cg_url *out);
void cg_url_cleanup(struct cg_url *url);

/* True for 127.0.0.0/8, ::1, "localhost", the ECS/EKS link-local
 * addresses 169.254.170.2 and 169.254.170.23, and fd00:ec2::23: the hosts
 * the SDKs accept in AWS_CONTAINER_CREDENTIALS_FULL_URI over plain http. */
bool cg_url_host_is_container_allowed(const char *hostname);

#endif
