
/*
 * Copyright (C) 2026 The ngx_http_stytch_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * ngx_http_stytch_module: calls to the Stytch API from a request.
 *
 * One way to call Stytch, for authentication and sign-out alike: a
 * subrequest POST to the location that stytch_api_location names, so that
 * the call gets NGINX's upstream keepalive, TLS, resolver, timeouts and
 * logs.  It carries nothing of the client's request; its answer is
 * gathered here up to a size limit and goes no further; it ends at the
 * latest at its deadline, as soon as its answer is over the limit, or
 * when the answer would redirect it internally (X-Accel-Redirect).  Its
 * handler runs once, when the outcome is known.
 *
 * Authentication asks a question (a token, and what is asked about it):
 * it is answered from the API-result cache, or by the call in flight for
 * the same question in this worker ("single flight"), or by a new call to
 * sessions/authenticate (oauth2/introspect for a Connected Apps access
 * token).  A flight is shared by the requests that wait for it.  Its
 * outcome only records what Stytch answered, remembers it in the cache
 * and posts the waiting requests' wake events; each request's handler
 * then takes the answer.  When the request that made the call
 * goes away before the answer, the others find the flight orphaned and
 * ask again.
 */


#include "ngx_http_stytch.h"

#include <openssl/err.h>
#include <openssl/evp.h>


struct ngx_http_stytch_flight_s {
    ngx_http_stytch_keyed_t     keyed;       /* in the tree of flights */
    ngx_queue_t                 waiters;     /* ngx_http_stytch_api_wait_t */
    ngx_uint_t                  refs;        /* the waiters and the leader */
    ngx_http_stytch_project_t  *project;
    ngx_shm_zone_t             *cache;       /* NULL: no cache */
    time_t                      valid;
    time_t                      reject_valid;
    ngx_http_stytch_call_t      call;
    ngx_http_stytch_answer_t    answer;

    unsigned                    in_tree:1;
    unsigned                    introspect:1;
    unsigned                    landed:1;
    unsigned                    orphaned:1;
};


static ngx_int_t ngx_http_stytch_api_key(ngx_http_stytch_project_t *project,
    ngx_http_stytch_question_t *question);
static ngx_uint_t ngx_http_stytch_api_allowed(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_project_t *project);
static void ngx_http_stytch_bucket_refill(ngx_uint_t *tokens,
    ngx_msec_t *refilled, ngx_uint_t rate, ngx_msec_t now);
static ngx_int_t ngx_http_stytch_api_client_key(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_str_t *key);
static ngx_http_stytch_api_client_t *ngx_http_stytch_api_client(
    ngx_http_stytch_project_t *project, ngx_str_t *key, ngx_msec_t now);
static ngx_http_stytch_flight_t *ngx_http_stytch_flight_create(
    ngx_http_request_t *r, ngx_http_stytch_loc_conf_t *slcf,
    ngx_http_stytch_project_t *project, ngx_http_stytch_question_t *question,
    ngx_http_stytch_api_wait_t *wait);
static ngx_http_stytch_flight_t *ngx_http_stytch_flight_introspect(
    ngx_http_request_t *r, ngx_http_stytch_loc_conf_t *slcf,
    ngx_http_stytch_project_t *project, ngx_http_stytch_question_t *question,
    ngx_http_stytch_api_wait_t *wait);
static ngx_http_stytch_flight_t *ngx_http_stytch_flight_new(
    ngx_http_request_t *r, ngx_http_stytch_loc_conf_t *slcf,
    ngx_http_stytch_project_t *project, ngx_http_stytch_question_t *question);
static void ngx_http_stytch_flight_start(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_flight_t *flight,
    ngx_http_stytch_api_wait_t *wait, char *path, ngx_buf_t *b);
static void ngx_http_stytch_flight_join(ngx_http_stytch_flight_t *flight,
    ngx_http_stytch_api_wait_t *wait);
static void ngx_http_stytch_flight_release(ngx_http_stytch_flight_t *flight);
static void ngx_http_stytch_flight_called(ngx_http_stytch_call_t *call);
static stytch_status_t ngx_http_stytch_flight_read(
    ngx_http_stytch_call_t *call, stytch_session_t **session);
static void ngx_http_stytch_flight_land(ngx_http_stytch_flight_t *flight,
    stytch_status_t status, stytch_session_t *session);
static void ngx_http_stytch_flight_orphan(ngx_http_stytch_flight_t *flight);
static void ngx_http_stytch_flight_wake(ngx_http_stytch_flight_t *flight);

static ngx_table_elt_t *ngx_http_stytch_add_input_header(
    ngx_http_request_t *sr, const char *name, const char *lowcase,
    ngx_str_t *value);
static ngx_int_t ngx_http_stytch_call_done(ngx_http_request_t *sr,
    void *data, ngx_int_t rc);
static void ngx_http_stytch_call_deadline(ngx_event_t *ev);
static void ngx_http_stytch_call_over(ngx_http_stytch_call_t *call,
    ngx_uint_t outcome);
