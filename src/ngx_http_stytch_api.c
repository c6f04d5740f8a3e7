
/*
 * ngx_http_stytch_module: asking the Stytch API.
 *
 * A question (a token, and what is asked about it) is answered from the
 * API-result cache, or by the call in flight for the same question in this
 * worker ("single flight"), or by a new call: a subrequest
 * POST /v1[/b2b]/sessions/authenticate to the location that
 * stytch_api_location names, so that the call gets NGINX's upstream
 * keepalive, TLS, resolver, timeouts and logs.
 *
 * A call ("flight") is shared by the requests that wait for it.  Its
 * completion only records what Stytch answered, remembers it in the cache
 * and wakes the waiting requests; each request's handler then takes the
 * answer.  A call ends at the latest at its deadline, or as soon as its
 * answer is over the size limit.  When the request that made the call
 * goes away before the answer, the others find the flight orphaned and
 * ask again.
 */


#include "ngx_http_stytch_module.h"

#include <openssl/err.h>
#include <openssl/evp.h>


typedef struct {
    u_char                     *data;
    size_t                      len;
    size_t                      size;
} ngx_http_stytch_api_body_t;


struct ngx_http_stytch_flight_s {
    ngx_rbtree_node_t           node;
    u_char                      key[NGX_HTTP_STYTCH_KEY_LEN];
    ngx_queue_t                 waiters;     /* ctx->waiting */
    ngx_uint_t                  refs;        /* the waiters and the leader */
    ngx_http_request_t         *sr;          /* while the call runs */
    ngx_http_stytch_project_t  *project;
    ngx_shm_zone_t             *cache;       /* NULL: no cache */
    time_t                      valid;
    time_t                      reject_valid;
    ngx_msec_t                  deadline_ms;
    ngx_msec_t                  started;
    ngx_event_t                 deadline;
    ngx_http_stytch_api_body_t  body;
    ngx_http_stytch_answer_t    answer;

    unsigned                    in_tree:1;
    unsigned                    landed:1;
    unsigned                    orphaned:1;
    unsigned                    ended:1;     /* the completion ran */
};


static ngx_int_t ngx_http_stytch_api_key(ngx_http_stytch_project_t *project,
    ngx_http_stytch_call_t *call);
static ngx_uint_t ngx_http_stytch_api_allowed(ngx_http_request_t *r,
    ngx_http_stytch_project_t *project);
static ngx_http_stytch_flight_t *ngx_http_stytch_flight_find(u_char *key);
static ngx_http_stytch_flight_t *ngx_http_stytch_flight_create(
    ngx_http_request_t *r, ngx_http_stytch_loc_conf_t *slcf,
    ngx_http_stytch_ctx_t *ctx);
static void ngx_http_stytch_flight_join(ngx_http_stytch_flight_t *flight,
    ngx_http_stytch_ctx_t *ctx);
static void ngx_http_stytch_flight_release(ngx_http_stytch_flight_t *flight);
static void ngx_http_stytch_flight_land(ngx_http_stytch_flight_t *flight,
    stytch_status_t status, stytch_session_t *session);
static void ngx_http_stytch_flight_orphan(ngx_http_stytch_flight_t *flight);
static void ngx_http_stytch_flight_wake(ngx_http_stytch_flight_t *flight);
static void ngx_http_stytch_flight_deadline(ngx_event_t *ev);
static void ngx_http_stytch_flight_stop(ngx_http_stytch_flight_t *flight);
static ngx_int_t ngx_http_stytch_subrequest(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx,
    ngx_http_stytch_flight_t *flight);
static ngx_table_elt_t *ngx_http_stytch_add_input_header(
    ngx_http_request_t *sr, const char *name, const char *lowcase,
    ngx_str_t *value);
static ngx_int_t ngx_http_stytch_api_done(ngx_http_request_t *r, void *data,
    ngx_int_t rc);
static stytch_status_t ngx_http_stytch_api_read(ngx_http_request_t *sr,
    ngx_http_stytch_flight_t *flight, ngx_int_t rc,
    stytch_session_t **session);
