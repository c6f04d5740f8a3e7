
/*
 * Copyright (C) 2026 The ngx_http_stytch_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * ngx_http_stytch_module: Stytch session authentication at the edge.
 *
 * The module's header: its constants, the configuration, project, zone
 * and request context types, and each file's types and functions.  The
 * files are layered and call one way, from the top down, in this order,
 * which is also the order of their sections below:
 *
 *   ngx_http_stytch_module.c     the module: directives, configuration,
 *                                life cycle
 *   ngx_http_stytch_locations.c  the locations that the module's
 *                                subrequests reach, checked at start;
 *                                "return" in protected locations
 *   ngx_http_stytch_metadata.c   stytch_resource_metadata: a protected
 *                                resource's metadata (RFC 9728)
 *   ngx_http_stytch_variables.c  $stytch_* (reads the request context)
 *   ngx_http_stytch_status.c     stytch_status (reads the zone)
 *   ngx_http_stytch_logout.c     stytch_logout, $stytch_return_to
 *   ngx_http_stytch_handler.c    the request path: its states and steps;
 *                                the only writer of the request context
 *   ngx_http_stytch_rbac.c       authorization: a verdict
 *   ngx_http_stytch_api.c        calls to the Stytch API from a request:
 *                                the subrequest, single flight
 *   ngx_http_stytch_response.c   the answers: challenge, 403, Retry-After,
 *                                cookies, Cache-Control
 *   ngx_http_stytch_request.c    what a request carries: Bearer, cookies,
 *                                stytch_token, CORS preflight, token shape
 *   ngx_http_stytch_refresh.c    the refresh timer and its fetches
 *   ngx_http_stytch_project.c    projects: built from the configuration,
 *                                and their state in a worker
 *   ngx_http_stytch_zone.c       the shared memory zone
 *   ngx_http_stytch_cache.c      the API-result cache, and the key tree
 *   ngx_http_stytch_curl.c       libcurl on NGINX's event loop
 *
 * A file calls only files below it.  A request that waits is woken in one
 * way: a file below the request path posts the event that the path gave
 * it, and ngx_http_stytch_handler.c goes on.
 */


#ifndef _NGX_HTTP_STYTCH_H_INCLUDED_
#define _NGX_HTTP_STYTCH_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "core/stytch_core.h"


#define NGX_HTTP_STYTCH_MAX_PROJECTS      16
#define NGX_HTTP_STYTCH_DEFAULT_ZONE_SIZE (4 * 1024 * 1024)

#define NGX_HTTP_STYTCH_AUTH_OFF          0
#define NGX_HTTP_STYTCH_AUTH_ON           1
#define NGX_HTTP_STYTCH_AUTH_STRICT       2
#define NGX_HTTP_STYTCH_AUTH_REPORT       3
#define NGX_HTTP_STYTCH_AUTH_M2M          4
#define NGX_HTTP_STYTCH_AUTH_OAUTH        5

/* the kinds of token that have no session for the API to look at */
#define NGX_HTTP_STYTCH_ACCESS_TOKENS     (STYTCH_KIND_M2M|STYTCH_KIND_OAUTH)

#define NGX_HTTP_STYTCH_KEY_LEN           32    /* SHA-256 */
#define NGX_HTTP_STYTCH_MAX_API_BODY      (256 * 1024)
#define NGX_HTTP_STYTCH_MAX_JWT_CACHE     (1024 * 1024)


#define NGX_HTTP_STYTCH_DOC_JWKS          0
#define NGX_HTTP_STYTCH_DOC_POLICY        1
#define NGX_HTTP_STYTCH_DOC_ORG           2     /* the first organization */
#define NGX_HTTP_STYTCH_DEFAULT_ORGS      1024
#define NGX_HTTP_STYTCH_MAX_ORGS          (1024 * 1024)
#define NGX_HTTP_STYTCH_ORG_PROBES        8
#define NGX_HTTP_STYTCH_LATENCY_BUCKETS   12   /* the last one is +Inf */
#define NGX_HTTP_STYTCH_ORG_ID_LEN        128
#define NGX_HTTP_STYTCH_MAX_PERMISSIONS   32
#define NGX_HTTP_STYTCH_API_CLIENTS       1024 /* stytch_api_rate buckets */
#define NGX_HTTP_STYTCH_API_CLIENT_PROBES 4
#define NGX_HTTP_STYTCH_API_CLIENT_KEY    32

