
/*
 * ngx_http_stytch_module: the request path.
 *
 * The access phase handler takes each request through one explicit state,
 * ctx->state, written here only.  Deciding is a loop: each step moves the
 * state on or makes the request wait; a waiting request is woken (by the
 * refresh timer, or by the API call's completion) and the loop goes on
 * where it stopped.
 *
 *   START          the tokens are read and the JWT is verified locally
 *                    valid                              -> AUTHENTICATED
 *                    valid, "strict"                    -> ASK
 *                    malformed, forged, unknown kid of
 *                    a key set fetched within cooldown  -> DECIDED
 *                    unknown kid, older key set         -> KEYS
 *                    expired, too old, keys unavailable,
 *                    or an opaque session token         -> ASK
 *                    nothing the API may be asked about -> DECIDED
 *   KEYS           waits for the key set's refresh      -> START
 *   ASK            the API-result cache answers         -> ANSWERED
 *                  a call is made, or one is joined     -> API
 *   API            waits; the answer came               -> ANSWERED
 *                  the call's maker went away           -> ASK
 *   ANSWERED       the session is accepted              -> AUTHENTICATED
 *                  a permission check answered          -> AUTHENTICATED
 *                  refused                              -> DECIDED
 *   AUTHENTICATED  authorization allows or denies       -> DECIDED
 *                  a permission the API must check      -> ASK
 *   DECIDED        the response: allow, 401, 403, 503 or 500
 *
 * An internal redirect into another location keeps the identity only when
 * that location is not stricter; otherwise the request starts again.
 * This file also owns the response's headers: the challenge, Retry-After,
 * the refreshed cookies and what keeps shared caches from storing them.
 */


#include "ngx_http_stytch_module.h"


static ngx_int_t ngx_http_stytch_start(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx);
static ngx_int_t ngx_http_stytch_keys(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx);
static ngx_int_t ngx_http_stytch_ask(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx);
static ngx_int_t ngx_http_stytch_wait(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx);
static void ngx_http_stytch_answer(ngx_http_stytch_ctx_t *ctx,
    ngx_http_stytch_answer_t *answer, char *source);
static ngx_int_t ngx_http_stytch_answered(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx);
static ngx_int_t ngx_http_stytch_authorized(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx);
static ngx_int_t ngx_http_stytch_respond(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx);

static void ngx_http_stytch_relocate(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx);
static ngx_uint_t ngx_http_stytch_stricter(ngx_http_stytch_loc_conf_t *prev,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx);
static void ngx_http_stytch_verify(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx);
static void ngx_http_stytch_set_session(ngx_http_stytch_ctx_t *ctx,
    stytch_session_t *session);
static void ngx_http_stytch_keys_timeout(ngx_event_t *ev);

static void ngx_http_stytch_tokens(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx);
static ngx_uint_t ngx_http_stytch_dots(ngx_str_t *token);
static ngx_uint_t ngx_http_stytch_preflight(ngx_http_request_t *r);
static ngx_int_t ngx_http_stytch_bearer(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_str_t *token);

static ngx_int_t ngx_http_stytch_challenge(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_uint_t invalid);
static ngx_int_t ngx_http_stytch_forbid(ngx_http_request_t *r,
    ngx_str_t *scope);
static ngx_int_t ngx_http_stytch_verdict(ngx_http_stytch_ctx_t *ctx);
static ngx_int_t ngx_http_stytch_clear_cookies(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx);
static ngx_int_t ngx_http_stytch_unavailable(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf);
static ngx_int_t ngx_http_stytch_set_cookies(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx);
static ngx_int_t ngx_http_stytch_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_stytch_private(ngx_http_request_t *r);
static ngx_uint_t ngx_http_stytch_shared_directive(u_char *p, size_t len);

static ngx_http_stytch_ctx_t *ngx_http_stytch_create_ctx(
    ngx_http_request_t *r);
static void ngx_http_stytch_cleanup(void *data);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;


ngx_int_t
ngx_http_stytch_handler_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_stytch_header_filter;

    return NGX_OK;
}