static ngx_int_t ngx_http_stytch_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);


static ngx_rbtree_t        ngx_http_stytch_flights;
static ngx_rbtree_node_t   ngx_http_stytch_flights_sentinel;

/* a timer's ev->data must look like a connection for NGINX's debug log */
static ngx_connection_t    ngx_http_stytch_api_dummy;

static ngx_http_output_body_filter_pt  ngx_http_next_body_filter;


ngx_int_t
ngx_http_stytch_api_init(ngx_conf_t *cf)
{
    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_stytch_body_filter;

    return NGX_OK;
}


/*
 * A token goes into a JSON body and an answer's tokens into Set-Cookie:
 * Stytch's tokens are base64url with dots, and anything else is refused.
 */

ngx_uint_t
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
 * Asks about ctx->call.  NGX_OK: *answer is the cache's.  NGX_AGAIN: the
 * request waits in a flight, its own or another request's; the handler
 * takes the answer with ngx_http_stytch_api_take() once woken.
 */

ngx_int_t
ngx_http_stytch_api_ask(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx,
    ngx_http_stytch_answer_t *answer)
{
    ngx_http_stytch_flight_t  *flight;

    if (ngx_http_stytch_api_key(ctx->project, &ctx->call) != NGX_OK) {
        return NGX_ERROR;
    }

    if (slcf->api_cache
        && ngx_http_stytch_cache_get(ctx->project->shm_zone, ctx->call.key,
                                     slcf->api_cache_valid,
                                     slcf->api_cache_reject, answer,
                                     r->connection->log)
           == NGX_OK)
    {
        (void) ngx_atomic_fetch_add(&ctx->project->shm->api_cache_hits, 1);
        return NGX_OK;
    }

    if (ngx_http_stytch_flights.root == NULL) {
        ngx_rbtree_init(&ngx_http_stytch_flights,
                        &ngx_http_stytch_flights_sentinel,
                        ngx_rbtree_insert_value);
        ngx_http_stytch_api_dummy.fd = (ngx_socket_t) -1;
    }

    flight = ngx_http_stytch_flight_find(ctx->call.key);

    if (flight) {
        /* the same question is being asked: wait for that answer */
        (void) ngx_atomic_fetch_add(&ctx->project->shm->api_joins, 1);
        ngx_http_stytch_flight_join(flight, ctx);
        return NGX_AGAIN;
    }

    if (!ngx_http_stytch_api_allowed(r, ctx->project)) {
        answer->status = STYTCH_API_CALLS_LIMITED;
        answer->session = NULL;
        answer->answered = ngx_time();
        return NGX_OK;
    }

    flight = ngx_http_stytch_flight_create(r, slcf, ctx);
    if (flight == NULL) {
        return NGX_ERROR;
    }

    (void) ngx_atomic_fetch_add(&ctx->project->shm->api_calls, 1);

    return NGX_AGAIN;
}


/*
 * NGX_AGAIN: no answer yet.  NGX_OK: *answer holds it (a new reference).
 * NGX_DECLINED: the call's maker went away without one: ask again.
 */

ngx_int_t
ngx_http_stytch_api_take(ngx_http_stytch_ctx_t *ctx,
    ngx_http_stytch_answer_t *answer)
{
    ngx_http_stytch_flight_t  *flight;

    flight = ctx->flight;

    if (flight == NULL) {
        return NGX_DECLINED;
    }

    if (!flight->landed && !flight->orphaned) {
        return NGX_AGAIN;
    }

    ngx_queue_remove(&ctx->waiting);
    ctx->flight = NULL;

    if (flight->orphaned) {
        ngx_http_stytch_flight_release(flight);
        return NGX_DECLINED;
    }

    *answer = flight->answer;

    if (answer->session) {
        (void) stytch_session_retain(answer->session);
    }

    ngx_http_stytch_flight_release(flight);

    return NGX_OK;
}


/* The request goes away: it leaves its flights. */