/* what the policy fetch, made with the project's credentials, said */
#define NGX_HTTP_STYTCH_UNKNOWN           0
#define NGX_HTTP_STYTCH_ACCEPTED          1
#define NGX_HTTP_STYTCH_REFUSED           2
#define NGX_HTTP_STYTCH_B2B_ON_CONSUMER   3  /* invalid_b2b_endpoint */
#define NGX_HTTP_STYTCH_B2B_OFF_B2B       4  /* invalid_consumer_endpoint */


/*
 * A document that the workers fetch and share: the JWKS, the project's
 * RBAC policy, or an organization's policy (B2B).  The raw bytes and a
 * generation, with the refresh state.  Guarded by the zone's slab mutex.
 */
typedef struct {
    u_char                     *data;
    size_t                      len;
    u_char                      digest[STYTCH_DOC_DIGEST_SIZE];
    ngx_atomic_t                generation;  /* 0: never fetched */
    time_t                      fetched;     /* the last good fetch */
    time_t                      last_fetch;  /* the last attempt's start */
    ngx_atomic_t                attempts;    /* fetches that ended */
    time_t                      used;        /* organizations: last asked */
    ngx_uint_t                  failures;
    ngx_atomic_t                wanted;
    ngx_pid_t                   lease_pid;
    time_t                      lease_expires;
    ngx_uint_t                  failing;
    ngx_uint_t                  vouched;     /* the API took a kid it lacks */
    time_t                      vouched_for; /* the fetched it was owed */
    ngx_atomic_t                epoch;       /* organizations: slot reuse */
    size_t                      org_id_len;
    u_char                      org_id[NGX_HTTP_STYTCH_ORG_ID_LEN];
} ngx_http_stytch_shm_doc_t;


/*
 * The part of a project that lives in shared memory: bytes and integers
 * only, so that every worker (and the workers after a reload) can read it.
 */
typedef struct {
    u_char                      key[256];  /* project id + " " + API URL */
    size_t                      key_len;

    ngx_http_stytch_shm_doc_t   docs[NGX_HTTP_STYTCH_DOC_ORG];

    /* B2B: the organizations' policies, an open-addressing table */
    ngx_http_stytch_shm_doc_t  *orgs;
    ngx_uint_t                  norgs;

    ngx_atomic_t                credentials;  /* NGX_HTTP_STYTCH_ACCEPTED.. */

    /* counters */
    ngx_atomic_t                fetches;
    ngx_atomic_t                fetch_failures;
    ngx_atomic_t                local_accepts;
    ngx_atomic_t                local_rejects;
    ngx_atomic_t                cache_hits;
    ngx_atomic_t                rsa_verifications;
    ngx_atomic_t                api_calls;
    ngx_atomic_t                api_ok;
    ngx_atomic_t                api_rejected;
    ngx_atomic_t                api_forbidden;
    ngx_atomic_t                api_failed;
    ngx_atomic_t                api_cache_hits;
    ngx_atomic_t                api_joins;
    ngx_atomic_t                api_limited;
    ngx_atomic_t                reported;
    ngx_atomic_t                api_latency[NGX_HTTP_STYTCH_LATENCY_BUCKETS];
    ngx_atomic_t                api_latency_ms;
} ngx_http_stytch_shm_project_t;


typedef struct {
    ngx_uint_t                      nprojects;
    ngx_http_stytch_shm_project_t   projects[NGX_HTTP_STYTCH_MAX_PROJECTS];

    /* the API-result cache */
    ngx_atomic_t                    cache_entries;
    ngx_atomic_t                    cache_evictions;
    ngx_atomic_t                    cache_drops;  /* answers forgotten */
    ngx_rbtree_t                    rbtree;
    ngx_rbtree_node_t               sentinel;
    ngx_queue_t                     queue;       /* LRU, newest first */
} ngx_http_stytch_shm_t;


/* A client's share of stytch_api_rate, in one worker. */
typedef struct {
    uint32_t                    hash;
    size_t                      key_len;     /* 0: free */
    u_char                      key[NGX_HTTP_STYTCH_API_CLIENT_KEY];
    ngx_uint_t                  tokens;      /* thousandths of a call */
    ngx_msec_t                  refilled;
} ngx_http_stytch_api_client_t;


