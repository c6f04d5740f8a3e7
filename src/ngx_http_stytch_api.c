
/*
 * ngx_http_stytch_module: the Stytch API fallback.
 *
 * Expired, too old or unknown-key JWTs and opaque session tokens are sent
 * to POST /v1[/b2b]/sessions/authenticate through a subrequest to the
 * location that stytch_api_location names, so that the call gets NGINX's
 * upstream keepalive, TLS, resolver, timeouts and logs.  Three things keep
 * the number of calls down:
 *
 *   - an API-result cache in the shared zone, keyed by SHA-256 of the
 *     project, the token and what the location requires;
 *   - one call in flight per key in each worker: the other requests with
 *     the same key wait for its answer ("single flight");
 *   - nothing that the API cannot fix (a bad signature, a malformed token)
 *     is ever sent.
 */


#include "ngx_http_stytch_module.h"

#include <openssl/err.h>
#include <openssl/evp.h>


#define NGX_HTTP_STYTCH_MAX_CACHED   8192
#define NGX_HTTP_STYTCH_MEMO_SIZE    1024


/*
 * This worker's copies of recent entries of the shared API-result cache,
 * already deserialized: a hit in the zone costs a lock and a JSON parse,
 * a hit here neither.  An entry lives no longer than the zone's.
 */
typedef struct {
    u_char                      key[NGX_HTTP_STYTCH_KEY_LEN];
    time_t                      expires;
    stytch_status_t             status;
    stytch_session_t           *session;
} ngx_http_stytch_memo_t;


/* What the API answered, gathered by the body filter. */
typedef struct {
    u_char                     *data;
    size_t                      len;
    size_t                      size;
    unsigned                    overflow:1;
} ngx_http_stytch_api_body_t;


struct ngx_http_stytch_flight_s {
    ngx_rbtree_node_t           node;
    u_char                      key[NGX_HTTP_STYTCH_KEY_LEN];
    ngx_http_stytch_ctx_t      *leader;
    ngx_queue_t                 waiters;
};


static ngx_uint_t ngx_http_stytch_token_is_safe(ngx_str_t *token);
static ngx_int_t ngx_http_stytch_api_key(ngx_http_request_t *r,
    ngx_http_stytch_ctx_t *ctx);
static ngx_int_t ngx_http_stytch_subrequest(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx);
static ngx_table_elt_t *ngx_http_stytch_add_input_header(
    ngx_http_request_t *sr, const char *name, const char *lowcase,
    ngx_str_t *value);
static ngx_int_t ngx_http_stytch_api_done(ngx_http_request_t *r, void *data,
    ngx_int_t rc);
static void ngx_http_stytch_land(ngx_http_stytch_flight_t *flight,
    stytch_status_t status, stytch_session_t *session, ngx_uint_t retry);
static void ngx_http_stytch_wake(ngx_http_request_t *r);
static ngx_http_stytch_flight_t *ngx_http_stytch_flight_find(u_char *key);
static ngx_int_t ngx_http_stytch_cache_get(ngx_shm_zone_t *shm_zone,
    ngx_http_stytch_ctx_t *ctx);
static void ngx_http_stytch_cache_put(ngx_shm_zone_t *shm_zone,
    ngx_http_stytch_loc_conf_t *slcf, u_char *key, stytch_status_t status,
    stytch_session_t *session);
static ngx_http_stytch_cache_node_t *ngx_http_stytch_cache_lookup(
    ngx_http_stytch_shm_t *sh, u_char *key);
static void ngx_http_stytch_cache_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_http_stytch_memo_t *ngx_http_stytch_memo_slot(u_char *key);
static void ngx_http_stytch_memo_put(u_char *key, time_t expires,
    stytch_status_t status, stytch_session_t *session);


static ngx_rbtree_t        ngx_http_stytch_flights;
static ngx_rbtree_node_t   ngx_http_stytch_flights_sentinel;

static ngx_http_output_body_filter_pt  ngx_http_next_body_filter;

static ngx_http_stytch_memo_t  ngx_http_stytch_memo[NGX_HTTP_STYTCH_MEMO_SIZE];


/*
 * Asks the API about ctx->token.  NGX_OK: ctx->status holds the answer
 * (from the cache).  NGX_AGAIN: the request waits for a subrequest, its
 * own or another request's.
 */