void
ngx_http_stytch_api_leave(ngx_http_stytch_ctx_t *ctx)
{
    ngx_http_stytch_flight_t  *flight;

    flight = ctx->flight;

    if (flight) {
        ctx->flight = NULL;
        ngx_queue_remove(&ctx->waiting);
        ngx_http_stytch_flight_release(flight);
    }

    flight = ctx->led;

    if (flight) {
        ctx->led = NULL;

        /* the subrequest went with the request's pool */
        flight->sr = NULL;

        if (!flight->landed && !flight->orphaned) {
            ngx_http_stytch_flight_orphan(flight);
        }

        ngx_http_stytch_flight_release(flight);
    }
}


/*
 * stytch_api_rate: a token bucket per project in each worker, as full as
 * one second of calls, so that a flood of made-up session tokens cannot
 * spend the project's Stytch quota.  Made like limit_req's excess, in
 * thousandths of a call.
 */

static ngx_uint_t
ngx_http_stytch_api_allowed(ngx_http_request_t *r,
    ngx_http_stytch_project_t *project)
{
    ngx_msec_t  now, elapsed;

    if (project->api_rate == 0) {
        return 1;
    }

    now = ngx_current_msec;

    if (project->api_refilled == 0) {
        project->api_tokens = project->api_rate;

    } else {
        elapsed = now - project->api_refilled;
        project->api_tokens = ngx_min(project->api_rate,
                                      project->api_tokens
                                      + project->api_rate * elapsed / 1000);
    }

    project->api_refilled = now;

    if (project->api_tokens >= 1000) {
        project->api_tokens -= 1000;
        return 1;
    }

    (void) ngx_atomic_fetch_add(&project->shm->api_limited, 1);

    if (project->api_limited_logged != ngx_time()) {
        project->api_limited_logged = ngx_time();
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "stytch: \"stytch_api_rate\" of project \"%V\" is "
                      "reached: requests that need the API get 503",
                      &project->project_id);
    }

    return 0;
}


/*
 * The key names the project by its id and API URL, as the zone does, not
 * by its place in the configuration, which a reload may change.
 */

static ngx_int_t
ngx_http_stytch_api_key(ngx_http_stytch_project_t *project,
    ngx_http_stytch_call_t *call)
{
    u_char       kind;
    unsigned     len;
    EVP_MD_CTX  *md;

    md = EVP_MD_CTX_new();
    if (md == NULL) {
        return NGX_ERROR;
    }

    kind = call->jwt ? 'j' : 't';

    if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1
        || EVP_DigestUpdate(md, project->shm->key, project->shm->key_len)
           != 1
        || EVP_DigestUpdate(md, &kind, 1) != 1
        || EVP_DigestUpdate(md, call->token.data, call->token.len) != 1
        || EVP_DigestUpdate(md, call->check.data, call->check.len) != 1
        || EVP_DigestFinal_ex(md, call->key, &len) != 1)
    {
        EVP_MD_CTX_free(md);
        ERR_clear_error();
        return NGX_ERROR;
    }

    EVP_MD_CTX_free(md);

    return NGX_OK;
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


static ngx_http_stytch_flight_t *
ngx_http_stytch_flight_create(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx)
{
    ngx_http_stytch_flight_t  *flight;

    flight = ngx_calloc(sizeof(ngx_http_stytch_flight_t),
                        r->connection->log);
    if (flight == NULL) {
        return NULL;
    }

    ngx_memcpy(flight->key, ctx->call.key, NGX_HTTP_STYTCH_KEY_LEN);
    ngx_memcpy(&flight->node.key, ctx->call.key, sizeof(ngx_rbtree_key_t));
    ngx_queue_init(&flight->waiters);

    flight->project = ctx->project;
    flight->cache = slcf->api_cache ? ctx->project->shm_zone : NULL;
    flight->valid = slcf->api_cache_valid;
    flight->reject_valid = slcf->api_cache_reject;
    flight->deadline_ms = slcf->api_deadline;

    flight->deadline.handler = ngx_http_stytch_flight_deadline;
    flight->deadline.data = &ngx_http_stytch_api_dummy;
    flight->deadline.log = ngx_cycle->log;

    ngx_rbtree_insert(&ngx_http_stytch_flights, &flight->node);
    flight->in_tree = 1;

    /* the leader's reference lasts as long as its request */
    flight->refs = 1;
    ctx->led = flight;

    ngx_http_stytch_flight_join(flight, ctx);

    if (ngx_http_stytch_subrequest(r, slcf, ctx, flight) != NGX_OK) {
        ngx_http_stytch_flight_land(flight, STYTCH_INTERNAL_ERROR, NULL);
        return flight;
    }

    ngx_add_timer(&flight->deadline, flight->deadline_ms);
    flight->started = ngx_current_msec;

    return flight;
}