/* An organization's policy merged into the project's, in one worker. */
typedef struct {
    ngx_atomic_uint_t           epoch;
    ngx_atomic_uint_t           generation;
    ngx_atomic_uint_t           project_generation;
    stytch_policy_t            *policy;
} ngx_http_stytch_org_policy_t;


typedef struct ngx_http_stytch_fetch_s     ngx_http_stytch_fetch_t;
typedef struct ngx_http_stytch_flight_s    ngx_http_stytch_flight_t;
typedef struct ngx_http_stytch_transfer_s  ngx_http_stytch_transfer_t;


/*
 * A Stytch project as the configuration names it: one per distinct
 * (project id, API URL) pair among the protected locations, with this
 * worker's state of it.
 */
typedef struct {
    ngx_uint_t                  index;       /* in the zone */
    ngx_str_t                   project_id;
    ngx_str_t                   api_url;     /* no trailing slash */
    ngx_array_t                 issuers;     /* stytch_str_t */
    ngx_str_t                   jwks_url;
    ngx_str_t                   jwks_file;
    ngx_str_t                   jwks_static;  /* the file's bytes */
    ngx_str_t                   ssl_trusted_certificate;
    ngx_flag_t                  ssl_verify;
    ngx_flag_t                  b2b;
    time_t                      jwks_refresh;
    time_t                      jwks_cooldown;
    ngx_msec_t                  fetch_timeout;
    size_t                      jwt_cache_size;

    /* RBAC: fetched only when some location requires a permission */
    ngx_flag_t                  need_policy;
    time_t                      policy_refresh;
    ngx_str_t                   policy_url;
    ngx_str_t                   basic_auth;
    ngx_flag_t                  secret_file;  /* basic_auth's secret */

    ngx_shm_zone_t             *shm_zone;
    ngx_http_stytch_shm_project_t  *shm;

    /* this worker's state */
    stytch_verifier_t          *verifier;
    ngx_atomic_uint_t           generation;  /* of the parsed key set */
    stytch_policy_t            *policy;
    ngx_str_t                   policy_bytes;
    ngx_atomic_uint_t           policy_generation;
    ngx_http_stytch_org_policy_t  *orgs;      /* norgs, as the zone's */
    ngx_http_stytch_fetch_t   **org_fetch;
    ngx_queue_t                 key_waiters;  /* keys_wait_t */
    ngx_uint_t                  api_rate;     /* calls/s * 1000, 0: off */
    ngx_uint_t                  api_client_rate;  /* each client's */
    ngx_http_stytch_api_client_t  *api_clients;
    ngx_uint_t                  api_tokens;   /* the bucket, * 1000 */
    ngx_msec_t                  api_refilled;
    time_t                      api_limited_logged;
    time_t                      orgs_full_logged;
    time_t                      api_failed;   /* the last outage seen */
    time_t                      kid_fetched;  /* the set kid_asks is of */
    ngx_uint_t                  kid_asks;     /* unknown kids asked of it */
    unsigned                    issuer_logged:1;
    unsigned                    skew_logged:1;
    unsigned                    ahead_logged:1;
    ngx_event_t                 refresh;      /* the refresh timer's tick */
    ngx_http_stytch_fetch_t    *fetch[NGX_HTTP_STYTCH_DOC_ORG];
    ngx_log_t                  *log;
} ngx_http_stytch_project_t;


typedef struct {
    ngx_http_complex_value_t    resource;
    ngx_http_complex_value_t    action;
} ngx_http_stytch_permission_t;


/* A confidential Connected App that introspects (stytch_oauth_client) */
typedef struct {
    ngx_str_t                   client_id;
    ngx_str_t                   basic_auth;  /* "Basic base64(id:secret)" */
} ngx_http_stytch_oauth_client_t;


typedef struct {
    ngx_array_t                *values;      /* ngx_http_complex_value_t */
    ngx_uint_t                  status;      /* 401 or 403 */
} ngx_http_stytch_rule_t;