ngx_int_t
ngx_http_stytch_handler(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_http_stytch_ctx_t       *ctx;
    ngx_http_stytch_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_stytch_module);

    if (slcf->auth == NGX_HTTP_STYTCH_AUTH_OFF) {
        return NGX_DECLINED;
    }

    /* a CORS preflight carries no credentials: its location answers it */
    if (slcf->cors_preflight && ngx_http_stytch_preflight(r)) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_stytch_get_ctx(r);

    if (ctx == NULL) {
        ctx = ngx_http_stytch_create_ctx(r);
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->conf = slcf;
        ctx->project = slcf->project;

    } else if (ctx->conf != slcf) {
        ngx_http_stytch_relocate(r, slcf, ctx);
    }

    for ( ;; ) {

        switch (ctx->state) {

        case NGX_HTTP_STYTCH_START:
            rc = ngx_http_stytch_start(r, slcf, ctx);
            break;

        case NGX_HTTP_STYTCH_KEYS:
            rc = ngx_http_stytch_keys(r, slcf, ctx);
            break;

        case NGX_HTTP_STYTCH_ASK:
            rc = ngx_http_stytch_ask(r, slcf, ctx);
            break;

        case NGX_HTTP_STYTCH_API:
            rc = ngx_http_stytch_wait(r, slcf, ctx);
            break;

        case NGX_HTTP_STYTCH_ANSWERED:
            rc = ngx_http_stytch_answered(r, slcf, ctx);
            break;

        case NGX_HTTP_STYTCH_AUTHENTICATED:
            rc = ngx_http_stytch_authorized(r, slcf, ctx);
            break;

        default: /* NGX_HTTP_STYTCH_DECIDED */
            return ngx_http_stytch_respond(r, slcf, ctx);
        }

        /* NGX_OK: the state moved on; NGX_AGAIN: the request waits */

        if (rc != NGX_OK) {
            return rc;
        }
    }
}


static ngx_int_t
ngx_http_stytch_start(ngx_http_request_t *r, ngx_http_stytch_loc_conf_t *slcf,
    ngx_http_stytch_ctx_t *ctx)
{
    ngx_int_t  rc;
    ngx_str_t  token;

    ngx_http_stytch_tokens(r, slcf, ctx);

    ctx->status = STYTCH_TOKEN_MISSING;
    ngx_str_null(&ctx->call.check);
    ngx_str_null(&ctx->call.token);

    if (ctx->jwt.len) {
        ngx_http_stytch_verify(r, slcf, ctx);

        /* an authorization_check may need to send it */
        ctx->call.token = ctx->jwt;
        ctx->call.jwt = 1;

        if (ctx->status == STYTCH_OK) {

            if (slcf->auth != NGX_HTTP_STYTCH_AUTH_STRICT || ctx->m2m) {
                ctx->state = NGX_HTTP_STYTCH_AUTHENTICATED;
                return NGX_OK;
            }

            /* strict: the API checks the session of every request */
            ngx_http_stytch_set_session(ctx, NULL);
        }

        if (stytch_status_action(ctx->status) == STYTCH_ACTION_UNAUTHORIZED
            || ctx->m2m)
        {
            /*
             * Forged or malformed: the API cannot make it good; an M2M
             * token has no session for the API to look at.
             */
            ctx->state = NGX_HTTP_STYTCH_DECIDED;
            return NGX_OK;
        }

        if (ctx->status == STYTCH_JWKS_UNKNOWN_KID
            || ctx->status == STYTCH_JWKS_NO_KEYS)
        {
            rc = ngx_http_stytch_project_keys(ctx->project, ctx);

            if (rc == NGX_DECLINED) {
                /* not in a key set fetched within the cooldown: forged */
                ctx->state = NGX_HTTP_STYTCH_DECIDED;
                return NGX_OK;
            }

            if (rc == NGX_AGAIN) {
                ctx->keys_timer.handler = ngx_http_stytch_keys_timeout;
                ctx->keys_timer.data = ctx;
                ctx->keys_timer.log = r->connection->log;
                ngx_add_timer(&ctx->keys_timer,
                              (ngx_msec_t) (ctx->keys_deadline - ngx_time())
                              * 1000);

                r->read_event_handler = ngx_http_test_reading;
                r->write_event_handler = ngx_http_request_empty_handler;

                ctx->state = NGX_HTTP_STYTCH_KEYS;
                return NGX_AGAIN;
            }

            /* NGX_ABORT: no keys can be had now, the API decides */
        }
    }

    if (!slcf->fallback) {
        ctx->state = NGX_HTTP_STYTCH_DECIDED;
        return NGX_OK;
    }

    if (slcf->auth == NGX_HTTP_STYTCH_AUTH_REPORT
        && ngx_time() - ctx->project->api_failed < slcf->retry_after)
    {
        /* reporting never waits for an API that just failed */
        ctx->status = STYTCH_API_UNAVAILABLE;
        ctx->state = NGX_HTTP_STYTCH_DECIDED;
        return NGX_OK;
    }

    /* the API: the opaque session token when there is one, else the JWT */

    if (ctx->session_token.len) {
        token = ctx->session_token;
        ctx->call.jwt = 0;

    } else if (ctx->jwt.len) {
        token = ctx->jwt;
        ctx->call.jwt = 1;

    } else {
        ctx->state = NGX_HTTP_STYTCH_DECIDED;
        return NGX_OK;
    }

    /* a session token is base64url: with a dot, it is a JWT misplaced */
    if (!ngx_http_stytch_token_is_safe(&token)
        || (!ctx->call.jwt && ngx_http_stytch_dots(&token)))
    {
        ctx->status = STYTCH_TOKEN_MALFORMED;
        ctx->state = NGX_HTTP_STYTCH_DECIDED;
        return NGX_OK;
    }

    if (ctx->status != STYTCH_TOKEN_MISSING && ctx->status != STYTCH_OK) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "stytch: %s, asking the API",
                      stytch_status_name(ctx->status));
    }

    ctx->call.token = token;
    ctx->state = NGX_HTTP_STYTCH_ASK;

    return NGX_OK;
}