ngx_int_t
ngx_http_stytch_api(ngx_http_request_t *r, ngx_http_stytch_loc_conf_t *slcf,
    ngx_http_stytch_ctx_t *ctx)
{
    ngx_http_stytch_flight_t     *flight;
    ngx_http_stytch_main_conf_t  *smcf;

    smcf = ngx_http_get_module_main_conf(r, ngx_http_stytch_module);

    if (!ngx_http_stytch_token_is_safe(&ctx->token)) {
        ctx->status = STYTCH_TOKEN_MALFORMED;
        ctx->done = 1;
        return NGX_OK;
    }

    if (ngx_http_stytch_api_key(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    if (slcf->api_cache
        && ngx_http_stytch_cache_get(smcf->shm_zone, ctx) == NGX_OK)
    {
        (void) ngx_atomic_fetch_add(&ctx->project->shm->api_cache_hits, 1);
        ngx_str_set(&ctx->source, "cache");
        ctx->done = 1;
        return NGX_OK;
    }

    if (ngx_http_stytch_flights.root == NULL) {
        ngx_rbtree_init(&ngx_http_stytch_flights,
                        &ngx_http_stytch_flights_sentinel,
                        ngx_rbtree_insert_value);
    }

    flight = ngx_http_stytch_flight_find(ctx->key);

    if (flight) {
        /* the same token is being asked about: wait for that answer */
        (void) ngx_atomic_fetch_add(&ctx->project->shm->api_joins, 1);

        ngx_queue_insert_tail(&flight->waiters, &ctx->waiting);
        ctx->flight = flight;
        ctx->api = 1;

        r->read_event_handler = ngx_http_test_reading;
        r->write_event_handler = ngx_http_request_empty_handler;

        return NGX_AGAIN;
    }

    flight = ngx_alloc(sizeof(ngx_http_stytch_flight_t), r->connection->log);
    if (flight == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(flight->key, ctx->key, NGX_HTTP_STYTCH_KEY_LEN);
    ngx_memcpy(&flight->node.key, ctx->key, sizeof(ngx_rbtree_key_t));
    flight->leader = ctx;
    ngx_queue_init(&flight->waiters);

    ngx_rbtree_insert(&ngx_http_stytch_flights, &flight->node);

    ctx->flight = flight;
    ctx->leader = 1;
    ctx->api = 1;

    if (ngx_http_stytch_subrequest(r, slcf, ctx) != NGX_OK) {
        ngx_http_stytch_land(flight, STYTCH_INTERNAL_ERROR, NULL, 0);
        return NGX_ERROR;
    }

    (void) ngx_atomic_fetch_add(&ctx->project->shm->api_calls, 1);

    return NGX_AGAIN;
}


/*
 * A token goes into a JSON body: Stytch's tokens are base64url with dots,
 * and anything else is refused before it reaches the API.
 */

static ngx_uint_t
ngx_http_stytch_token_is_safe(ngx_str_t *token)
{
    u_char  *p, *last;

    if (token->len == 0 || token->len > STYTCH_MAX_TOKEN_SIZE) {
        return 0;
    }

    last = token->data + token->len;

    for (p = token->data; p < last; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'
              || *p == '.'))
        {
            return 0;
        }
    }

    return 1;
}


/*
 * The key names the project by its id and API URL, as the zone does, not
 * by its place in the configuration, which a reload may change.
 */

static ngx_int_t
ngx_http_stytch_api_key(ngx_http_request_t *r, ngx_http_stytch_ctx_t *ctx)
{
    u_char                      kind;
    unsigned                    len;
    EVP_MD_CTX                 *md;
    ngx_http_stytch_project_t  *project;

    md = EVP_MD_CTX_new();
    if (md == NULL) {
        return NGX_ERROR;
    }

    project = ctx->project;
    kind = ctx->jwt ? 'j' : 't';

    if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1
        || EVP_DigestUpdate(md, project->shm->key, project->shm->key_len)
           != 1
        || EVP_DigestUpdate(md, &kind, 1) != 1
        || EVP_DigestUpdate(md, ctx->token.data, ctx->token.len) != 1
        || EVP_DigestUpdate(md, ctx->check.data, ctx->check.len) != 1
        || EVP_DigestFinal_ex(md, ctx->key, &len) != 1)
    {
        EVP_MD_CTX_free(md);
        ERR_clear_error();
        return NGX_ERROR;
    }

    EVP_MD_CTX_free(md);

    return NGX_OK;
}