static void ngx_http_stytch_call_stop(ngx_http_stytch_call_t *call);
static ngx_int_t ngx_http_stytch_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_stytch_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_http_stytch_call_t *ngx_http_stytch_call_of(ngx_http_request_t *r);


static ngx_rbtree_t        ngx_http_stytch_flights;
static ngx_rbtree_node_t   ngx_http_stytch_flights_sentinel;

/* a timer's ev->data must look like a connection for NGINX's debug log */
static ngx_connection_t    ngx_http_stytch_api_dummy;

static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


ngx_int_t
ngx_http_stytch_api_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_stytch_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_stytch_body_filter;

    return NGX_OK;
}


/*
 * Asks the question.  NGX_OK: *answer is the cache's (or the rate limit's).
 * NGX_AGAIN: the request waits in a flight, its own or another request's,
 * and wait->wake is posted when the flight has an answer; the handler
 * takes it with ngx_http_stytch_api_take().
 */

ngx_int_t
ngx_http_stytch_api_ask(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_project_t *project,
    ngx_http_stytch_question_t *question, ngx_http_stytch_api_wait_t *wait,
    ngx_http_stytch_answer_t *answer)
{
    ngx_http_stytch_keyed_t  *keyed;

    if (ngx_http_stytch_api_key(project, question) != NGX_OK) {
        return NGX_ERROR;
    }

    if (slcf->api_cache
        && ngx_http_stytch_cache_get(project->shm_zone, question->key,
                                     slcf->api_cache_valid,
                                     slcf->api_cache_reject, answer,
                                     r->connection->log)
           == NGX_OK)
    {
        (void) ngx_atomic_fetch_add(&project->shm->api_cache_hits, 1);
        return NGX_OK;
    }

    if (ngx_http_stytch_flights.root == NULL) {
        ngx_rbtree_init(&ngx_http_stytch_flights,
                        &ngx_http_stytch_flights_sentinel,
                        ngx_http_stytch_keyed_insert);
    }

    keyed = ngx_http_stytch_keyed_find(&ngx_http_stytch_flights,
                                       question->key);

    if (keyed) {
        /* the same question is being asked: wait for that answer */
        (void) ngx_atomic_fetch_add(&project->shm->api_joins, 1);
        ngx_http_stytch_flight_join((ngx_http_stytch_flight_t *) keyed,
                                    wait);
        return NGX_AGAIN;
    }

    if (!ngx_http_stytch_api_allowed(r, slcf, project)) {
        answer->status = STYTCH_API_CALLS_LIMITED;
        answer->session = NULL;
        answer->answered = ngx_time();
        return NGX_OK;
    }

    if (ngx_http_stytch_flight_create(r, slcf, project, question, wait)
        == NULL)
    {
        return NGX_ERROR;
    }

    (void) ngx_atomic_fetch_add(&project->shm->api_calls, 1);

    return NGX_AGAIN;
}


/*
 * NGX_AGAIN: no answer yet.  NGX_OK: *answer holds it (a new reference).
 * NGX_DECLINED: the call's maker went away without one: ask again.
 */