/* A location as NGINX merged it, for finding a URI's location at start */
typedef struct {
    ngx_http_core_srv_conf_t   *server;
    ngx_http_core_loc_conf_t   *core;
    ngx_http_core_loc_conf_t   *parent;      /* or the server's own */
    unsigned                    auth:1;      /* stytch_auth set in it */
} ngx_http_stytch_location_t;


/* A URI that a server's subrequests go to, checked at start */
typedef struct {
    ngx_http_core_srv_conf_t   *server;
    ngx_str_t                   uri;
    ngx_str_t                   api_url;     /* empty for auth_request */
} ngx_http_stytch_use_t;


typedef struct {
    ngx_shm_zone_t             *shm_zone;
    ngx_uint_t                  organizations;
    ngx_array_t                 projects;    /* ngx_http_stytch_project_t */
    ngx_array_t                 locations;   /* ngx_http_stytch_location_t */
    ngx_array_t                 api_uses;    /* ngx_http_stytch_use_t */
    ngx_array_t                 auth_requests;  /* ngx_http_stytch_use_t */
    ngx_flag_t                  zone_set;
} ngx_http_stytch_main_conf_t;


typedef struct {
    ngx_uint_t                  auth;
    ngx_str_t                   project_id;
    ngx_str_t                   secret;
    ngx_flag_t                  secret_file;    /* the secret is a file's */
    ngx_str_t                   api_url;
    ngx_array_t                *issuers;        /* ngx_str_t */
    ngx_str_t                   jwks_file;
    ngx_str_t                   ssl_trusted_certificate;
    ngx_flag_t                  ssl_verify;
    ngx_flag_t                  b2b;
    time_t                      jwks_refresh;
    time_t                      jwks_cooldown;
    ngx_msec_t                  fetch_timeout;
    time_t                      leeway;
    time_t                      max_token_age;  /* NGX_CONF_UNSET: off */
    ngx_flag_t                  max_token_age_set;
    size_t                      jwt_cache_size;
    ngx_str_t                   realm;
    ngx_str_t                   jwt_cookie;     /* empty: not read */
    ngx_str_t                   jwt_header;     /* empty: not read */
    ngx_http_complex_value_t   *token;          /* stytch_token, or NULL */
    ngx_str_t                   session_cookie; /* empty: not read */
    ngx_uint_t                  unavailable_status;
    time_t                      retry_after;

    ngx_flag_t                  fallback;
    ngx_flag_t                  rbac_local_final;
    ngx_str_t                   api_location;
    ngx_msec_t                  api_deadline;
    ngx_flag_t                  api_cache;
    time_t                      api_cache_valid;
    time_t                      api_cache_reject;
    ngx_flag_t                  refresh_cookie;
    ngx_str_t                   cookie_attributes;  /* NULL: default */
    ngx_str_t                   cookie_domain;      /* empty: host-only */
    ngx_str_t                   cookie_path;
    ngx_str_t                   basic_auth;     /* "Basic base64(id:secret)" */

    time_t                      policy_refresh;
    ngx_array_t                *permissions;    /* permission_t */
    ngx_array_t                *scopes;         /* ngx_http_complex_value_t */
    ngx_flag_t                  accept_m2m;
    ngx_flag_t                  accept_oauth;
    unsigned                    kinds;          /* STYTCH_KIND_* taken */
    ngx_str_t                   resource;       /* stytch_resource */
    ngx_str_t                   resource_metadata;  /* its RFC 9728 URL */
    ngx_flag_t                  resource_audience;
    ngx_str_t                   metadata;       /* the RFC 9728 document */
    ngx_flag_t                  oauth_introspect;
    ngx_array_t                *oauth_clients;  /* oauth_client_t */
    ngx_str_t                   authorization_server;
    ngx_flag_t                  cors_preflight;
    time_t                      session_duration;  /* minutes, 0: off */
    ngx_uint_t                  api_rate;       /* calls/s * 1000, 0: off */
    ngx_uint_t                  api_client_rate;  /* NGX_CONF_UNSET_UINT:
                                                   a tenth of api_rate */
    ngx_http_complex_value_t   *api_client;     /* NULL: the address */
    ngx_http_complex_value_t   *organization;
    ngx_array_t                *rules;          /* rule_t */

    ngx_str_t                   logout;         /* empty: no stytch_logout */
    ngx_flag_t                  logout_cross_site;

    ngx_http_stytch_project_t  *project;
    ngx_http_core_loc_conf_t   *core;           /* its location */
} ngx_http_stytch_loc_conf_t;