/*
 * The subrequest carries nothing of the client's request: its headers are
 * replaced by the three that Stytch needs, and its body is ours.
 */

static ngx_int_t
ngx_http_stytch_subrequest(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx)
{
    size_t                       len;
    ngx_buf_t                   *b;
    ngx_str_t                    uri, length;
    ngx_chain_t                 *cl;
    ngx_http_request_t          *sr;
    ngx_http_request_body_t     *rb;
    ngx_http_post_subrequest_t  *ps;
    ngx_http_stytch_api_body_t  *body;

    static ngx_str_t  post = ngx_string("POST");
    static ngx_str_t  json = ngx_string("application/json");

    uri.len = slcf->api_location.len
              + sizeof("/v1/b2b/sessions/authenticate") - 1;
    uri.data = ngx_pnalloc(r->pool, uri.len);
    if (uri.data == NULL) {
        return NGX_ERROR;
    }

    uri.len = ngx_sprintf(uri.data, "%V%s", &slcf->api_location,
                          ctx->project->b2b
                          ? "/v1/b2b/sessions/authenticate"
                          : "/v1/sessions/authenticate")
              - uri.data;

    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));
    if (ps == NULL) {
        return NGX_ERROR;
    }

    ps->handler = ngx_http_stytch_api_done;
    ps->data = ctx;

    /*
     * Not NGX_HTTP_SUBREQUEST_IN_MEMORY: a response over its buffer ends
     * the subrequest in NGX_ERROR, which terminates the client's request
     * too.  The body filter below reads the answer instead, up to a limit.
     */
    if (ngx_http_subrequest(r, &uri, NULL, &sr, ps,
                            NGX_HTTP_SUBREQUEST_WAITED)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    body = ngx_pcalloc(r->pool, sizeof(ngx_http_stytch_api_body_t));
    if (body == NULL) {
        return NGX_ERROR;
    }

    ngx_http_set_ctx(sr, body, ngx_http_stytch_module);

    /* the token was checked to hold only base64url characters and '.' */

    len = sizeof("{\"session_token\":\"\"}") - 1 + ctx->token.len
          + ctx->check.len;

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->last = ngx_sprintf(b->pos, "{\"%s\":\"%V\"%V}",
                          ctx->jwt ? "session_jwt" : "session_token",
                          &ctx->token, &ctx->check);
    b->last_buf = 1;
    b->last_in_chain = 1;

    cl = ngx_alloc_chain_link(r->pool);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    cl->buf = b;
    cl->next = NULL;

    rb = ngx_pcalloc(r->pool, sizeof(ngx_http_request_body_t));
    if (rb == NULL) {
        return NGX_ERROR;
    }

    rb->bufs = cl;
    sr->request_body = rb;

    ngx_memzero(&sr->headers_in, sizeof(ngx_http_headers_in_t));

    if (ngx_list_init(&sr->headers_in.headers, r->pool, 4,
                      sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

#if (nginx_version < 1023000)
    if (ngx_array_init(&sr->headers_in.cookies, r->pool, 1,
                       sizeof(ngx_table_elt_t *))
        != NGX_OK)
    {
        return NGX_ERROR;
    }
#endif

    sr->headers_in.content_length_n = b->last - b->pos;
    sr->headers_in.keep_alive_n = -1;

    sr->headers_in.content_type =
        ngx_http_stytch_add_input_header(sr, "Content-Type", "content-type",
                                         &json);

    length.data = ngx_pnalloc(r->pool, NGX_OFF_T_LEN);
    if (length.data == NULL) {
        return NGX_ERROR;
    }

    length.len = ngx_sprintf(length.data, "%O",
                             sr->headers_in.content_length_n)
                 - length.data;

    sr->headers_in.content_length =
        ngx_http_stytch_add_input_header(sr, "Content-Length",
                                         "content-length", &length);

    sr->headers_in.authorization =
        ngx_http_stytch_add_input_header(sr, "Authorization", "authorization",
                                         &slcf->basic_auth);

    if (sr->headers_in.content_type == NULL
        || sr->headers_in.content_length == NULL
        || sr->headers_in.authorization == NULL)
    {
        return NGX_ERROR;
    }

    sr->method = NGX_HTTP_POST;
    sr->method_name = post;
    sr->header_only = 0;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "stytch: asking the API through \"%V\"", &uri);

    return NGX_OK;
}


static ngx_table_elt_t *
ngx_http_stytch_add_input_header(ngx_http_request_t *sr, const char *name,
    const char *lowcase, ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&sr->headers_in.headers);
    if (h == NULL) {
        return NULL;
    }

    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->lowcase_key = (u_char *) lowcase;
    h->hash = ngx_hash_key(h->lowcase_key, h->key.len);
    h->value = *value;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    return h;
}