static void
ngx_http_stytch_flight_join(ngx_http_stytch_flight_t *flight,
    ngx_http_stytch_ctx_t *ctx)
{
    ngx_http_request_t  *r;

    flight->refs++;
    ngx_queue_insert_tail(&flight->waiters, &ctx->waiting);
    ctx->flight = flight;

    r = ctx->request;

    /* a client that goes away while it waits is noticed */
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_request_empty_handler;
}


static void
ngx_http_stytch_flight_release(ngx_http_stytch_flight_t *flight)
{
    if (--flight->refs) {
        return;
    }

    if (flight->in_tree) {
        ngx_rbtree_delete(&ngx_http_stytch_flights, &flight->node);
    }

    if (flight->deadline.timer_set) {
        ngx_del_timer(&flight->deadline);
    }

    if (flight->answer.session) {
        stytch_session_release(flight->answer.session);
    }

    if (flight->body.data) {
        ngx_free(flight->body.data);
    }

    ngx_free(flight);
}


/* The answer: to every request that waits for it, and to the cache. */

static void
ngx_http_stytch_flight_land(ngx_http_stytch_flight_t *flight,
    stytch_status_t status, stytch_session_t *session)
{
    ngx_http_stytch_shm_project_t  *sp;

    flight->landed = 1;
    flight->answer.status = status;
    flight->answer.session = session ? stytch_session_retain(session) : NULL;
    flight->answer.answered = ngx_time();

    if (flight->in_tree) {
        ngx_rbtree_delete(&ngx_http_stytch_flights, &flight->node);
        flight->in_tree = 0;
    }

    if (flight->deadline.timer_set) {
        ngx_del_timer(&flight->deadline);
    }

    sp = flight->project->shm;

    if (flight->started) {
        ngx_http_stytch_zone_latency(sp, ngx_current_msec - flight->started);
    }

    switch (stytch_status_action(status)) {
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
        flight->project->api_failed = ngx_time();
        break;
    }

    if (flight->cache) {
        ngx_http_stytch_cache_put(flight->cache, flight->key,
                                  &flight->answer,
                                  status == STYTCH_OK ? flight->valid
                                                      : flight->reject_valid);
    }

    ngx_http_stytch_flight_wake(flight);
}


/* No answer will come: the waiting requests ask again. */

static void
ngx_http_stytch_flight_orphan(ngx_http_stytch_flight_t *flight)
{
    flight->orphaned = 1;

    if (flight->in_tree) {
        ngx_rbtree_delete(&ngx_http_stytch_flights, &flight->node);
        flight->in_tree = 0;
    }

    if (flight->deadline.timer_set) {
        ngx_del_timer(&flight->deadline);
    }

    ngx_http_stytch_flight_wake(flight);
}


static void
ngx_http_stytch_flight_wake(ngx_http_stytch_flight_t *flight)
{
    ngx_queue_t            *q;
    ngx_http_request_t     *r;
    ngx_http_stytch_ctx_t  *ctx;

    for (q = ngx_queue_head(&flight->waiters);
         q != ngx_queue_sentinel(&flight->waiters);
         q = ngx_queue_next(q))
    {
        ctx = ngx_queue_data(q, ngx_http_stytch_ctx_t, waiting);
        r = ctx->request;

        r->write_event_handler = ngx_http_core_run_phases;
        ngx_post_event(r->connection->write, &ngx_posted_events);
    }
}