/* The request's life; ngx_http_stytch_handler.c draws the transitions. */
typedef enum {
    NGX_HTTP_STYTCH_START = 0,
    NGX_HTTP_STYTCH_KEYS,
    NGX_HTTP_STYTCH_ASK,
    NGX_HTTP_STYTCH_API,
    NGX_HTTP_STYTCH_ANSWERED,
    NGX_HTTP_STYTCH_AUTHENTICATED,
    NGX_HTTP_STYTCH_DECIDED
} ngx_http_stytch_state_e;


/* What a request carries (ngx_http_stytch_request.c) */
typedef struct {
    ngx_str_t                   jwt;
    ngx_str_t                   session_token;
    unsigned                    jwt_from_cookie:1;
    unsigned                    token_from_cookie:1;
} ngx_http_stytch_tokens_t;


/* One question to the API: a token, and the check sent with it. */
typedef struct {
    ngx_str_t                   token;
    ngx_str_t                   check;       /* ,"authorization_check":... */
    ngx_uint_t                  jwt;         /* session_jwt, else _token */
    ngx_uint_t                  introspect;  /* an access token, RFC 7662 */
    ngx_str_t                   client_id;   /* its Connected App's */
    u_char                      key[NGX_HTTP_STYTCH_KEY_LEN];
} ngx_http_stytch_question_t;


/* What the API said about a token, and when. */
typedef struct {
    stytch_status_t             status;
    stytch_session_t           *session;     /* a reference, or NULL */
    time_t                      answered;
} ngx_http_stytch_answer_t;


/* What authorization decided (ngx_http_stytch_rbac.c) */
typedef struct {
    stytch_status_t             status;      /* why it is denied */
    ngx_uint_t                  deny;        /* 401 or 403 */
    ngx_str_t                   scope;       /* the scopes missing */
    ngx_int_t                   checking;    /* the permission to ask of */
    ngx_str_t                   check;       /* the API, and the check */
    stytch_status_t             local;       /* the policy's denial of it */
} ngx_http_stytch_verdict_t;


/* A request waiting for a key set refresh (ngx_http_stytch_project.c) */
typedef struct {
    ngx_queue_t                 queue;       /* in project->key_waiters */
    ngx_event_t                *wake;        /* posted when the wait ends */
    ngx_atomic_uint_t           attempts;    /* the fetches seen before */
    time_t                      deadline;
    unsigned                    waiting:1;
    unsigned                    waited:1;    /* once per request */
} ngx_http_stytch_keys_wait_t;


/* A request's part in an API call (ngx_http_stytch_api.c) */
typedef struct {
    ngx_queue_t                 queue;       /* in the flight's waiters */
    ngx_event_t                *wake;        /* posted when it answers */
    ngx_http_stytch_flight_t   *flight;      /* waited for */
    ngx_http_stytch_flight_t   *led;         /* its subrequest is ours */
} ngx_http_stytch_api_wait_t;


/*
 * The request context, written by ngx_http_stytch_handler.c alone.  It
 * lives in the main request's pool cleanup, so that it survives the
 * internal redirects that clear r->ctx.
 */
typedef struct {
    ngx_http_request_t         *request;
    ngx_http_stytch_state_e     state;
    ngx_http_stytch_loc_conf_t *conf;        /* the location deciding */
    ngx_http_stytch_project_t  *project;

    /* the outcome of authentication, kept across internal redirects */
    stytch_status_t             status;
    stytch_session_t           *session;
    ngx_str_t                   source;      /* jwt, cache, api */
    time_t                      answered;    /* when the API vouched */
    ngx_uint_t                  deny;        /* 401 or 403 of a rule */
    ngx_str_t                   scope;       /* the scopes missing */

    ngx_http_stytch_tokens_t    tokens;      /* what the request carries */
    ngx_http_stytch_question_t  question;    /* what the API is asked */

    /* waiting: posted to go on; its timer is the key set's deadline */
    ngx_event_t                 wake;
    ngx_http_stytch_keys_wait_t keys;
    ngx_http_stytch_api_wait_t  api;

    /* authorization */
    uint32_t                    verified;    /* permissions the API granted */
    ngx_int_t                   checking;    /* the one asked about, or -1 */
    stytch_status_t             denied;      /* the policy's denial of it */

    ngx_uint_t                  kind;        /* STYTCH_KIND_* of the
                                                token, 0: not known */

    unsigned                    authenticated:1;
    unsigned                    kid_asked:1;  /* its kid is not in the set */
    unsigned                    reported:1;
    unsigned                    cookies_set:1;
    unsigned                    set_cookie:1;  /* a cookie was set */
} ngx_http_stytch_ctx_t;