static ngx_int_t
ngx_http_stytch_api_done(ngx_http_request_t *r, void *data, ngx_int_t rc)
{
    ngx_http_stytch_ctx_t  *ctx = data;

    ngx_uint_t                     status;
    stytch_status_t                result;
    stytch_session_t              *session;
    stytch_api_error_t             error;
    ngx_http_stytch_flight_t      *flight;
    ngx_http_stytch_api_body_t    *body;
    ngx_http_stytch_loc_conf_t    *slcf;
    ngx_http_stytch_main_conf_t   *smcf;
    ngx_http_stytch_shm_project_t *sp;

    flight = ctx->flight;

    if (flight == NULL || !ctx->leader || rc == NGX_AGAIN) {
        /* answered already, or not finished */
        return rc;
    }

    status = r->headers_out.status;
    sp = ctx->project->shm;
    session = NULL;

    body = ngx_http_get_module_ctx(r, ngx_http_stytch_module);

    if (r->upstream == NULL && rc != NGX_ERROR) {
        /* the location answered by itself: it is not the API */
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "stytch: \"%V\" did not reach an upstream: "
                      "\"stytch_api_location\" must name a location with "
                      "\"proxy_pass\" to the Stytch API", &r->uri);
        result = STYTCH_INTERNAL_ERROR;

    } else if (rc == NGX_ERROR || status == 0 || body == NULL
               || (rc >= NGX_HTTP_SPECIAL_RESPONSE && body->len == 0))
    {
        /* connection refused, timeout ... */
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "stytch: the API call through \"%V\" failed "
                      "(status %ui)", &r->uri, rc > 0 ? (ngx_uint_t) rc
                                                      : status);
        result = STYTCH_API_UNAVAILABLE;

    } else if (body->overflow) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "stytch: the API answered %ui with more than %uz "
                      "bytes", status, (size_t) NGX_HTTP_STYTCH_MAX_API_BODY);
        result = STYTCH_API_RESPONSE_INVALID;

    } else {
        ngx_memzero(&error, sizeof(stytch_api_error_t));

        result = stytch_api_parse_authenticate(status, (char *) body->data,
                                               body->len, &session, &error);

        if (result == STYTCH_API_UNAUTHORIZED) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "stytch: the API refused the project's credentials "
                          "(%s): check \"stytch_project_id\" and "
                          "\"stytch_secret\"",
                          error.error_type[0] ? error.error_type
                                              : "unauthorized_credentials");

        } else if (result == STYTCH_API_UNAVAILABLE
                   || result == STYTCH_API_RESPONSE_INVALID)
        {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "stytch: the API answered %ui: %s%s%s", status,
                          stytch_status_name(result),
                          error.error_type[0] ? ", " : "",
                          error.error_type);

        } else if (result != STYTCH_OK) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "stytch: the API answered %ui: %s", status,
                          error.error_type[0] ? error.error_type
                                              : stytch_status_name(result));
        }
    }

    switch (stytch_status_action(result)) {
    case STYTCH_ACTION_ALLOW:
        (void) ngx_atomic_fetch_add(&sp->api_ok, 1);
        break;
    case STYTCH_ACTION_UNAUTHORIZED:
        (void) ngx_atomic_fetch_add(&sp->api_rejected, 1);
        break;
    case STYTCH_ACTION_FORBIDDEN:
        (void) ngx_atomic_fetch_add(&sp->api_forbidden, 1);
        break;
    default:
        (void) ngx_atomic_fetch_add(&sp->api_failed, 1);
        break;
    }

    slcf = ngx_http_get_module_loc_conf(r->main, ngx_http_stytch_module);
    smcf = ngx_http_get_module_main_conf(r->main, ngx_http_stytch_module);

    if (slcf->api_cache) {
        ngx_http_stytch_cache_put(smcf->shm_zone, slcf, flight->key, result,
                                  session);
    }

    ngx_http_stytch_land(flight, result, session, 0);

    if (session) {
        stytch_session_release(session);
    }

    /* the failure is the answer: NGINX need not make an error page */
    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return NGX_OK;
    }

    return rc;
}