ngx_int_t
ngx_http_stytch_api_take(ngx_http_stytch_api_wait_t *wait,
    ngx_http_stytch_answer_t *answer)
{
    ngx_http_stytch_flight_t  *flight;

    flight = wait->flight;

    if (flight == NULL) {
        return NGX_DECLINED;
    }

    if (!flight->landed && !flight->orphaned) {
        return NGX_AGAIN;
    }

    ngx_queue_remove(&wait->queue);
    wait->flight = NULL;

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
ngx_http_stytch_api_leave(ngx_http_stytch_api_wait_t *wait)
{
    ngx_http_stytch_flight_t  *flight;

    flight = wait->flight;

    if (flight) {
        wait->flight = NULL;
        ngx_queue_remove(&wait->queue);
        ngx_http_stytch_flight_release(flight);
    }

    flight = wait->led;

    if (flight) {
        wait->led = NULL;

        /* the subrequest went with the request's pool */
        flight->call.sr = NULL;

        if (!flight->landed && !flight->orphaned) {
            ngx_http_stytch_flight_orphan(flight);
        }

        ngx_http_stytch_flight_release(flight);
    }
}


/*
 * A session is revoked: what Stytch answered about its token (asked
 * without an authorization_check, as authentication asks first) is
 * forgotten, so that the token is asked about again.
 */

ngx_int_t
ngx_http_stytch_api_forget(ngx_http_stytch_project_t *project,
    ngx_str_t *token, ngx_uint_t jwt)
{
    ngx_http_stytch_question_t  question;

    ngx_memzero(&question, sizeof(ngx_http_stytch_question_t));
    question.token = *token;
    question.jwt = jwt;

    if (ngx_http_stytch_api_key(project, &question) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_stytch_cache_drop(project->shm_zone, question.key);

    return NGX_OK;
}


/*
 * stytch_api_rate: token buckets per project in each worker, made like
 * limit_req's excess, in thousandths of a call: one for all the project's
 * calls, and one for each client (its address, or "stytch_api_client"),
 * so that one client's flood of made-up session tokens spends neither the
 * project's Stytch quota nor the calls that the other clients need.  Each
 * holds one second of its rate, and at least one call.  A call takes a
 * token of both, or of neither.
 */

static ngx_uint_t
ngx_http_stytch_api_allowed(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_project_t *project)
{
    ngx_str_t                      key;
    ngx_msec_t                     now;
    ngx_http_stytch_api_client_t  *client;

    if (project->api_rate == 0) {
        return 1;
    }

    now = ngx_current_msec;

    ngx_http_stytch_bucket_refill(&project->api_tokens, &project->api_refilled,
                                  project->api_rate, now);

    client = NULL;

    if (project->api_clients) {
        if (ngx_http_stytch_api_client_key(r, slcf, &key) != NGX_OK) {
            return 0;
        }

        client = ngx_http_stytch_api_client(project, &key, now);

        ngx_http_stytch_bucket_refill(&client->tokens, &client->refilled,
                                      project->api_client_rate, now);
    }

    if (project->api_tokens >= 1000
        && (client == NULL || client->tokens >= 1000))
    {
        project->api_tokens -= 1000;

        if (client) {
            client->tokens -= 1000;
        }

        return 1;
    }

    (void) ngx_atomic_fetch_add(&project->shm->api_limited, 1);

    if (project->api_limited_logged != ngx_time()) {
        project->api_limited_logged = ngx_time();

        if (project->api_tokens >= 1000) {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "stytch: \"stytch_api_rate\" of project \"%V\" is "
                          "reached for this client: its requests that need "
                          "the API get 503", &project->project_id);

        } else {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "stytch: \"stytch_api_rate\" of project \"%V\" is "
                          "reached: requests that need the API get 503",
                          &project->project_id);
        }
    }

    return 0;
}


static void
ngx_http_stytch_bucket_refill(ngx_uint_t *tokens, ngx_msec_t *refilled,
    ngx_uint_t rate, ngx_msec_t now)
{
    ngx_uint_t  size;

    size = ngx_max(rate, 1000);

    if (*refilled == 0) {
        *tokens = size;

    } else {
        *tokens = ngx_min(size, *tokens + rate * (now - *refilled) / 1000);
    }

    *refilled = now;
}


/* The client: "stytch_api_client", or the address as $binary_remote_addr */

static ngx_int_t
ngx_http_stytch_api_client_key(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_str_t *key)
{
    struct sockaddr_in   *sin;
#if (NGX_HAVE_INET6)
    struct sockaddr_in6  *sin6;
#endif

    if (slcf->api_client) {
        return ngx_http_complex_value(r, slcf->api_client, key);
    }

    switch (r->connection->sockaddr->sa_family) {

#if (NGX_HAVE_INET6)
    case AF_INET6:
        sin6 = (struct sockaddr_in6 *) r->connection->sockaddr;
        key->data = sin6->sin6_addr.s6_addr;
        key->len = sizeof(struct in6_addr);
        break;
#endif

    case AF_INET:
        sin = (struct sockaddr_in *) r->connection->sockaddr;
        key->data = (u_char *) &sin->sin_addr;
        key->len = sizeof(in_addr_t);
        break;

    default:
        ngx_str_null(key);
        break;
    }

    return NGX_OK;
}


/*
 * The client's bucket: found by the key's hash in a window of probes, or
 * made in a free place, else in the place of the client that has waited
 * longest (a full bucket once refilled).  A key longer than the place
 * keeps its hash and first bytes.
 */

static ngx_http_stytch_api_client_t *
ngx_http_stytch_api_client(ngx_http_stytch_project_t *project, ngx_str_t *key,
    ngx_msec_t now)
{
    size_t                         len;
    uint32_t                       hash;
    ngx_uint_t                     n, i;
    ngx_http_stytch_api_client_t  *c, *victim;

    len = ngx_min(key->len, NGX_HTTP_STYTCH_API_CLIENT_KEY);
    hash = ngx_murmur_hash2(key->data, key->len);
    victim = NULL;

    for (n = 0; n < NGX_HTTP_STYTCH_API_CLIENT_PROBES; n++) {
        i = (hash + n) % NGX_HTTP_STYTCH_API_CLIENTS;
        c = &project->api_clients[i];

        if (c->key_len == len + 1 && c->hash == hash
            && ngx_memcmp(c->key, key->data, len) == 0)
        {
            return c;
        }

        if (c->key_len == 0) {
            if (victim == NULL || victim->key_len) {
                victim = c;
            }

            continue;
        }

        if (victim == NULL
            || (victim->key_len && c->refilled < victim->refilled))
        {
            victim = c;
        }
    }

    ngx_memzero(victim, sizeof(ngx_http_stytch_api_client_t));
    victim->hash = hash;
    victim->key_len = len + 1;   /* 0 is a free place; "" is a client too */
    ngx_memcpy(victim->key, key->data, len);

    return victim;
}