static ngx_int_t
ngx_http_stytch_keys(ngx_http_request_t *r, ngx_http_stytch_loc_conf_t *slcf,
    ngx_http_stytch_ctx_t *ctx)
{
    if (!ngx_http_stytch_project_keys_moved(ctx->project, ctx)) {
        return NGX_AGAIN;
    }

    ngx_queue_remove(&ctx->waiting);

    if (ctx->keys_timer.timer_set) {
        ngx_del_timer(&ctx->keys_timer);
    }

    /* verify again, with what the refresh brought */
    ctx->state = NGX_HTTP_STYTCH_START;

    return NGX_OK;
}


static void
ngx_http_stytch_keys_timeout(ngx_event_t *ev)
{
    ngx_http_request_t     *r;
    ngx_http_stytch_ctx_t  *ctx;

    ctx = ev->data;
    r = ctx->request;

    r->write_event_handler = ngx_http_core_run_phases;
    ngx_post_event(r->connection->write, &ngx_posted_events);
}


static ngx_int_t
ngx_http_stytch_ask(ngx_http_request_t *r, ngx_http_stytch_loc_conf_t *slcf,
    ngx_http_stytch_ctx_t *ctx)
{
    ngx_int_t                 rc;
    ngx_http_stytch_answer_t  answer;

    rc = ngx_http_stytch_api_ask(r, slcf, ctx, &answer);

    if (rc == NGX_AGAIN) {
        ctx->state = NGX_HTTP_STYTCH_API;
        return NGX_AGAIN;
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_stytch_answer(ctx, &answer, "cache");

    return NGX_OK;
}


static ngx_int_t
ngx_http_stytch_wait(ngx_http_request_t *r, ngx_http_stytch_loc_conf_t *slcf,
    ngx_http_stytch_ctx_t *ctx)
{
    ngx_int_t                 rc;
    ngx_http_stytch_answer_t  answer;

    rc = ngx_http_stytch_api_take(ctx, &answer);

    if (rc == NGX_AGAIN) {
        return NGX_AGAIN;
    }

    if (rc == NGX_DECLINED) {
        /* the request that made the call went away: ask again */
        ctx->state = NGX_HTTP_STYTCH_ASK;
        return NGX_OK;
    }

    ngx_http_stytch_answer(ctx, &answer, "api");

    return NGX_OK;
}


/* The API's answer becomes the request's; its reference is taken over. */

static void
ngx_http_stytch_answer(ngx_http_stytch_ctx_t *ctx,
    ngx_http_stytch_answer_t *answer, char *source)
{
    ctx->status = answer->status;
    ctx->answered = answer->answered;
    ngx_http_stytch_set_session(ctx, answer->session);

    ctx->source.data = (u_char *) source;
    ctx->source.len = ngx_strlen(source);

    if (answer->session) {
        stytch_session_release(answer->session);
    }

    ctx->state = NGX_HTTP_STYTCH_ANSWERED;
}


static ngx_int_t
ngx_http_stytch_answered(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx)
{
    if (ctx->checking >= 0) {
        /* the API answered an authorization_check */

        if (ctx->status == STYTCH_OK) {
            ctx->verified |= (uint32_t) 1 << ctx->checking;
        }

        ctx->checking = -1;
        ngx_str_null(&ctx->call.check);
    }

    ctx->state = (ctx->status == STYTCH_OK && ctx->session)
                 ? NGX_HTTP_STYTCH_AUTHENTICATED : NGX_HTTP_STYTCH_DECIDED;

    return NGX_OK;
}


static ngx_int_t
ngx_http_stytch_authorized(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx)
{
    ngx_int_t  rc;
    ngx_str_t  check;

    ctx->authenticated = 1;
    ctx->status = STYTCH_OK;

    rc = ngx_http_stytch_authorize(r, slcf, ctx, &ctx->deny, &check);

    switch (rc) {

    case NGX_OK:
    case NGX_DECLINED:
        ctx->state = NGX_HTTP_STYTCH_DECIDED;
        return NGX_OK;

    case NGX_AGAIN:
        ctx->call.check = check;
        ctx->state = NGX_HTTP_STYTCH_ASK;
        return NGX_OK;

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}


/*
 * Turns the outcome into the answer: one table, in the core, says what
 * each status means; this is the one place that says how NGINX answers it.
 */

static ngx_int_t
ngx_http_stytch_respond(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx)
{
    ngx_int_t        rc;
    stytch_action_t  action;

    action = stytch_status_action(ctx->status);

    if (slcf->auth == NGX_HTTP_STYTCH_AUTH_REPORT) {
        /* the verdict, in the variables and the log, and nothing else */

        if (action == STYTCH_ACTION_ALLOW) {
            return NGX_DECLINED;
        }

        if (!ctx->reported) {
            ctx->reported = 1;
            (void) ngx_atomic_fetch_add(&ctx->project->shm->reported, 1);

            rc = ngx_http_stytch_verdict(ctx);

            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "stytch: report only: would answer %i: %s", rc,
                          stytch_status_name(ctx->status));
        }

        return NGX_DECLINED;
    }

    if (action != STYTCH_ACTION_ALLOW) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "stytch: access denied: %s",
                      stytch_status_name(ctx->status));
    }

    switch (action) {

    case STYTCH_ACTION_ALLOW:
        if (ngx_http_stytch_set_cookies(r, slcf, ctx) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return NGX_OK;

    case STYTCH_ACTION_UNAUTHORIZED:
        if (ctx->status == STYTCH_API_SESSION_NOT_FOUND
            && ngx_http_stytch_clear_cookies(r, slcf, ctx) != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_stytch_challenge(r, slcf,
                                         ctx->status != STYTCH_TOKEN_MISSING);

    case STYTCH_ACTION_FALLBACK:
        /* not asked: without keys nothing can be told; else it is stale */
        if (ctx->status == STYTCH_JWKS_NO_KEYS) {
            return ngx_http_stytch_unavailable(r, slcf);
        }

        return ngx_http_stytch_challenge(r, slcf, 1);

    case STYTCH_ACTION_FORBIDDEN:
        if (ctx->deny == NGX_HTTP_UNAUTHORIZED) {
            return ngx_http_stytch_challenge(r, slcf, 1);
        }

        return ngx_http_stytch_forbid(r, &ctx->scope);

    case STYTCH_ACTION_UNAVAILABLE:
        return ngx_http_stytch_unavailable(r, slcf);

    default: /* STYTCH_ACTION_ERROR */
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}


/* The HTTP status that enforcing would give, for report mode's log. */

static ngx_int_t
ngx_http_stytch_verdict(ngx_http_stytch_ctx_t *ctx)
{
    switch (stytch_status_action(ctx->status)) {

    case STYTCH_ACTION_ALLOW:
        return NGX_HTTP_OK;

    case STYTCH_ACTION_UNAUTHORIZED:
        return NGX_HTTP_UNAUTHORIZED;

    case STYTCH_ACTION_FALLBACK:
        return ctx->status == STYTCH_JWKS_NO_KEYS
               ? (ngx_int_t) ctx->conf->unavailable_status
               : NGX_HTTP_UNAUTHORIZED;

    case STYTCH_ACTION_FORBIDDEN:
        return (ngx_int_t) ctx->deny;

    case STYTCH_ACTION_UNAVAILABLE:
        return (ngx_int_t) ctx->conf->unavailable_status;

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}


/*
 * An internal redirect (index, try_files, error_page, X-Accel-Redirect)
 * into another location: the identity stays only where it is enough.
 */

static void
ngx_http_stytch_relocate(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx)
{
    ngx_http_stytch_loc_conf_t  *prev;

    prev = ctx->conf;

    ctx->conf = slcf;
    ctx->verified = 0;
    ctx->checking = -1;
    ctx->deny = NGX_HTTP_FORBIDDEN;

    if (ctx->authenticated && ctx->session
        && !ngx_http_stytch_stricter(prev, slcf, ctx))
    {
        /* the new location's own authorization rules still apply */
        ctx->state = NGX_HTTP_STYTCH_AUTHENTICATED;
        return;
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "stytch: a stricter location: authenticating again");

    ngx_http_stytch_set_session(ctx, NULL);

    ctx->project = slcf->project;
    ctx->status = STYTCH_TOKEN_MISSING;
    ctx->answered = 0;
    ctx->authenticated = 0;
    ctx->keys_waited = 0;
    ngx_str_null(&ctx->source);
    ctx->state = NGX_HTTP_STYTCH_START;
}


static ngx_uint_t
ngx_http_stytch_stricter(ngx_http_stytch_loc_conf_t *prev,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx)
{
    if (slcf->project != ctx->project) {
        return 1;
    }

    /* a location that does not take this kind of token refuses it anew */
    if (ctx->m2m ? slcf->auth != NGX_HTTP_STYTCH_AUTH_M2M && !slcf->accept_m2m
                 : slcf->auth == NGX_HTTP_STYTCH_AUTH_M2M)
    {
        return 1;
    }

    if (ctx->answered) {
        /* what the API said is younger than this location asks */
        return ngx_time() - ctx->answered > slcf->api_cache_valid;
    }

    /* verified locally only */

    if (slcf->auth == NGX_HTTP_STYTCH_AUTH_STRICT
        || slcf->leeway < prev->leeway)
    {
        return 1;
    }

    if (slcf->max_token_age == NGX_CONF_UNSET) {
        return 0;
    }

    return prev->max_token_age == NGX_CONF_UNSET
           || slcf->max_token_age < prev->max_token_age;
}


static void
ngx_http_stytch_verify(ngx_http_request_t *r, ngx_http_stytch_loc_conf_t *slcf,
    ngx_http_stytch_ctx_t *ctx)
{
    int                         cached;
    size_t                      len;
    const char                 *issuer;
    stytch_status_t             status;
    stytch_session_t           *session;
    stytch_verify_params_t      params;
    ngx_http_stytch_project_t  *project;

    project = ctx->project;

    (void) ngx_http_stytch_project_load_keys(project);

    ngx_memzero(&params, sizeof(stytch_verify_params_t));

    /* M2M tokens come in the Authorization header only, never a cookie */
    if (slcf->auth == NGX_HTTP_STYTCH_AUTH_M2M) {
        params.kinds = STYTCH_KIND_M2M;

    } else if (slcf->accept_m2m && !ctx->jwt_from_cookie) {
        params.kinds = STYTCH_KIND_SESSION | STYTCH_KIND_M2M;

    } else {
        params.kinds = STYTCH_KIND_SESSION;
    }

    ctx->m2m = 0;

    params.now = ngx_time();
    params.leeway = slcf->leeway;
    params.max_token_age = slcf->max_token_age != NGX_CONF_UNSET
                           ? slcf->max_token_age : -1;

    session = NULL;
    cached = 0;

    status = stytch_verifier_verify(project->verifier,
                                    (char *) ctx->jwt.data, ctx->jwt.len,
                                    &params, &session, &cached);

    ctx->status = status;
    ctx->m2m = (session && stytch_session_is_m2m(session));

    if (status == STYTCH_OK) {
        ngx_http_stytch_set_session(ctx, session);
        stytch_session_release(session);

        if (cached) {
            ngx_str_set(&ctx->source, "cache");
            (void) ngx_atomic_fetch_add(&project->shm->cache_hits, 1);

        } else {
            ngx_str_set(&ctx->source, "jwt");
        }

        (void) ngx_atomic_fetch_add(&project->shm->local_accepts, 1);

        return;
    }

    if (session) {
        /* who it was, for the log only: never trusted */

        if (status == STYTCH_CLAIM_ISSUER_MISMATCH && !project->issuer_logged)
        {
            project->issuer_logged = 1;

            issuer = stytch_session_field(session, STYTCH_FIELD_ISSUER,
                                          &len);

            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "stytch: a JWT signed with the key of project "
                          "\"%V\" has the issuer \"%*s\", which is not "
                          "accepted: if it is your custom domain, add it to "
                          "\"stytch_issuer\"; %s",
                          &project->project_id, ngx_min(len, 256), issuer,
                          ctx->m2m || !slcf->fallback
                          ? "the token is refused"
                          : "the API is asked meanwhile");
        }

        stytch_session_release(session);
    }

    (void) ngx_atomic_fetch_add(&project->shm->local_rejects, 1);
}


static void
ngx_http_stytch_set_session(ngx_http_stytch_ctx_t *ctx,
    stytch_session_t *session)
{
    if (ctx->session) {
        stytch_session_release(ctx->session);
    }

    ctx->session = session ? stytch_session_retain(session) : NULL;
}


/*
 * The JWT ("Authorization: Bearer" first, then the cookie) and the opaque
 * session token (its cookie).
 */

static void
ngx_http_stytch_tokens(ngx_http_request_t *r, ngx_http_stytch_loc_conf_t *slcf,
    ngx_http_stytch_ctx_t *ctx)
{
    ngx_str_t  bearer;

    ngx_str_null(&ctx->jwt);
    ngx_str_null(&ctx->session_token);
    ctx->jwt_from_cookie = 0;
    ctx->token_from_cookie = 0;

    if (slcf->jwt_header.len
        && ngx_http_stytch_bearer(r, slcf, &bearer) == NGX_OK)
    {
        /*
         * Mobile and server clients send the opaque session token as a
         * Bearer token too: a JWT has exactly two dots, a session token
         * none.  Only the API can check one.
         */
        if (slcf->auth != NGX_HTTP_STYTCH_AUTH_M2M && slcf->fallback
            && ngx_http_stytch_dots(&bearer) != 2)
        {
            ctx->session_token = bearer;

        } else {
            ctx->jwt = bearer;
        }

    } else if (slcf->auth != NGX_HTTP_STYTCH_AUTH_M2M
               && slcf->jwt_cookie.len
               && ngx_http_stytch_cookie(r, &slcf->jwt_cookie, &ctx->jwt)
                  == NGX_OK)
    {
        ctx->jwt_from_cookie = 1;
    }

    if (slcf->auth != NGX_HTTP_STYTCH_AUTH_M2M && slcf->session_cookie.len
        && ctx->session_token.len == 0
        && ngx_http_stytch_cookie(r, &slcf->session_cookie,
                                  &ctx->session_token)
           == NGX_OK)
    {
        ctx->token_from_cookie = 1;
    }
}


static ngx_uint_t
ngx_http_stytch_dots(ngx_str_t *token)
{
    u_char      *p, *last;
    ngx_uint_t   n;

    n = 0;
    last = token->data + token->len;

    for (p = token->data; p < last; p++) {
        p = memchr(p, '.', last - p);

        if (p == NULL) {
            break;
        }

        n++;
    }

    return n;
}


/* OPTIONS with Origin and Access-Control-Request-Method (Fetch standard) */

static ngx_uint_t
ngx_http_stytch_preflight(ngx_http_request_t *r)
{
    ngx_uint_t        i, origin, method;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    static ngx_str_t  acrm = ngx_string("Access-Control-Request-Method");

    if (r->method != NGX_HTTP_OPTIONS) {
        return 0;
    }

    origin = 0;
    method = 0;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == sizeof("Origin") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Origin",
                               sizeof("Origin") - 1)
               == 0)
        {
            origin = 1;

        } else if (h[i].key.len == acrm.len
                   && ngx_strncasecmp(h[i].key.data, acrm.data, acrm.len)
                      == 0)
        {
            method = 1;
        }
    }

    return origin && method;
}