/*
 * The answer for a key: to its leader and to every request that waited for
 * it.  With retry, there is no answer (the leader went away): the waiters
 * ask again, and one of them leads.
 */

static void
ngx_http_stytch_land(ngx_http_stytch_flight_t *flight, stytch_status_t status,
    stytch_session_t *session, ngx_uint_t retry)
{
    ngx_queue_t            *q;
    ngx_http_stytch_ctx_t  *ctx;

    ngx_rbtree_delete(&ngx_http_stytch_flights, &flight->node);

    ctx = flight->leader;

    if (ctx) {
        ctx->flight = NULL;
        ctx->leader = 0;
        ctx->api = 0;
        ctx->status = status;
        ngx_http_stytch_set_session(ctx, session);
        ngx_str_set(&ctx->source, "api");
        ctx->done = 1;
    }

    while (!ngx_queue_empty(&flight->waiters)) {
        q = ngx_queue_head(&flight->waiters);
        ngx_queue_remove(q);

        ctx = ngx_queue_data(q, ngx_http_stytch_ctx_t, waiting);

        ctx->flight = NULL;
        ctx->api = 0;

        if (!retry) {
            ctx->status = status;
            ngx_http_stytch_set_session(ctx, session);
            ngx_str_set(&ctx->source, "api");
            ctx->done = 1;
        }

        ngx_http_stytch_wake(ctx->request);
    }

    ngx_free(flight);
}


void
ngx_http_stytch_set_session(ngx_http_stytch_ctx_t *ctx,
    stytch_session_t *session)
{
    if (ctx->session) {
        stytch_session_release(ctx->session);
    }

    ctx->session = session ? stytch_session_retain(session) : NULL;
}


static void
ngx_http_stytch_wake(ngx_http_request_t *r)
{
    r->write_event_handler = ngx_http_core_run_phases;

    ngx_post_event(r->connection->write, &ngx_posted_events);
}


/* The request goes away: it must not be woken, nor leave its waiters. */

void
ngx_http_stytch_api_cleanup(ngx_http_stytch_ctx_t *ctx)
{
    ngx_http_stytch_flight_t  *flight;

    flight = ctx->flight;

    if (flight == NULL) {
        return;
    }

    ctx->flight = NULL;

    if (!ctx->leader) {
        ngx_queue_remove(&ctx->waiting);
        return;
    }

    flight->leader = NULL;
    ngx_http_stytch_land(flight, STYTCH_INTERNAL_ERROR, NULL, 1);
}


static ngx_http_stytch_flight_t *
ngx_http_stytch_flight_find(u_char *key)
{
    ngx_rbtree_key_t           k;
    ngx_rbtree_node_t         *node, *sentinel;
    ngx_http_stytch_flight_t  *flight;

    ngx_memcpy(&k, key, sizeof(ngx_rbtree_key_t));

    node = ngx_http_stytch_flights.root;
    sentinel = ngx_http_stytch_flights.sentinel;

    while (node != sentinel) {

        if (k < node->key) {
            node = node->left;
            continue;
        }

        if (k > node->key) {
            node = node->right;
            continue;
        }

        flight = (ngx_http_stytch_flight_t *) node;

        if (ngx_memcmp(flight->key, key, NGX_HTTP_STYTCH_KEY_LEN) == 0) {
            return flight;
        }

        /* same first bytes, another key: rare; ngx_rbtree_insert_value
         * puts equal keys to the right */
        node = node->right;
    }

    return NULL;
}


/*
 * Gathers the API's answer in memory, up to a limit, and keeps it from the
 * client: nothing of a Stytch subrequest goes further down the chain.
 */