/*
 * The key names the project by its id and API URL, as the zone does, not
 * by its place in the configuration, which a reload may change.
 */

static ngx_int_t
ngx_http_stytch_api_key(ngx_http_stytch_project_t *project,
    ngx_http_stytch_question_t *question)
{
    u_char       kind;
    unsigned     len;
    EVP_MD_CTX  *md;

    md = EVP_MD_CTX_new();
    if (md == NULL) {
        return NGX_ERROR;
    }

    kind = question->introspect ? 'i' : question->jwt ? 'j' : 't';

    if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1
        || EVP_DigestUpdate(md, project->shm->key, project->shm->key_len)
           != 1
        || EVP_DigestUpdate(md, &kind, 1) != 1
        || EVP_DigestUpdate(md, question->token.data, question->token.len)
           != 1
        || EVP_DigestUpdate(md, question->check.data, question->check.len)
           != 1
        || EVP_DigestFinal_ex(md, question->key, &len) != 1)
    {
        EVP_MD_CTX_free(md);
        ERR_clear_error();
        return NGX_ERROR;
    }

    EVP_MD_CTX_free(md);

    return NGX_OK;
}


/*
 * A new flight: POST /v1[/b2b]/sessions/authenticate with the token, the
 * check and, with stytch_session_duration, the session's new duration.
 */

static ngx_http_stytch_flight_t *
ngx_http_stytch_flight_create(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_project_t *project,
    ngx_http_stytch_question_t *question, ngx_http_stytch_api_wait_t *wait)
{
    u_char                    *p;
    size_t                     len;
    ngx_buf_t                 *b;
    ngx_http_stytch_flight_t  *flight;

    if (question->introspect) {
        return ngx_http_stytch_flight_introspect(r, slcf, project, question,
                                                 wait);
    }

    /* the token was checked to hold only base64url characters and '.' */

    len = sizeof("{\"session_token\":\"\"}") - 1 + question->token.len
          + question->check.len
          + sizeof(",\"session_duration_minutes\":") - 1 + NGX_TIME_T_LEN;

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NULL;
    }

    p = ngx_sprintf(b->pos, "{\"%s\":\"%V\"",
                    question->jwt ? "session_jwt" : "session_token",
                    &question->token);

    if (question->check.len) {
        p = ngx_cpymem(p, question->check.data, question->check.len);
    }

    if (slcf->session_duration) {
        /* the session is extended as it is used: opt-in */
        p = ngx_sprintf(p, ",\"session_duration_minutes\":%T",
                        slcf->session_duration);
    }

    *p++ = '}';
    b->last = p;

    flight = ngx_http_stytch_flight_new(r, slcf, project, question);
    if (flight == NULL) {
        return NULL;
    }

    ngx_http_stytch_flight_start(r, slcf, flight, wait,
                                 project->b2b
                                 ? "/v1/b2b/sessions/authenticate"
                                 : "/v1/sessions/authenticate", b);

    return flight;
}


/*
 * A Connected Apps access token: POST
 * /v1/public/<project_id>/oauth2/introspect (RFC 7662) as its own client
 * asks, for Stytch answers active only to the client the token was issued
 * to: a confidential client (stytch_oauth_client) with its credentials, a
 * public one with its client_id alone.  The project's secret is not sent.
 */

static ngx_http_stytch_flight_t *
ngx_http_stytch_flight_introspect(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_project_t *project,
    ngx_http_stytch_question_t *question, ngx_http_stytch_api_wait_t *wait)
{
    u_char                          *p, *path;
    size_t                           len;
    uintptr_t                        escape;
    ngx_buf_t                       *b;
    ngx_uint_t                       i;
    ngx_http_stytch_flight_t        *flight;
    ngx_http_stytch_oauth_client_t  *client, *confidential;

    static ngx_str_t  form = ngx_string("application/x-www-form-urlencoded");
    static ngx_str_t  none = ngx_null_string;

    confidential = NULL;

    if (slcf->oauth_clients) {
        client = slcf->oauth_clients->elts;

        for (i = 0; i < slcf->oauth_clients->nelts; i++) {
            if (client[i].client_id.len == question->client_id.len
                && ngx_strncmp(client[i].client_id.data,
                               question->client_id.data,
                               question->client_id.len)
                   == 0)
            {
                confidential = &client[i];
                break;
            }
        }
    }

    escape = 2 * ngx_escape_uri(NULL, question->client_id.data,
                                question->client_id.len, NGX_ESCAPE_ARGS);

    /* the token was checked to hold only base64url characters and '.' */

    len = sizeof("token=&token_type_hint=access_token&client_id=") - 1
          + question->token.len + question->client_id.len + escape;

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NULL;
    }

    p = ngx_sprintf(b->pos, "token=%V&token_type_hint=access_token",
                    &question->token);

    if (confidential == NULL) {
        p = ngx_cpymem(p, "&client_id=", sizeof("&client_id=") - 1);
        p = (u_char *) ngx_escape_uri(p, question->client_id.data,
                                      question->client_id.len,
                                      NGX_ESCAPE_ARGS);
    }

    b->last = p;

    len = sizeof("/v1/public//oauth2/introspect") + project->project_id.len;

    path = ngx_pnalloc(r->pool, len);
    if (path == NULL) {
        return NULL;
    }

    ngx_sprintf(path, "/v1/public/%V/oauth2/introspect%Z",
                &project->project_id);

    flight = ngx_http_stytch_flight_new(r, slcf, project, question);
    if (flight == NULL) {
        return NULL;
    }

    flight->introspect = 1;
    flight->call.content_type = &form;
    flight->call.authorization = confidential ? &confidential->basic_auth
                                              : &none;

    ngx_http_stytch_flight_start(r, slcf, flight, wait, (char *) path, b);

    return flight;
}