static ngx_int_t
ngx_http_stytch_bearer(ngx_http_request_t *r, ngx_http_stytch_loc_conf_t *slcf,
    ngx_str_t *token)
{
    u_char           *p, *last;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h, *header;

    h = NULL;

    if (slcf->jwt_header.len == sizeof("Authorization") - 1
        && ngx_strncasecmp(slcf->jwt_header.data, (u_char *) "Authorization",
                           sizeof("Authorization") - 1)
           == 0)
    {
        h = r->headers_in.authorization;

    } else {
        part = &r->headers_in.headers.part;
        header = part->elts;

        for (i = 0; /* void */; i++) {

            if (i >= part->nelts) {
                if (part->next == NULL) {
                    break;
                }

                part = part->next;
                header = part->elts;
                i = 0;
            }

            if (header[i].key.len == slcf->jwt_header.len
                && ngx_strncasecmp(header[i].key.data, slcf->jwt_header.data,
                                   slcf->jwt_header.len)
                   == 0)
            {
                h = &header[i];
                break;
            }
        }
    }

    if (h == NULL) {
        return NGX_DECLINED;
    }

    p = h->value.data;
    last = p + h->value.len;

    /* another scheme (Basic, say) is left to other access modules */
    if (h->value.len < sizeof("Bearer ") - 1
        || ngx_strncasecmp(p, (u_char *) "Bearer ", sizeof("Bearer ") - 1)
           != 0)
    {
        return NGX_DECLINED;
    }

    p += sizeof("Bearer ") - 1;

    while (p < last && *p == ' ') {
        p++;
    }

    while (last > p && last[-1] == ' ') {
        last--;
    }

    token->data = p;
    token->len = last - p;

    return NGX_OK;
}


