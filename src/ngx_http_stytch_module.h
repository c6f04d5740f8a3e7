
/*
 * ngx_http_stytch_module: Stytch session authentication at the edge.
 */


#ifndef _NGX_HTTP_STYTCH_MODULE_H_INCLUDED_
#define _NGX_HTTP_STYTCH_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "core/stytch_core.h"


#define NGX_HTTP_STYTCH_MAX_PROJECTS      16
#define NGX_HTTP_STYTCH_DEFAULT_ZONE_SIZE (4 * 1024 * 1024)

#define NGX_HTTP_STYTCH_AUTH_OFF          0
#define NGX_HTTP_STYTCH_AUTH_ON           1
#define NGX_HTTP_STYTCH_AUTH_STRICT       2

#define NGX_HTTP_STYTCH_KEY_LEN           32    /* SHA-256 */
#define NGX_HTTP_STYTCH_MAX_API_BODY      (256 * 1024)
#define NGX_HTTP_STYTCH_MAX_JWT_CACHE     (1024 * 1024)


#define NGX_HTTP_STYTCH_DOC_JWKS          0
#define NGX_HTTP_STYTCH_DOC_POLICY        1
#define NGX_HTTP_STYTCH_DOC_ORG           2     /* the first organization */
#define NGX_HTTP_STYTCH_MAX_ORGS          16
#define NGX_HTTP_STYTCH_NDOCS             (NGX_HTTP_STYTCH_DOC_ORG          \
                                           + NGX_HTTP_STYTCH_MAX_ORGS)
#define NGX_HTTP_STYTCH_ORG_ID_LEN        128
#define NGX_HTTP_STYTCH_MAX_PERMISSIONS   32


/*
 * A document that the workers fetch and share: the JWKS, the project's
 * RBAC policy, or an organization's policy (B2B).  The raw bytes and a
 * generation, with the refresh state.  Guarded by the zone's slab mutex.
 */
typedef struct {
    u_char                     *data;
    size_t                      len;
    ngx_atomic_t                generation;  /* 0: never fetched */
    time_t                      fetched;
    time_t                      next_refresh;
    time_t                      last_fetch;
    time_t                      used;        /* organizations: last asked */
    ngx_uint_t                  failures;
    ngx_atomic_t                wanted;
    ngx_pid_t                   lease_pid;
    time_t                      lease_expires;
    ngx_uint_t                  failing;
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

    ngx_http_stytch_shm_doc_t   docs[NGX_HTTP_STYTCH_NDOCS];

    /* counters */
    ngx_atomic_t                fetches;
    ngx_atomic_t                fetch_failures;
    ngx_atomic_t                local_accepts;
    ngx_atomic_t                local_rejects;
    ngx_atomic_t                cache_hits;
    ngx_atomic_t                api_calls;
    ngx_atomic_t                api_ok;
    ngx_atomic_t                api_rejected;
    ngx_atomic_t                api_forbidden;
    ngx_atomic_t                api_failed;
    ngx_atomic_t                api_cache_hits;
    ngx_atomic_t                api_joins;
} ngx_http_stytch_shm_project_t;


/*
 * An entry of the API-result cache: keyed by SHA-256 of the project, the
 * token and what the location requires, never by the token itself.
 */
typedef struct {
    u_char                      color;
    u_char                      dummy;
    u_short                     len;
    ngx_queue_t                 queue;
    time_t                      expires;
    ngx_uint_t                  status;      /* stytch_status_t */
    u_char                      key[NGX_HTTP_STYTCH_KEY_LEN];
    u_char                      data[1];     /* the identity, serialized */
} ngx_http_stytch_cache_node_t;


typedef struct {
    ngx_uint_t                      nprojects;
    ngx_http_stytch_shm_project_t   projects[NGX_HTTP_STYTCH_MAX_PROJECTS];

    ngx_rbtree_t                    rbtree;
    ngx_rbtree_node_t               sentinel;
    ngx_queue_t                     queue;       /* LRU, newest first */
} ngx_http_stytch_shm_t;


typedef struct ngx_http_stytch_fetch_s  ngx_http_stytch_fetch_t;


/* An organization's policy merged into the project's, in one worker. */
typedef struct {
    ngx_atomic_uint_t           epoch;
    ngx_atomic_uint_t           generation;
    ngx_atomic_uint_t           project_generation;
    stytch_policy_t            *policy;
} ngx_http_stytch_org_policy_t;


/*
 * A Stytch project as the configuration names it: one per distinct
 * (project id, API URL) pair among the protected locations.
 */
typedef struct {
    ngx_uint_t                  index;       /* in the zone */
    ngx_str_t                   project_id;
    ngx_str_t                   api_url;     /* no trailing slash */
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

    /* this worker's state */
    ngx_http_stytch_shm_project_t  *shm;
    stytch_verifier_t          *verifier;
    ngx_atomic_uint_t           generation;  /* of the parsed key set */
    stytch_policy_t            *policy;
    ngx_str_t                   policy_bytes;
    ngx_atomic_uint_t           policy_generation;
    ngx_http_stytch_org_policy_t  orgs[NGX_HTTP_STYTCH_MAX_ORGS];
    ngx_event_t                 timer;
    ngx_http_stytch_fetch_t    *fetch[NGX_HTTP_STYTCH_NDOCS];
    ngx_log_t                  *log;
} ngx_http_stytch_project_t;


typedef struct {
    ngx_http_complex_value_t    resource;
    ngx_http_complex_value_t    action;
} ngx_http_stytch_permission_t;