static void
ngx_http_stytch_flight_deadline(ngx_event_t *ev)
{
    ngx_http_stytch_flight_t  *flight;

    flight = (ngx_http_stytch_flight_t *)
                 ((u_char *) ev - offsetof(ngx_http_stytch_flight_t,
                                           deadline));

    ngx_log_error(NGX_LOG_ERR, ev->log, 0,
                  "stytch: the API did not answer within %M ms "
                  "(\"stytch_api_deadline\")", flight->deadline_ms);

    ngx_http_stytch_flight_land(flight, STYTCH_API_UNAVAILABLE, NULL);
    ngx_http_stytch_flight_stop(flight);
}


/*
 * Ends a call whose answer is no longer wanted, through NGINX's own path
 * for an upstream that timed out: nothing more is read from it.
 */

static void
ngx_http_stytch_flight_stop(ngx_http_stytch_flight_t *flight)
{
    ngx_connection_t     *c;
    ngx_http_upstream_t  *u;

    if (flight->sr == NULL || flight->ended) {
        return;
    }

    u = flight->sr->upstream;

    if (u == NULL || u->peer.connection == NULL) {
        return;
    }

    c = u->peer.connection;

    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    c->read->timedout = 1;

    if (!c->read->posted) {
        ngx_post_event(c->read, &ngx_posted_events);
    }
}


/*
 * The call's subrequest: its body is the token, the check and, with
 * stytch_session_duration, the session's new duration.  It is not a
 * background one: the body filter sees the answer as it comes, not only
 * when the upstream has sent it all.
 */

static ngx_int_t
ngx_http_stytch_subrequest(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx,
    ngx_http_stytch_flight_t *flight)
{
    size_t                       len;
    ngx_buf_t                   *b;
    ngx_http_post_subrequest_t  *ps;

    /* the token was checked to hold only base64url characters and '.' */

    len = sizeof("{\"session_token\":\"\"}") - 1 + ctx->call.token.len
          + ctx->call.check.len
          + sizeof(",\"session_duration_minutes\":") - 1 + NGX_TIME_T_LEN;

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->last = ngx_sprintf(b->pos, "{\"%s\":\"%V\"%V",
                          ctx->call.jwt ? "session_jwt" : "session_token",
                          &ctx->call.token, &ctx->call.check);

    if (slcf->session_duration) {
        /* the session is extended as it is used: opt-in */
        b->last = ngx_sprintf(b->last, ",\"session_duration_minutes\":%T",
                              slcf->session_duration);
    }

    *b->last++ = '}';

    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));
    if (ps == NULL) {
        return NGX_ERROR;
    }

    ps->handler = ngx_http_stytch_api_done;
    ps->data = flight;

    /*
     * Not NGX_HTTP_SUBREQUEST_IN_MEMORY: a response over its buffer ends
     * the subrequest in NGX_ERROR, which terminates the client's request
     * too.  The body filter below reads the answer instead, up to a limit.
     */
    return ngx_http_stytch_api_post(r, slcf,
                                    ctx->project->b2b
                                    ? "/v1/b2b/sessions/authenticate"
                                    : "/v1/sessions/authenticate",
                                    b, ps, NGX_HTTP_SUBREQUEST_WAITED, flight,
                                    &flight->sr);
}


/*
 * A POST of the JSON in b to Stytch's path, through the API location.  The
 * subrequest carries nothing of the client's request: its headers are
 * replaced by the three that Stytch needs, and its body is b.  Its context
 * is marker: an internal redirect of the call (X-Accel-Redirect in the
 * answer) clears it, which tells the completion.
 */