static ngx_int_t
ngx_http_stytch_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    u_char                      *p;
    size_t                       n, size;
    ngx_buf_t                   *b;
    ngx_chain_t                 *cl;
    ngx_http_stytch_api_body_t  *body;

    if (r == r->main || r->post_subrequest == NULL
        || r->post_subrequest->handler != ngx_http_stytch_api_done)
    {
        return ngx_http_next_body_filter(r, in);
    }

    body = ngx_http_get_module_ctx(r, ngx_http_stytch_module);

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        if (!ngx_buf_in_memory(b)) {
            if (ngx_buf_size(b)) {
                body->overflow = 1;
            }

            b->file_pos = b->file_last;
            continue;
        }

        n = b->last - b->pos;

        if (body->overflow || n == 0) {
            b->pos = b->last;
            continue;
        }

        if (body->len + n > NGX_HTTP_STYTCH_MAX_API_BODY) {
            body->overflow = 1;
            b->pos = b->last;
            continue;
        }

        if (body->len + n > body->size) {
            size = ngx_max(body->size * 2, body->len + n);
            size = ngx_max(size, 4096);
            size = ngx_min(size, NGX_HTTP_STYTCH_MAX_API_BODY);

            p = ngx_pnalloc(r->pool, size);
            if (p == NULL) {
                return NGX_ERROR;
            }

            if (body->len) {
                ngx_memcpy(p, body->data, body->len);
            }

            body->data = p;
            body->size = size;
        }

        body->len = ngx_cpymem(body->data + body->len, b->pos, n)
                    - body->data;
        b->pos = b->last;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_stytch_api_init(ngx_conf_t *cf)
{
    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_stytch_body_filter;

    return NGX_OK;
}


/* The API-result cache in the shared zone, made like limit_req's. */