static ngx_http_stytch_flight_t *
ngx_http_stytch_flight_new(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_project_t *project,
    ngx_http_stytch_question_t *question)
{
    ngx_http_stytch_flight_t  *flight;

    flight = ngx_calloc(sizeof(ngx_http_stytch_flight_t),
                        r->connection->log);
    if (flight == NULL) {
        return NULL;
    }

    ngx_memcpy(flight->keyed.key, question->key, NGX_HTTP_STYTCH_KEY_LEN);
    ngx_memcpy(&flight->keyed.node.key, question->key,
               sizeof(ngx_rbtree_key_t));
    ngx_queue_init(&flight->waiters);

    flight->project = project;
    flight->cache = slcf->api_cache ? project->shm_zone : NULL;
    flight->valid = slcf->api_cache_valid;
    flight->reject_valid = slcf->api_cache_reject;

    flight->call.handler = ngx_http_stytch_flight_called;
    flight->call.data = flight;

    return flight;
}


/* The flight is known to other requests, and its call made. */

static void
ngx_http_stytch_flight_start(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_flight_t *flight,
    ngx_http_stytch_api_wait_t *wait, char *path, ngx_buf_t *b)
{
    ngx_rbtree_insert(&ngx_http_stytch_flights, &flight->keyed.node);
    flight->in_tree = 1;

    /* the leader's reference lasts as long as its request */
    flight->refs = 1;
    wait->led = flight;

    ngx_http_stytch_flight_join(flight, wait);

    if (ngx_http_stytch_api_call(r, slcf, path, b, &flight->call) != NGX_OK) {
        flight->call.over = 1;
        ngx_http_stytch_flight_land(flight, STYTCH_INTERNAL_ERROR, NULL);
    }
}


static void
ngx_http_stytch_flight_join(ngx_http_stytch_flight_t *flight,
    ngx_http_stytch_api_wait_t *wait)
{
    flight->refs++;
    ngx_queue_insert_tail(&flight->waiters, &wait->queue);
    wait->flight = flight;
}


static void
ngx_http_stytch_flight_release(ngx_http_stytch_flight_t *flight)
{
    if (--flight->refs) {
        return;
    }

    if (flight->in_tree) {
        ngx_rbtree_delete(&ngx_http_stytch_flights, &flight->keyed.node);
    }

    ngx_http_stytch_api_call_free(&flight->call);

    if (flight->answer.session) {
        stytch_session_release(flight->answer.session);
    }

    ngx_free(flight);
}


/* The outcome of a flight's call becomes its answer. */

static void
ngx_http_stytch_flight_called(ngx_http_stytch_call_t *call)
{
    ngx_http_stytch_flight_t *flight = call->data;

    stytch_status_t    status;
    stytch_session_t  *session;

    session = NULL;

    switch (call->outcome) {

    case NGX_HTTP_STYTCH_CALL_GONE:
        ngx_http_stytch_flight_orphan(flight);
        return;

    case NGX_HTTP_STYTCH_CALL_ANSWERED:
        status = ngx_http_stytch_flight_read(call, &session);
        break;

    case NGX_HTTP_STYTCH_CALL_NO_UPSTREAM:
        status = STYTCH_INTERNAL_ERROR;
        break;

    case NGX_HTTP_STYTCH_CALL_OVERSIZE:
    case NGX_HTTP_STYTCH_CALL_REDIRECTED:
        status = STYTCH_API_RESPONSE_INVALID;
        break;

    default: /* NGX_HTTP_STYTCH_CALL_FAILED, NGX_HTTP_STYTCH_CALL_DEADLINE */
        status = STYTCH_API_UNAVAILABLE;
        break;
    }

    ngx_http_stytch_flight_land(flight, status, session);

    if (session) {
        stytch_session_release(session);
    }
}