/*
 * A cookie's value, found as ngx_http_parse_multi_header_lines() finds it
 * (names compared case-insensitively, pairs separated by ";" or ",", the
 * first match wins), except that the ends of values are found with
 * memchr(): a session JWT cookie is 1-2 KB, which NGINX's parser reads a
 * byte at a time, and every request looks for the session token's cookie
 * past it.
 */

ngx_int_t
ngx_http_stytch_cookie(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *value)
{
    u_char           *start, *end, *semicolon, *comma;
    ngx_table_elt_t  *h;
#if (nginx_version < 1023000)
    ngx_uint_t        i;
    ngx_table_elt_t **hh;

    hh = r->headers_in.cookies.elts;

    for (i = 0; i < r->headers_in.cookies.nelts; i++) {
        h = hh[i];
#else

    for (h = r->headers_in.cookie; h; h = h->next) {
#endif

        start = h->value.data;
        end = h->value.data + h->value.len;

        while (start < end) {

            if (end - start > (ssize_t) name->len
                && ngx_strncasecmp(start, name->data, name->len) == 0)
            {
                for (start += name->len; start < end && *start == ' ';
                     start++)
                {
                    /* void */
                }

                if (start < end && *start == '=') {
                    start++;

                    while (start < end && *start == ' ') {
                        start++;
                    }

                    semicolon = memchr(start, ';', end - start);

                    value->data = start;
                    value->len = (semicolon ? semicolon : end) - start;

                    return NGX_OK;
                }
            }

            /* the next pair starts after the first ";" or "," */

            semicolon = memchr(start, ';', end - start);
            if (semicolon == NULL) {
                semicolon = end;
            }

            comma = memchr(start, ',', semicolon - start);
            start = comma ? comma : semicolon;

            for (start++; start < end && *start == ' '; start++) {
                /* void */
            }
        }
    }

    return NGX_DECLINED;
}


/* RFC 6750, section 3 */

static ngx_int_t
ngx_http_stytch_challenge(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_uint_t invalid)
{
    ngx_str_t         value;
    ngx_table_elt_t  *h;

    value.len = sizeof("Bearer realm=\"\", error=\"invalid_token\"") - 1
                + slcf->realm.len;
    value.data = ngx_pnalloc(r->pool, value.len);
    if (value.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    value.len = ngx_sprintf(value.data, "Bearer realm=\"%V\"%s", &slcf->realm,
                            invalid ? ", error=\"invalid_token\"" : "")
                - value.data;

    h = ngx_http_stytch_add_header(r, "WWW-Authenticate", &value);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.www_authenticate = h;

    return NGX_HTTP_UNAUTHORIZED;
}


static ngx_int_t
ngx_http_stytch_forbid(ngx_http_request_t *r, ngx_str_t *scope)
{
    ngx_str_t         value;
    ngx_table_elt_t  *h;

    if (scope->len == 0) {
        ngx_str_set(&value, "Bearer error=\"insufficient_scope\"");

    } else {
        /* RFC 6750, section 3: the scopes needed for access */
        value.len = sizeof("Bearer error=\"insufficient_scope\", scope=\"\"")
                    - 1 + scope->len;
        value.data = ngx_pnalloc(r->pool, value.len);
        if (value.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_sprintf(value.data,
                    "Bearer error=\"insufficient_scope\", scope=\"%V\"", scope);
    }

    h = ngx_http_stytch_add_header(r, "WWW-Authenticate", &value);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.www_authenticate = h;

    return NGX_HTTP_FORBIDDEN;
}


static ngx_int_t
ngx_http_stytch_unavailable(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf)
{
    ngx_str_t  value;

    value.data = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
    if (value.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    value.len = ngx_sprintf(value.data, "%T", slcf->retry_after) - value.data;

    if (ngx_http_stytch_add_header(r, "Retry-After", &value) == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return slcf->unavailable_status;
}


/*
 * The refreshed JWT goes back to the browser, with the attributes that
 * Stytch's frontend SDK gives its cookies, once per request, when the API
 * accepted a token that came in a cookie.
 */

static ngx_int_t
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

    if (ctx->cookies_set || !slcf->refresh_cookie || ctx->session == NULL
        || ctx->source.len != 3
        || ngx_strncmp(ctx->source.data, "api", 3) != 0
        || (ctx->call.jwt ? !ctx->jwt_from_cookie : !ctx->token_from_cookie))
    {
        /* a client that sent no cookie is not given one */
        return NGX_OK;
    }

    ctx->cookies_set = 1;

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
            && (ctx->call.jwt
                || (ctx->call.token.len == n
                    && ngx_strncmp(ctx->call.token.data, v, n) == 0)))
        {
            continue;
        }

        value.data = (u_char *) v;
        value.len = n;

        /* a value that is not a token could split or extend the header */
        if (!ngx_http_stytch_token_is_safe(&value)) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "stytch: the API's %s is not a token: no cookie "
                          "is set", i == 0 ? "session_jwt" : "session_token");
            continue;
        }

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

        ctx->set_cookie = 1;
    }

    return NGX_OK;
}