ngx_int_t
ngx_http_stytch_api_post(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, const char *path, ngx_buf_t *b,
    ngx_http_post_subrequest_t *ps, ngx_uint_t flags, void *marker,
    ngx_http_request_t **psr)
{
    ngx_str_t                 uri, length;
    ngx_chain_t              *cl;
    ngx_http_request_t       *sr;
    ngx_http_request_body_t  *rb;

    static ngx_str_t  post = ngx_string("POST");
    static ngx_str_t  json = ngx_string("application/json");

    uri.len = slcf->api_location.len + ngx_strlen(path);
    uri.data = ngx_pnalloc(r->pool, uri.len);
    if (uri.data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(uri.data, "%V%s", &slcf->api_location, path);

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

    length.data = ngx_pnalloc(r->pool, NGX_OFF_T_LEN);
    if (length.data == NULL) {
        return NGX_ERROR;
    }

    length.len = ngx_sprintf(length.data, "%O", (off_t) (b->last - b->pos))
                 - length.data;

    if (ngx_http_subrequest(r, &uri, NULL, &sr, ps, flags) != NGX_OK) {
        return NGX_ERROR;
    }

    /*
     * First, before anything can fail: the subrequest starts with the
     * client's headers and body, and none of them may reach Stytch.
     */
    ngx_memzero(&sr->headers_in, sizeof(ngx_http_headers_in_t));
    sr->request_body = rb;

    ngx_http_set_ctx(sr, marker, ngx_http_stytch_module);
    *psr = sr;

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


/*
 * The subrequest's completion, as auth_request's: it records what the API
 * answered, and nothing else.
 */

static ngx_int_t
ngx_http_stytch_api_done(ngx_http_request_t *r, void *data, ngx_int_t rc)
{
    ngx_http_stytch_flight_t  *flight = data;

    stytch_status_t    status;
    stytch_session_t  *session;

    if (rc == NGX_AGAIN || flight->ended) {
        return rc;
    }

    flight->ended = 1;
    flight->sr = NULL;

    if (flight->landed || flight->orphaned) {
        /* answered already: by the deadline or the size limit */
        return rc >= NGX_HTTP_SPECIAL_RESPONSE ? NGX_OK : rc;
    }

    if (rc == NGX_HTTP_CLIENT_CLOSED_REQUEST || r->connection->error) {
        /* the client that made the call went away: no answer was had */
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "stytch: the client went away before the API "
                      "answered");
        ngx_http_stytch_flight_orphan(flight);
        return rc;
    }

    session = NULL;
    status = ngx_http_stytch_api_read(r, flight, rc, &session);

    ngx_http_stytch_flight_land(flight, status, session);

    if (session) {
        stytch_session_release(session);
    }

    /* the failure is the answer: NGINX need not make an error page */
    return rc >= NGX_HTTP_SPECIAL_RESPONSE ? NGX_OK : rc;
}


static stytch_status_t
ngx_http_stytch_api_read(ngx_http_request_t *sr,
    ngx_http_stytch_flight_t *flight, ngx_int_t rc, stytch_session_t **session)
{
    ngx_uint_t           status;
    const char          *directive;
    stytch_status_t      result;
    stytch_api_error_t   error;

    status = sr->headers_out.status;

    if (ngx_http_get_module_ctx(sr, ngx_http_stytch_module) == NULL) {
        ngx_log_error(NGX_LOG_ERR, sr->connection->log, 0,
                      "stytch: the API's answer redirected the call "
                      "internally (X-Accel-Redirect): it is refused");
        return STYTCH_API_RESPONSE_INVALID;
    }

    if (sr->upstream == NULL && rc != NGX_ERROR) {
        /* the location answered by itself: it is not the API */
        ngx_log_error(NGX_LOG_ERR, sr->connection->log, 0,
                      "stytch: \"%V\" did not reach an upstream: "
                      "\"stytch_api_location\" must name a location with "
                      "\"proxy_pass\" to the Stytch API", &sr->uri);
        return STYTCH_INTERNAL_ERROR;
    }

    if (rc == NGX_ERROR || status == 0
        || (rc >= NGX_HTTP_SPECIAL_RESPONSE && flight->body.len == 0))
    {
        /* connection refused, timeout ... */
        ngx_log_error(NGX_LOG_ERR, sr->connection->log, 0,
                      "stytch: the API call through \"%V\" failed "
                      "(status %ui)", &sr->uri,
                      rc > 0 ? (ngx_uint_t) rc : status);
        return STYTCH_API_UNAVAILABLE;
    }

    ngx_memzero(&error, sizeof(stytch_api_error_t));

    result = stytch_api_parse_authenticate(status,
                                           (char *) flight->body.data,
                                           flight->body.len, session, &error);

    switch (stytch_status_action(result)) {

    case STYTCH_ACTION_ERROR:
        directive = stytch_api_error_directive(&error);

        ngx_log_error(NGX_LOG_ERR, sr->connection->log, 0,
                      "stytch: the API refused the project's configuration "
                      "(%ui %s): check \"%s\"", status,
                      error.error_type[0] ? error.error_type
                                          : "an answer that is not Stytch's",
                      directive ? directive : "stytch_api_url");
        break;

    case STYTCH_ACTION_UNAVAILABLE:
        ngx_log_error(NGX_LOG_ERR, sr->connection->log, 0,
                      "stytch: the API answered %ui: %s%s%s", status,
                      stytch_status_name(result),
                      error.error_type[0] ? ", " : "", error.error_type);
        break;

    case STYTCH_ACTION_ALLOW:
        break;

    default:
        ngx_log_error(NGX_LOG_INFO, sr->connection->log, 0,
                      "stytch: the API answered %ui: %s", status,
                      error.error_type[0] ? error.error_type
                                          : stytch_status_name(result));
        break;
    }

    return result;
}


/*
 * Gathers the API's answer in memory, up to a limit, and keeps it from the
 * client: nothing of a Stytch subrequest goes further down the chain.  The
 * flight is found through the subrequest's completion, which an internal
 * redirect keeps, not through its context, which it clears.
 */

static ngx_int_t
ngx_http_stytch_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    u_char                      *p;
    size_t                       n, size;
    ngx_buf_t                   *b;
    ngx_chain_t                 *cl;
    ngx_http_stytch_flight_t    *flight;
    ngx_http_stytch_api_body_t  *body;

    if (r == r->main || r->post_subrequest == NULL
        || r->post_subrequest->handler != ngx_http_stytch_api_done)
    {
        return ngx_http_next_body_filter(r, in);
    }

    flight = r->post_subrequest->data;
    body = &flight->body;

    if (!flight->landed && !flight->orphaned
        && ngx_http_get_module_ctx(r, ngx_http_stytch_module) == NULL)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "stytch: the API's answer redirected the call "
                      "internally (X-Accel-Redirect): it is refused");

        ngx_http_stytch_flight_land(flight, STYTCH_API_RESPONSE_INVALID,
                                    NULL);
    }

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b)) {
            n = b->last - b->pos;

        } else {
            /* buffered to a file: more than the proxy's memory buffers */
            n = ngx_buf_size(b) ? NGX_HTTP_STYTCH_MAX_API_BODY + 1 : 0;
            b->file_pos = b->file_last;
        }

        if (flight->landed || flight->orphaned || n == 0) {
            b->pos = b->last;
            continue;
        }

        if (body->len + n > NGX_HTTP_STYTCH_MAX_API_BODY) {
            b->pos = b->last;

            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "stytch: the API's answer is over %uz bytes: the "
                          "call is ended",
                          (size_t) NGX_HTTP_STYTCH_MAX_API_BODY);

            ngx_http_stytch_flight_land(flight, STYTCH_API_RESPONSE_INVALID,
                                        NULL);
            ngx_http_stytch_flight_stop(flight);
            continue;
        }

        if (body->len + n > body->size) {
            size = ngx_max(body->size * 2, body->len + n);
            size = ngx_max(size, 4096);
            size = ngx_min(size, NGX_HTTP_STYTCH_MAX_API_BODY);

            p = ngx_alloc(size, r->connection->log);
            if (p == NULL) {
                return NGX_ERROR;
            }

            if (body->len) {
                ngx_memcpy(p, body->data, body->len);
            }

            if (body->data) {
                ngx_free(body->data);
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