static stytch_status_t
ngx_http_stytch_flight_read(ngx_http_stytch_call_t *call,
    stytch_session_t **session)
{
    ngx_log_t                 *log;
    ngx_uint_t                 route;
    const char                *directive;
    stytch_status_t            result;
    stytch_api_error_t         error;
    ngx_http_stytch_flight_t  *flight;

    log = call->log;

    ngx_memzero(&error, sizeof(stytch_api_error_t));

    flight = call->data;

    if (flight->introspect) {
        result = stytch_api_parse_introspection(call->status,
                                                (char *) call->body,
                                                call->len, session, &error);

    } else {
        result = stytch_api_parse_authenticate(call->status,
                                               (char *) call->body,
                                               call->len, session, &error);
    }

    switch (stytch_status_action(result)) {

    case STYTCH_ACTION_ERROR:
        directive = ngx_http_stytch_project_directive(flight->project,
                                                      &error);

        /*
         * a path that is no route: the API location's proxy_pass, most
         * often written without the trailing "/" that replaces its URI
         */
        route = ngx_strcmp(error.error_type, "route_not_found") == 0;

        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "stytch: the API refused the project's configuration "
                      "(%ui %s): check \"%s\"%s", call->status,
                      error.error_type[0] ? error.error_type
                                          : "an answer that is not Stytch's",
                      directive ? directive : "stytch_api_url",
                      route ? ": \"proxy_pass\" in the API location likely "
                              "lacks its trailing \"/\" (\"proxy_pass "
                              "https://api.stytch.com/;\")" : "");
        break;

    case STYTCH_ACTION_UNAVAILABLE:
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "stytch: the API answered %ui: %s%s%s", call->status,
                      stytch_status_name(result),
                      error.error_type[0] ? ", " : "", error.error_type);
        break;

    case STYTCH_ACTION_ALLOW:
        break;

    default:
        ngx_log_error(NGX_LOG_INFO, log, 0,
                      "stytch: the API answered %ui: %s", call->status,
                      error.error_type[0] ? error.error_type
                                          : stytch_status_name(result));
        break;
    }

    return result;
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
        ngx_rbtree_delete(&ngx_http_stytch_flights, &flight->keyed.node);
        flight->in_tree = 0;
    }

    sp = flight->project->shm;

    if (flight->call.started) {
        ngx_http_stytch_zone_latency(sp,
                                     ngx_current_msec - flight->call.started);
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
        ngx_http_stytch_cache_put(flight->cache, flight->keyed.key,
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
        ngx_rbtree_delete(&ngx_http_stytch_flights, &flight->keyed.node);
        flight->in_tree = 0;
    }

    /* nothing more is wanted of the call */
    flight->call.over = 1;

    if (flight->call.deadline.timer_set) {
        ngx_del_timer(&flight->call.deadline);
    }

    ngx_http_stytch_flight_wake(flight);
}


static void
ngx_http_stytch_flight_wake(ngx_http_stytch_flight_t *flight)
{
    ngx_queue_t                 *q;
    ngx_http_stytch_api_wait_t  *wait;

    for (q = ngx_queue_head(&flight->waiters);
         q != ngx_queue_sentinel(&flight->waiters);
         q = ngx_queue_next(q))
    {
        wait = ngx_queue_data(q, ngx_http_stytch_api_wait_t, queue);
        ngx_post_event(wait->wake, &ngx_posted_events);
    }
}


/*
 * A POST of the JSON in b to Stytch's path, through the API location.  The
 * subrequest carries nothing of the client's request: its headers are
 * replaced by the three that Stytch needs, and its body is b.  Its context
 * is the call: an internal redirect of the call (X-Accel-Redirect in the
 * answer) clears it, which tells the body filter and the completion.
 *
 * It is not NGX_HTTP_SUBREQUEST_IN_MEMORY: an answer over that buffer
 * ends the subrequest in NGX_ERROR, which terminates the client's request
 * too; the body filter reads the answer instead, up to a limit.  Nor is
 * it a background one: the body filter sees the answer as it comes, not
 * only when the upstream has sent it all.
 */