typedef struct {
    ngx_array_t                *values;      /* ngx_http_complex_value_t */
    ngx_uint_t                  status;      /* 401 or 403 */
} ngx_http_stytch_rule_t;


typedef struct {
    ngx_shm_zone_t             *shm_zone;
    ngx_array_t                 projects;    /* ngx_http_stytch_project_t */
    ngx_flag_t                  zone_set;
} ngx_http_stytch_main_conf_t;


typedef struct {
    ngx_uint_t                  auth;
    ngx_str_t                   project_id;
    ngx_str_t                   secret;
    ngx_str_t                   api_url;
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
    ngx_str_t                   session_cookie; /* empty: not read */
    ngx_uint_t                  unavailable_status;
    time_t                      retry_after;

    ngx_flag_t                  fallback;
    ngx_str_t                   api_location;
    ngx_flag_t                  api_cache;
    time_t                      api_cache_valid;
    time_t                      api_cache_reject;
    ngx_flag_t                  refresh_cookie;
    ngx_str_t                   cookie_attributes;
    ngx_str_t                   basic_auth;     /* "Basic base64(id:secret)" */

    time_t                      policy_refresh;
    ngx_array_t                *permissions;    /* permission_t */
    ngx_http_complex_value_t   *organization;
    ngx_array_t                *rules;          /* rule_t */

    ngx_http_stytch_project_t  *project;
} ngx_http_stytch_loc_conf_t;


typedef struct ngx_http_stytch_flight_s  ngx_http_stytch_flight_t;


/* The outcome of authentication, kept for the request and its redirects. */
typedef struct {
    ngx_http_request_t         *request;
    ngx_http_stytch_project_t  *project;
    stytch_status_t             status;
    stytch_session_t           *session;
    ngx_str_t                   source;      /* jwt, api, cache */

    /* authorization */
    ngx_http_stytch_loc_conf_t *authorized_for;
    uint32_t                    verified;    /* permissions the API granted */
    ngx_int_t                   checking;    /* the one asked about, or -1 */
    ngx_str_t                   check;       /* its authorization_check */

    /* the API fallback */
    ngx_str_t                   token;       /* what is sent to Stytch */
    u_char                      key[NGX_HTTP_STYTCH_KEY_LEN];
    ngx_http_stytch_flight_t   *flight;      /* led or waited for */
    ngx_queue_t                 waiting;     /* in flight->waiters */

    unsigned                    done:1;
    unsigned                    api:1;       /* waiting for the API */
    unsigned                    leader:1;
    unsigned                    jwt:1;       /* token is a JWT */
    unsigned                    from_cookie:1;
    unsigned                    jwt_from_cookie:1;
    unsigned                    cookies_set:1;
} ngx_http_stytch_ctx_t;


extern ngx_module_t  ngx_http_stytch_module;


ngx_int_t ngx_http_stytch_handler(ngx_http_request_t *r);
ngx_http_stytch_ctx_t *ngx_http_stytch_get_ctx(ngx_http_request_t *r);
ngx_table_elt_t *ngx_http_stytch_add_header(ngx_http_request_t *r,
    const char *name, ngx_str_t *value);
void ngx_http_stytch_verifier_conf(ngx_http_stytch_project_t *project,
    stytch_verifier_conf_t *vc, ngx_log_t *log);

ngx_int_t ngx_http_stytch_add_variables(ngx_conf_t *cf);

ngx_int_t ngx_http_stytch_api(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx);
void ngx_http_stytch_api_cleanup(ngx_http_stytch_ctx_t *ctx);
void ngx_http_stytch_set_session(ngx_http_stytch_ctx_t *ctx,
    stytch_session_t *session);
ngx_int_t ngx_http_stytch_authorize(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx,
    ngx_uint_t *status);
void ngx_http_stytch_cache_init(ngx_http_stytch_shm_t *sh);
ngx_int_t ngx_http_stytch_api_init(ngx_conf_t *cf);
void ngx_http_stytch_api_exit(void);
ngx_int_t ngx_http_stytch_set_cookies(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx);
char *ngx_http_stytch_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

ngx_int_t ngx_http_stytch_init_zone(ngx_shm_zone_t *shm_zone, void *data);
ngx_int_t ngx_http_stytch_zone_attach(ngx_http_stytch_main_conf_t *smcf,
    ngx_log_t *log);
ngx_int_t ngx_http_stytch_zone_publish(ngx_shm_zone_t *shm_zone,
    ngx_http_stytch_shm_doc_t *doc, ngx_atomic_uint_t epoch, u_char *data,
    size_t len);
ngx_int_t ngx_http_stytch_load_keys(ngx_http_stytch_project_t *project,
    ngx_shm_zone_t *shm_zone);
stytch_policy_t *ngx_http_stytch_policy(ngx_http_stytch_project_t *project,
    ngx_shm_zone_t *shm_zone, ngx_str_t *org_id);

ngx_int_t ngx_http_stytch_init_refresh(ngx_cycle_t *cycle,
    ngx_http_stytch_main_conf_t *smcf);
void ngx_http_stytch_exit_refresh(ngx_cycle_t *cycle,
    ngx_http_stytch_main_conf_t *smcf);
void ngx_http_stytch_want_refresh(ngx_http_stytch_project_t *project,
    ngx_uint_t doc);

void ngx_http_stytch_core_log(void *ctx, int level, const char *msg,
    size_t len);


#endif /* _NGX_HTTP_STYTCH_MODULE_H_INCLUDED_ */