static ngx_int_t
ngx_http_stytch_cache_get(ngx_shm_zone_t *shm_zone, ngx_http_stytch_ctx_t *ctx)
{
    u_char                        *copy;
    size_t                         len;
    time_t                         expires;
    stytch_status_t                status;
    stytch_session_t              *session;
    ngx_slab_pool_t               *shpool;
    ngx_http_stytch_shm_t         *sh;
    ngx_http_stytch_memo_t        *memo;
    ngx_http_stytch_cache_node_t  *cn;

    memo = ngx_http_stytch_memo_slot(ctx->key);

    if (memo->expires > ngx_time()
        && ngx_memcmp(memo->key, ctx->key, NGX_HTTP_STYTCH_KEY_LEN) == 0)
    {
        ngx_http_stytch_set_session(ctx, memo->session);
        ctx->status = memo->status;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;
    sh = shpool->data;

    copy = NULL;
    len = 0;

    ngx_shmtx_lock(&shpool->mutex);

    cn = ngx_http_stytch_cache_lookup(sh, ctx->key);

    if (cn == NULL || cn->expires <= ngx_time()) {
        ngx_shmtx_unlock(&shpool->mutex);
        return NGX_DECLINED;
    }

    ngx_queue_remove(&cn->queue);
    ngx_queue_insert_head(&sh->queue, &cn->queue);

    status = (stytch_status_t) cn->status;
    expires = cn->expires;

    if (cn->len) {
        copy = ngx_alloc(cn->len, ctx->request->connection->log);
        if (copy) {
            len = cn->len;
            ngx_memcpy(copy, cn->data, len);
        }
    }

    ngx_shmtx_unlock(&shpool->mutex);

    session = NULL;

    if (status == STYTCH_OK) {
        if (copy == NULL) {
            return NGX_DECLINED;
        }

        if (stytch_session_deserialize((char *) copy, len, &session)
            != STYTCH_OK)
        {
            ngx_free(copy);
            return NGX_DECLINED;
        }
    }

    ngx_http_stytch_set_session(ctx, session);
    ngx_http_stytch_memo_put(ctx->key, expires, status, session);

    if (session) {
        stytch_session_release(session);
    }

    if (copy) {
        ngx_free(copy);
    }

    ctx->status = status;

    return NGX_OK;
}


static void
ngx_http_stytch_cache_put(ngx_shm_zone_t *shm_zone,
    ngx_http_stytch_loc_conf_t *slcf, u_char *key, stytch_status_t status,
    stytch_session_t *session)
{
    char                          *data;
    size_t                         len, n;
    time_t                         ttl, now, expires;
    ngx_queue_t                   *q;
    ngx_slab_pool_t               *shpool;
    ngx_rbtree_node_t             *node;
    ngx_http_stytch_shm_t         *sh;
    ngx_http_stytch_cache_node_t  *cn;

    now = ngx_time();
    data = NULL;
    len = 0;

    switch (stytch_status_action(status)) {

    case STYTCH_ACTION_ALLOW:
        if (session == NULL) {
            return;
        }

        ttl = slcf->api_cache_valid;

        /* never past the session's own end */
        expires = stytch_session_expires_at(session);

        if (expires && expires - now < ttl) {
            ttl = expires - now;
        }

        if (ttl <= 0) {
            return;
        }

        n = stytch_session_serialize(session, NULL, 0);

        if (n == 0 || n > NGX_HTTP_STYTCH_MAX_CACHED) {
            return;
        }

        data = ngx_alloc(n, ngx_cycle->log);
        if (data == NULL) {
            return;
        }

        len = stytch_session_serialize(session, data, n);

        if (len != n) {
            ngx_free(data);
            return;
        }

        break;

    case STYTCH_ACTION_UNAUTHORIZED:
    case STYTCH_ACTION_FORBIDDEN:
        ttl = slcf->api_cache_reject;
        break;

    default:
        /* outages are not remembered: the next request may succeed */
        return;
    }

    if (ttl <= 0) {
        if (data) {
            ngx_free(data);
        }
        return;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;
    sh = shpool->data;

    n = offsetof(ngx_rbtree_node_t, color)
        + offsetof(ngx_http_stytch_cache_node_t, data) + len;

    ngx_shmtx_lock(&shpool->mutex);

    cn = ngx_http_stytch_cache_lookup(sh, key);

    if (cn) {
        node = (ngx_rbtree_node_t *)
                   ((u_char *) cn - offsetof(ngx_rbtree_node_t, color));
        ngx_queue_remove(&cn->queue);
        ngx_rbtree_delete(&sh->rbtree, node);
        ngx_slab_free_locked(shpool, node);
    }

    node = ngx_slab_alloc_locked(shpool, n);

    /* a full zone loses its least recently used answers */
    while (node == NULL && !ngx_queue_empty(&sh->queue)) {
        q = ngx_queue_last(&sh->queue);
        ngx_queue_remove(q);

        cn = ngx_queue_data(q, ngx_http_stytch_cache_node_t, queue);
        node = (ngx_rbtree_node_t *)
                   ((u_char *) cn - offsetof(ngx_rbtree_node_t, color));

        ngx_rbtree_delete(&sh->rbtree, node);
        ngx_slab_free_locked(shpool, node);

        node = ngx_slab_alloc_locked(shpool, n);
    }

    if (node == NULL) {
        ngx_shmtx_unlock(&shpool->mutex);

        if (data) {
            ngx_free(data);
        }

        return;
    }

    cn = (ngx_http_stytch_cache_node_t *) &node->color;

    ngx_memcpy(&node->key, key, sizeof(ngx_rbtree_key_t));
    ngx_memcpy(cn->key, key, NGX_HTTP_STYTCH_KEY_LEN);
    cn->len = (u_short) len;
    cn->status = status;
    cn->expires = now + ttl;

    if (len) {
        ngx_memcpy(cn->data, data, len);
    }

    ngx_rbtree_insert(&sh->rbtree, node);
    ngx_queue_insert_head(&sh->queue, &cn->queue);

    ngx_shmtx_unlock(&shpool->mutex);

    ngx_http_stytch_memo_put(key, now + ttl, status, session);

    if (data) {
        ngx_free(data);
    }
}


static ngx_http_stytch_memo_t *
ngx_http_stytch_memo_slot(u_char *key)
{
    ngx_uint_t  i;

    /* the key is a SHA-256: any of its bytes are uniform */
    i = ((ngx_uint_t) key[0] | (ngx_uint_t) key[1] << 8)
        % NGX_HTTP_STYTCH_MEMO_SIZE;

    return &ngx_http_stytch_memo[i];
}


static void
ngx_http_stytch_memo_put(u_char *key, time_t expires, stytch_status_t status,
    stytch_session_t *session)
{
    ngx_http_stytch_memo_t  *memo;

    memo = ngx_http_stytch_memo_slot(key);

    if (memo->session) {
        stytch_session_release(memo->session);
    }

    ngx_memcpy(memo->key, key, NGX_HTTP_STYTCH_KEY_LEN);
    memo->expires = expires;
    memo->status = status;
    memo->session = session ? stytch_session_retain(session) : NULL;
}


void
ngx_http_stytch_api_exit(void)
{
    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_STYTCH_MEMO_SIZE; i++) {
        if (ngx_http_stytch_memo[i].session) {
            stytch_session_release(ngx_http_stytch_memo[i].session);
            ngx_http_stytch_memo[i].session = NULL;
        }

        ngx_http_stytch_memo[i].expires = 0;
    }
}


static ngx_http_stytch_cache_node_t *
ngx_http_stytch_cache_lookup(ngx_http_stytch_shm_t *sh, u_char *key)
{
    ngx_int_t                      rc;
    ngx_rbtree_key_t               k;
    ngx_rbtree_node_t             *node, *sentinel;
    ngx_http_stytch_cache_node_t  *cn;

    ngx_memcpy(&k, key, sizeof(ngx_rbtree_key_t));

    node = sh->rbtree.root;
    sentinel = sh->rbtree.sentinel;

    while (node != sentinel) {

        if (k < node->key) {
            node = node->left;
            continue;
        }

        if (k > node->key) {
            node = node->right;
            continue;
        }

        cn = (ngx_http_stytch_cache_node_t *) &node->color;

        rc = ngx_memcmp(key, cn->key, NGX_HTTP_STYTCH_KEY_LEN);

        if (rc == 0) {
            return cn;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


static void
ngx_http_stytch_cache_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t             **p;
    ngx_http_stytch_cache_node_t   *cn, *cnt;

    for ( ;; ) {

        if (node->key < temp->key) {
            p = &temp->left;

        } else if (node->key > temp->key) {
            p = &temp->right;

        } else {
            cn = (ngx_http_stytch_cache_node_t *) &node->color;
            cnt = (ngx_http_stytch_cache_node_t *) &temp->color;

            p = (ngx_memcmp(cn->key, cnt->key, NGX_HTTP_STYTCH_KEY_LEN) < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


void
ngx_http_stytch_cache_init(ngx_http_stytch_shm_t *sh)
{
    ngx_rbtree_init(&sh->rbtree, &sh->sentinel,
                    ngx_http_stytch_cache_insert_value);
    ngx_queue_init(&sh->queue);
}


/*
 * The refreshed JWT goes back to the browser, with the attributes that
 * Stytch's frontend SDK gives its cookies.
 */

ngx_int_t
ngx_http_stytch_set_cookies(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx)
{
    size_t            len, n;
    u_char           *p;
    time_t            expires;
    ngx_str_t         value, cookie, *name;
    ngx_uint_t        i, secure;
    const char       *v;
    stytch_field_t    fields[2] = { STYTCH_FIELD_SESSION_JWT,
                                    STYTCH_FIELD_SESSION_TOKEN };

    if (!slcf->refresh_cookie || ctx->session == NULL) {
        return NGX_OK;
    }

    expires = stytch_session_expires_at(ctx->session);

#if (NGX_HTTP_SSL)
    secure = (r->connection->ssl != NULL);
#else
    secure = 0;
#endif

    for (i = 0; i < 2; i++) {

        name = (i == 0) ? &slcf->jwt_cookie : &slcf->session_cookie;

        if (name->len == 0) {
            continue;
        }

        v = stytch_session_field(ctx->session, fields[i], &n);

        if (n == 0) {
            continue;
        }

        /*
         * The session token cookie only replaces one that the client sent
         * and that changed: a client that holds only the short-lived JWT
         * is not handed the long-lived token.
         */
        if (i == 1
            && (ctx->jwt
                || (ctx->token.len == n
                    && ngx_strncmp(ctx->token.data, v, n) == 0)))
        {
            continue;
        }

        value.data = (u_char *) v;
        value.len = n;

        len = name->len + 1 + value.len + 2 + slcf->cookie_attributes.len
              + sizeof("; Expires=Mon, 28 Sep 1970 06:00:00 GMT")
              + sizeof("; Secure") - 1;

        p = ngx_pnalloc(r->pool, len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        cookie.data = p;

        p = ngx_sprintf(p, "%V=%V", name, &value);

        if (slcf->cookie_attributes.len) {
            p = ngx_sprintf(p, "; %V", &slcf->cookie_attributes);
        }

        if (expires > 0) {
            p = ngx_cpymem(p, "; Expires=", sizeof("; Expires=") - 1);
            p = ngx_http_time(p, expires);
        }

        if (secure) {
            p = ngx_cpymem(p, "; Secure", sizeof("; Secure") - 1);
        }

        cookie.len = p - cookie.data;

        if (ngx_http_stytch_add_header(r, "Set-Cookie", &cookie) == NULL) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}