ngx_int_t
ngx_http_stytch_api_call(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, const char *path, ngx_buf_t *b,
    ngx_http_stytch_call_t *call)
{
    ngx_str_t                    uri, length, *auth;
    ngx_chain_t                 *cl;
    ngx_http_request_t          *sr;
    ngx_http_request_body_t     *rb;
    ngx_http_post_subrequest_t  *ps;

    static ngx_str_t  post = ngx_string("POST");
    static ngx_str_t  json = ngx_string("application/json");

    call->timeout = slcf->api_deadline;
    call->log = r->connection->log;
    call->deadline.handler = ngx_http_stytch_call_deadline;
    call->deadline.data = &ngx_http_stytch_api_dummy;
    call->deadline.log = ngx_cycle->log;
    ngx_http_stytch_api_dummy.fd = (ngx_socket_t) -1;

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

    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));
    if (ps == NULL) {
        return NGX_ERROR;
    }

    ps->handler = ngx_http_stytch_call_done;
    ps->data = call;

    if (ngx_http_subrequest(r, &uri, NULL, &sr, ps,
                            NGX_HTTP_SUBREQUEST_WAITED)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /*
     * First, before anything can fail: the subrequest starts with the
     * client's headers and body, and none of them may reach Stytch.
     */
    ngx_memzero(&sr->headers_in, sizeof(ngx_http_headers_in_t));
    sr->request_body = rb;

    /*
     * The subrequest sends a body of its own, whatever became of the
     * client's: it inherits discard_body from a request that discarded its
     * body (stytch_logout's), and freenginx's proxy sends no body and no
     * Content-Length for a request that discards one.
     */
    sr->discard_body = 0;

    ngx_http_set_ctx(sr, call, ngx_http_stytch_module);
    call->sr = sr;

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
                                         call->content_type
                                         ? call->content_type : &json);
    sr->headers_in.content_length =
        ngx_http_stytch_add_input_header(sr, "Content-Length",
                                         "content-length", &length);

    if (sr->headers_in.content_type == NULL
        || sr->headers_in.content_length == NULL)
    {
        return NGX_ERROR;
    }

    /* a public Connected App introspects with no credentials */
    auth = call->authorization ? call->authorization : &slcf->basic_auth;

    if (auth->len) {
        sr->headers_in.authorization =
            ngx_http_stytch_add_input_header(sr, "Authorization",
                                             "authorization", auth);
        if (sr->headers_in.authorization == NULL) {
            return NGX_ERROR;
        }
    }

    sr->method = NGX_HTTP_POST;
    sr->method_name = post;
    sr->header_only = 0;

    ngx_add_timer(&call->deadline, call->timeout);
    call->started = ngx_current_msec;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "stytch: asking the API through \"%V\"", &uri);

    return NGX_OK;
}


/* What a call holds once it is no longer wanted; the caller's memory. */

void
ngx_http_stytch_api_call_free(ngx_http_stytch_call_t *call)
{
    call->over = 1;

    if (call->deadline.timer_set) {
        ngx_del_timer(&call->deadline);
    }

    if (call->body) {
        ngx_free(call->body);
        call->body = NULL;
    }
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
 * answered, or why there is no answer, and nothing else.  A failed call is
 * an outcome too: no error page is made for it.
 */

static ngx_int_t
ngx_http_stytch_call_done(ngx_http_request_t *sr, void *data, ngx_int_t rc)
{
    ngx_http_stytch_call_t *call = data;

    ngx_uint_t             status;
    ngx_http_upstream_t   *u;

    if (rc == NGX_AGAIN || call->ended) {
        return rc;
    }

    call->ended = 1;
    call->sr = NULL;

    if (call->over) {
        /* decided already: by the deadline, the size limit, a redirect */
        return rc >= NGX_HTTP_SPECIAL_RESPONSE ? NGX_OK : rc;
    }

    if (rc == NGX_HTTP_CLIENT_CLOSED_REQUEST || sr->connection->error) {
        /* the client that made the call went away: no answer was had */
        ngx_log_error(NGX_LOG_INFO, sr->connection->log, 0,
                      "stytch: the client went away before the API "
                      "answered");
        ngx_http_stytch_call_over(call, NGX_HTTP_STYTCH_CALL_GONE);
        return rc;
    }

    status = sr->headers_out.status;

    if (ngx_http_get_module_ctx(sr, ngx_http_stytch_module) != call) {
        ngx_log_error(NGX_LOG_ERR, sr->connection->log, 0,
                      "stytch: the API's answer redirected the call "
                      "internally (X-Accel-Redirect): it is refused");
        ngx_http_stytch_call_over(call, NGX_HTTP_STYTCH_CALL_REDIRECTED);

    } else if (sr->upstream == NULL && rc != NGX_ERROR) {
        /* the location answered by itself: it is not the API */
        ngx_log_error(NGX_LOG_ERR, sr->connection->log, 0,
                      "stytch: \"%V\" did not reach an upstream: "
                      "\"stytch_api_location\" must name a location with "
                      "\"proxy_pass\" to the Stytch API", &sr->uri);
        ngx_http_stytch_call_over(call, NGX_HTTP_STYTCH_CALL_NO_UPSTREAM);

    } else if (rc == NGX_ERROR || status == 0
               || (rc >= NGX_HTTP_SPECIAL_RESPONSE && call->len == 0))
    {
        /* connection refused, timeout, TLS handshake ... */
        u = sr->upstream;

        if (u && u->ssl && u->state
            && u->state->connect_time == (ngx_msec_t) -1)
        {
            /* no request was sent: the handshake failed, or the connect */
            ngx_log_error(NGX_LOG_ERR, sr->connection->log, 0,
                          "stytch: the API call through \"%V\" failed "
                          "(status %ui) before its request was sent: when "
                          "the upstream's certificate is refused above "
                          "(verify failed, name mismatch), set "
                          "\"proxy_ssl_name\" to a name in it and "
                          "\"proxy_ssl_trusted_certificate\" to its CA "
                          "in the API location", &sr->uri,
                          rc > 0 ? (ngx_uint_t) rc : status);

        } else {
            ngx_log_error(NGX_LOG_ERR, sr->connection->log, 0,
                          "stytch: the API call through \"%V\" failed "
                          "(status %ui)", &sr->uri,
                          rc > 0 ? (ngx_uint_t) rc : status);
        }

        ngx_http_stytch_call_over(call, NGX_HTTP_STYTCH_CALL_FAILED);

    } else {
        call->status = status;
        ngx_http_stytch_call_over(call, NGX_HTTP_STYTCH_CALL_ANSWERED);
    }

    return rc >= NGX_HTTP_SPECIAL_RESPONSE ? NGX_OK : rc;
}


static void
ngx_http_stytch_call_deadline(ngx_event_t *ev)
{
    ngx_http_stytch_call_t  *call;

    call = (ngx_http_stytch_call_t *)
               ((u_char *) ev - offsetof(ngx_http_stytch_call_t, deadline));

    ngx_log_error(NGX_LOG_ERR, ev->log, 0,
                  "stytch: the API did not answer within %M ms "
                  "(\"stytch_api_deadline\")", call->timeout);

    ngx_http_stytch_call_over(call, NGX_HTTP_STYTCH_CALL_DEADLINE);
    ngx_http_stytch_call_stop(call);
}


static void
ngx_http_stytch_call_over(ngx_http_stytch_call_t *call, ngx_uint_t outcome)
{
    if (call->over) {
        return;
    }

    call->over = 1;
    call->outcome = outcome;

    if (call->deadline.timer_set) {
        ngx_del_timer(&call->deadline);
    }

    call->handler(call);
}


/*
 * Ends a call whose answer is no longer wanted, through NGINX's own path
 * for an upstream that timed out: nothing more is read from it.
 */

static void
ngx_http_stytch_call_stop(ngx_http_stytch_call_t *call)
{
    ngx_connection_t     *c;
    ngx_http_upstream_t  *u;

    if (call->sr == NULL || call->ended) {
        return;
    }

    u = call->sr->upstream;

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
 * The call whose subrequest r is, or NULL.  It is found through the
 * subrequest's completion, which an internal redirect keeps, not through
 * its context, which the redirect clears: a call redirected by its answer
 * (X-Accel-Redirect) is refused and ended here, as soon as the new
 * location answers, whatever it would send.
 */

static ngx_http_stytch_call_t *
ngx_http_stytch_call_of(ngx_http_request_t *r)
{
    ngx_http_stytch_call_t  *call;

    if (r == r->main || r->post_subrequest == NULL
        || r->post_subrequest->handler != ngx_http_stytch_call_done)
    {
        return NULL;
    }

    call = r->post_subrequest->data;

    if (!call->over
        && ngx_http_get_module_ctx(r, ngx_http_stytch_module) != call)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "stytch: the API's answer redirected the call "
                      "internally (X-Accel-Redirect): it is refused");

        ngx_http_stytch_call_over(call, NGX_HTTP_STYTCH_CALL_REDIRECTED);
        ngx_http_stytch_call_stop(call);
    }

    return call;
}