/*
 * Stytch says the session is gone: the browser is told to drop the
 * cookies it sent, with the attributes they were set with, so that it
 * stops sending them.
 */

static ngx_int_t
ngx_http_stytch_clear_cookies(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx)
{
    if (ctx->jwt_from_cookie
        && ngx_http_stytch_clear_cookie(r, slcf, &slcf->jwt_cookie)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ctx->token_from_cookie
        && ngx_http_stytch_clear_cookie(r, slcf, &slcf->session_cookie)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    ctx->set_cookie = 1;

    return NGX_OK;
}


/* A Set-Cookie that drops the cookie name, with its attributes. */

ngx_int_t
ngx_http_stytch_clear_cookie(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_str_t *name)
{
    u_char     *p;
    size_t      len;
    ngx_str_t   cookie;

    if (name->len == 0) {
        return NGX_OK;
    }

    len = name->len + sizeof("=; ") - 1 + slcf->cookie_attributes.len
          + sizeof("; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT") - 1
          + sizeof("; Secure") - 1;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    cookie.data = p;
    p = ngx_sprintf(p, "%V=", name);

    if (slcf->cookie_attributes.len) {
        p = ngx_sprintf(p, "; %V", &slcf->cookie_attributes);
    }

    p = ngx_cpymem(p, "; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
                   sizeof("; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 "
                          "GMT") - 1);

#if (NGX_HTTP_SSL)
    /* the attribute it was set with */
    if (r->connection->ssl) {
        p = ngx_cpymem(p, "; Secure", sizeof("; Secure") - 1);
    }
#endif

    cookie.len = p - cookie.data;

    if (ngx_http_stytch_add_header(r, "Set-Cookie", &cookie) == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* A response header; value must live as long as the request. */

ngx_table_elt_t *
ngx_http_stytch_add_header(ngx_http_request_t *r, const char *name,
    ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NULL;
    }

    h->hash = 1;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->value = *value;

    return h;
}


/*
 * A response that carries a session's cookie is this user's alone: no
 * shared cache may store it, whatever the location or its upstream said.
 */

static ngx_int_t
ngx_http_stytch_header_filter(ngx_http_request_t *r)
{
    ngx_http_stytch_ctx_t  *ctx;

    if (r == r->main) {
        ctx = ngx_http_stytch_get_ctx(r);

        if (ctx && ctx->set_cookie && ngx_http_stytch_private(r) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return ngx_http_next_header_filter(r);
}


/*
 * Cache-Control becomes "private", followed by the directives it had that
 * are not about shared caches.
 */

static ngx_int_t
ngx_http_stytch_private(ngx_http_request_t *r)
{
    u_char           *p, *start, *end, *last;
    size_t            len, n;
    ngx_str_t         value;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    len = sizeof("private") - 1;

    part = &r->headers_out.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash && h[i].key.len == sizeof("Cache-Control") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Cache-Control",
                               sizeof("Cache-Control") - 1)
               == 0)
        {
            len += 2 + h[i].value.len;
        }
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    value.data = p;
    p = ngx_cpymem(p, "private", sizeof("private") - 1);

    part = &r->headers_out.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash == 0 || h[i].key.len != sizeof("Cache-Control") - 1
            || ngx_strncasecmp(h[i].key.data, (u_char *) "Cache-Control",
                               sizeof("Cache-Control") - 1)
               != 0)
        {
            continue;
        }

        /* the old header goes; its other directives stay */
        h[i].hash = 0;

        start = h[i].value.data;
        last = start + h[i].value.len;

        while (start < last) {
            while (start < last && (*start == ' ' || *start == ',')) {
                start++;
            }

            end = start;

            while (end < last && *end != ',') {
                end++;
            }

            n = end - start;

            while (n && start[n - 1] == ' ') {
                n--;
            }

            if (n && !ngx_http_stytch_shared_directive(start, n)) {
                *p++ = ','; *p++ = ' ';
                p = ngx_cpymem(p, start, n);
            }

            start = end;
        }
    }

    value.len = p - value.data;

    /*
     * Not known to NGINX as the Cache-Control header: "expires" rewrites
     * that one in place, and would erase "private".  It adds its own.
     */
#if (nginx_version >= 1023000)
    r->headers_out.cache_control = NULL;
#else
    r->headers_out.cache_control.nelts = 0;
#endif

    if (ngx_http_stytch_add_header(r, "Cache-Control", &value) == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* public, private and s-maxage speak of shared caches */

static ngx_uint_t
ngx_http_stytch_shared_directive(u_char *p, size_t len)
{
    size_t      n;
    ngx_uint_t  i;

    static ngx_str_t  shared[] = {
        ngx_string("public"), ngx_string("private"), ngx_string("s-maxage")
    };

    for (n = 0; n < len && p[n] != '=' && p[n] != ' '; n++) {
        /* void */
    }

    for (i = 0; i < sizeof(shared) / sizeof(shared[0]); i++) {
        if (n == shared[i].len
            && ngx_strncasecmp(p, shared[i].data, n) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/*
 * The context lives in the request's pool cleanup as well as in r->ctx, so
 * that it survives internal redirects (index, try_files, error_page),
 * which clear r->ctx: one request is authenticated once.
 */

ngx_http_stytch_ctx_t *
ngx_http_stytch_get_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t     *cln;
    ngx_http_stytch_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_stytch_module);

    if (ctx || !r->internal) {
        return ctx;
    }

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_stytch_cleanup) {
            ctx = cln->data;
            ngx_http_set_ctx(r, ctx, ngx_http_stytch_module);
            return ctx;
        }
    }

    return NULL;
}


static ngx_http_stytch_ctx_t *
ngx_http_stytch_create_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t     *cln;
    ngx_http_stytch_ctx_t  *ctx;

    /* the cleanup first: it releases what the context will hold */

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_http_stytch_ctx_t));
    if (cln == NULL) {
        return NULL;
    }

    ctx = cln->data;
    ngx_memzero(ctx, sizeof(ngx_http_stytch_ctx_t));
    ctx->request = r;
    ctx->checking = -1;
    ctx->deny = NGX_HTTP_FORBIDDEN;
    ctx->status = STYTCH_TOKEN_MISSING;

    cln->handler = ngx_http_stytch_cleanup;

    ngx_http_set_ctx(r, ctx, ngx_http_stytch_module);

    return ctx;
}


static void
ngx_http_stytch_cleanup(void *data)
{
    ngx_http_stytch_ctx_t  *ctx = data;

    if (ctx->state == NGX_HTTP_STYTCH_KEYS) {
        ngx_queue_remove(&ctx->waiting);
    }

    if (ctx->keys_timer.timer_set) {
        ngx_del_timer(&ctx->keys_timer);
    }

    if (ctx->keys_timer.posted) {
        ngx_delete_posted_event(&ctx->keys_timer);
    }

    ngx_http_stytch_api_leave(ctx);

    ngx_http_stytch_set_session(ctx, NULL);
}