extern ngx_module_t  ngx_http_stytch_module;


/* ngx_http_stytch_locations.c */
ngx_int_t ngx_http_stytch_locations_add(ngx_conf_t *cf,
    ngx_http_stytch_loc_conf_t *prev, ngx_http_stytch_loc_conf_t *conf);
ngx_int_t ngx_http_stytch_locations_use(ngx_conf_t *cf, ngx_array_t *uses,
    ngx_str_t *uri, ngx_str_t *api_url);
ngx_int_t ngx_http_stytch_locations_check(ngx_conf_t *cf,
    ngx_http_stytch_main_conf_t *smcf);

/* ngx_http_stytch_metadata.c */
ngx_int_t ngx_http_stytch_metadata_url(ngx_conf_t *cf, ngx_str_t *directive,
    ngx_str_t *resource, ngx_str_t *url);
char *ngx_http_stytch_resource_metadata(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_stytch_metadata_init(ngx_conf_t *cf,
    ngx_http_stytch_main_conf_t *smcf);

/* ngx_http_stytch_variables.c */
ngx_int_t ngx_http_stytch_add_variables(ngx_conf_t *cf);

/* ngx_http_stytch_status.c */
char *ngx_http_stytch_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

/* ngx_http_stytch_logout.c */
char *ngx_http_stytch_logout(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
ngx_int_t ngx_http_stytch_logout_add_variables(ngx_conf_t *cf);

/* ngx_http_stytch_handler.c */
ngx_int_t ngx_http_stytch_handler_init(ngx_conf_t *cf);
ngx_int_t ngx_http_stytch_handler(ngx_http_request_t *r);
ngx_http_stytch_ctx_t *ngx_http_stytch_get_ctx(ngx_http_request_t *r);

/* ngx_http_stytch_rbac.c */
ngx_int_t ngx_http_stytch_authorize(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_project_t *project,
    stytch_session_t *session, uint32_t verified, ngx_uint_t can_ask,
    ngx_http_stytch_verdict_t *verdict);

/* ngx_http_stytch_api.c */
#define NGX_HTTP_STYTCH_CALL_ANSWERED     0
#define NGX_HTTP_STYTCH_CALL_FAILED       1   /* no answer: refused, 5xx.. */
#define NGX_HTTP_STYTCH_CALL_DEADLINE     2   /* stytch_api_deadline */
#define NGX_HTTP_STYTCH_CALL_OVERSIZE     3   /* over the size limit */
#define NGX_HTTP_STYTCH_CALL_REDIRECTED   4   /* X-Accel-Redirect */
#define NGX_HTTP_STYTCH_CALL_NO_UPSTREAM  5   /* not a proxy to the API */
#define NGX_HTTP_STYTCH_CALL_GONE         6   /* the client went away */

typedef struct ngx_http_stytch_call_s  ngx_http_stytch_call_t;

typedef void (*ngx_http_stytch_call_pt)(ngx_http_stytch_call_t *call);

/*
 * One POST to the Stytch API, as a subrequest to the API location, with
 * its deadline and its answer gathered up to the size limit.  The handler
 * runs once, when the outcome is known.
 */
struct ngx_http_stytch_call_s {
    ngx_http_request_t         *sr;          /* while the subrequest runs */
    ngx_event_t                 deadline;
    ngx_msec_t                  timeout;
    ngx_msec_t                  started;
    ngx_uint_t                  outcome;     /* NGX_HTTP_STYTCH_CALL_* */
    ngx_uint_t                  status;      /* the API's, when answered */
    u_char                     *body;
    size_t                      len;
    size_t                      size;
    ngx_http_stytch_call_pt     handler;
    void                       *data;
    ngx_str_t                  *content_type;   /* NULL: JSON */
    ngx_str_t                  *authorization;  /* NULL: the project's */
    ngx_log_t                  *log;         /* the request's */
    unsigned                    over:1;      /* the handler ran */
    unsigned                    ended:1;     /* the subrequest completed */
};

ngx_int_t ngx_http_stytch_api_init(ngx_conf_t *cf);
ngx_int_t ngx_http_stytch_api_ask(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_project_t *project,
    ngx_http_stytch_question_t *question, ngx_http_stytch_api_wait_t *wait,
    ngx_http_stytch_answer_t *answer);
ngx_int_t ngx_http_stytch_api_take(ngx_http_stytch_api_wait_t *wait,
    ngx_http_stytch_answer_t *answer);
void ngx_http_stytch_api_leave(ngx_http_stytch_api_wait_t *wait);
ngx_int_t ngx_http_stytch_api_forget(ngx_http_stytch_project_t *project,
    ngx_str_t *token, ngx_uint_t jwt);
ngx_int_t ngx_http_stytch_api_call(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, const char *path, ngx_buf_t *b,
    ngx_http_stytch_call_t *call);
void ngx_http_stytch_api_call_free(ngx_http_stytch_call_t *call);

/* ngx_http_stytch_response.c */
ngx_table_elt_t *ngx_http_stytch_add_header(ngx_http_request_t *r,
    const char *name, ngx_str_t *value);
ngx_int_t ngx_http_stytch_challenge(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_uint_t invalid);
ngx_int_t ngx_http_stytch_forbid(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_str_t *scope);
ngx_int_t ngx_http_stytch_unavailable(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf);
ngx_int_t ngx_http_stytch_set_cookies(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, stytch_session_t *session,
    ngx_str_t *sent, ngx_uint_t jwt);
ngx_int_t ngx_http_stytch_clear_cookie(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_str_t *name);
ngx_int_t ngx_http_stytch_private(ngx_http_request_t *r);

/* ngx_http_stytch_request.c */
ngx_int_t ngx_http_stytch_tokens(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_tokens_t *tokens);
ngx_uint_t ngx_http_stytch_preflight(ngx_http_request_t *r);
ngx_int_t ngx_http_stytch_cookie(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *value);
ngx_uint_t ngx_http_stytch_token_is_safe(ngx_str_t *token);
ngx_uint_t ngx_http_stytch_dots(ngx_str_t *token);

/* ngx_http_stytch_refresh.c */
ngx_int_t ngx_http_stytch_refresh_init(ngx_cycle_t *cycle,
    ngx_http_stytch_main_conf_t *smcf);
void ngx_http_stytch_refresh_exit(ngx_cycle_t *cycle,
    ngx_http_stytch_main_conf_t *smcf);

/* ngx_http_stytch_project.c */
const char *ngx_http_stytch_project_directive(
    ngx_http_stytch_project_t *project, stytch_api_error_t *error);
ngx_int_t ngx_http_stytch_project_add(ngx_conf_t *cf,
    ngx_http_stytch_loc_conf_t *slcf);
ngx_int_t ngx_http_stytch_project_init(ngx_http_stytch_project_t *project,
    ngx_log_t *log);
void ngx_http_stytch_project_exit(ngx_http_stytch_project_t *project);
void ngx_http_stytch_verifier_conf(ngx_http_stytch_project_t *project,
    stytch_verifier_conf_t *vc, ngx_log_t *log);
ngx_int_t ngx_http_stytch_project_load_keys(
    ngx_http_stytch_project_t *project);
stytch_policy_t *ngx_http_stytch_project_policy(
    ngx_http_stytch_project_t *project, ngx_str_t *org_id);
void ngx_http_stytch_project_want(ngx_http_stytch_project_t *project,
    ngx_uint_t doc);
ngx_int_t ngx_http_stytch_project_keys(ngx_http_stytch_project_t *project,
    ngx_http_stytch_keys_wait_t *wait);
ngx_uint_t ngx_http_stytch_project_keys_over(
    ngx_http_stytch_project_t *project, ngx_http_stytch_keys_wait_t *wait);
void ngx_http_stytch_project_keys_leave(ngx_http_stytch_keys_wait_t *wait);
ngx_http_stytch_project_t *ngx_http_stytch_project_find(
    ngx_http_request_t *r, ngx_http_stytch_loc_conf_t *slcf);
ngx_uint_t ngx_http_stytch_project_kid_ask(
    ngx_http_stytch_project_t *project);
void ngx_http_stytch_project_kid_vouched(ngx_http_stytch_project_t *project);
void ngx_http_stytch_project_wake(ngx_http_stytch_project_t *project);
void ngx_http_stytch_core_log(void *ctx, int level, const char *msg,
    size_t len);

/* ngx_http_stytch_zone.c */
#define ngx_http_stytch_shm_doc(sp, d)                                        \
    ((d) < NGX_HTTP_STYTCH_DOC_ORG ? &(sp)->docs[d]                           \
                                   : &(sp)->orgs[(d) - NGX_HTTP_STYTCH_DOC_ORG])

ngx_int_t ngx_http_stytch_init_zone(ngx_shm_zone_t *shm_zone, void *data);
ngx_int_t ngx_http_stytch_zone_publish(ngx_shm_zone_t *shm_zone,
    ngx_http_stytch_shm_doc_t *doc, ngx_atomic_uint_t epoch, u_char *data,
    size_t len, u_char *digest);
u_char *ngx_http_stytch_zone_copy(ngx_shm_zone_t *shm_zone,
    ngx_http_stytch_shm_doc_t *doc, size_t *len,
    ngx_atomic_uint_t *generation, ngx_log_t *log);
ngx_int_t ngx_http_stytch_zone_org(ngx_shm_zone_t *shm_zone,
    ngx_http_stytch_shm_project_t *sp, ngx_str_t *org_id, time_t idle,
    ngx_uint_t *slot);
void ngx_http_stytch_zone_latency(ngx_http_stytch_shm_project_t *sp,
    ngx_msec_t ms);
extern ngx_msec_t  ngx_http_stytch_latency_bounds[];

/* ngx_http_stytch_cache.c */

/* A red-black tree node found by a whole key: the tree's key is its start */
typedef struct {
    ngx_rbtree_node_t           node;
    u_char                      key[NGX_HTTP_STYTCH_KEY_LEN];
} ngx_http_stytch_keyed_t;

void ngx_http_stytch_cache_init(ngx_http_stytch_shm_t *sh);
ngx_int_t ngx_http_stytch_cache_get(ngx_shm_zone_t *shm_zone, u_char *key,
    time_t valid, time_t reject_valid, ngx_http_stytch_answer_t *answer,
    ngx_log_t *log);
void ngx_http_stytch_cache_drop(ngx_shm_zone_t *shm_zone, u_char *key);
void ngx_http_stytch_cache_put(ngx_shm_zone_t *shm_zone, u_char *key,
    ngx_http_stytch_answer_t *answer, time_t ttl);
ngx_uint_t ngx_http_stytch_cache_evict_locked(ngx_slab_pool_t *shpool,
    ngx_http_stytch_shm_t *sh);
void ngx_http_stytch_cache_exit(void);
void ngx_http_stytch_keyed_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
ngx_http_stytch_keyed_t *ngx_http_stytch_keyed_find(ngx_rbtree_t *tree,
    u_char *key);

/* ngx_http_stytch_curl.c */
typedef void (*ngx_http_stytch_got_pt)(void *data, ngx_uint_t status,
    u_char *body, size_t len, const char *error);

typedef struct {
    char                       *url;         /* NUL-terminated */
    ngx_str_t                   authorization;  /* empty: none */
    ngx_str_t                   ca_file;        /* NUL-terminated, or empty */
    ngx_flag_t                  verify;
    ngx_msec_t                  timeout;
    size_t                      max;
} ngx_http_stytch_get_t;

ngx_int_t ngx_http_stytch_curl_init(ngx_cycle_t *cycle);
void ngx_http_stytch_curl_exit(ngx_cycle_t *cycle);
ngx_http_stytch_transfer_t *ngx_http_stytch_curl_get(
    ngx_http_stytch_get_t *get, ngx_http_stytch_got_pt handler, void *data,
    ngx_log_t *log);
void ngx_http_stytch_curl_cancel(ngx_http_stytch_transfer_t *t);


#endif /* _NGX_HTTP_STYTCH_H_INCLUDED_ */