static ngx_int_t
ngx_http_stytch_header_filter(ngx_http_request_t *r)
{
    (void) ngx_http_stytch_call_of(r);

    return ngx_http_next_header_filter(r);
}


/*
 * Gathers the API's answer in memory, up to a limit, and keeps it from the
 * client: nothing of a Stytch subrequest goes further down the chain.
 */

static ngx_int_t
ngx_http_stytch_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    u_char                  *p;
    size_t                   n, size;
    ngx_buf_t               *b;
    ngx_chain_t             *cl;
    ngx_http_stytch_call_t  *call;

    call = ngx_http_stytch_call_of(r);

    if (call == NULL) {
        return ngx_http_next_body_filter(r, in);
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

        if (call->over || n == 0) {
            b->pos = b->last;
            continue;
        }

        if (call->len + n > NGX_HTTP_STYTCH_MAX_API_BODY) {
            b->pos = b->last;

            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "stytch: the API's answer is over %uz bytes: the "
                          "call is ended",
                          (size_t) NGX_HTTP_STYTCH_MAX_API_BODY);

            ngx_http_stytch_call_over(call, NGX_HTTP_STYTCH_CALL_OVERSIZE);
            ngx_http_stytch_call_stop(call);
            continue;
        }

        if (call->len + n > call->size) {
            size = ngx_max(call->size * 2, call->len + n);
            size = ngx_max(size, 4096);
            size = ngx_min(size, NGX_HTTP_STYTCH_MAX_API_BODY);

            p = ngx_alloc(size, r->connection->log);
            if (p == NULL) {
                return NGX_ERROR;
            }

            if (call->len) {
                ngx_memcpy(p, call->body, call->len);
            }

            if (call->body) {
                ngx_free(call->body);
            }

            call->body = p;
            call->size = size;
        }

        call->len = ngx_cpymem(call->body + call->len, b->pos, n)
                    - call->body;
        b->pos = b->last;
    }

    return NGX_OK;
}
