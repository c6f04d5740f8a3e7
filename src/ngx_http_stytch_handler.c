
/*
 * Copyright (C) 2026 The ngx_http_stytch_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * ngx_http_stytch_module: the request path.
 *
 * The access phase handler takes each request through one explicit state,
 * ctx->state.  This file is the only one that writes the request context.
 * Deciding is a loop: each state has its step, named after it, which moves
 * the state on or makes the request wait; a waiting request is woken (by
 * the refresh timer, or by the API call's completion, each posting the
 * request's wake event) and the loop goes on where it stopped.
 *
 *   START          the tokens are read and the JWT is verified locally
 *                    valid                              -> AUTHENTICATED
 *                    valid, "strict"                    -> ASK
 *                    a Connected Apps token, valid,
 *                    stytch_oauth_introspect            -> ASK
 *                    malformed, forged                  -> DECIDED
 *                    unknown kid, older key set         -> KEYS
 *                    unknown kid of a key set fetched
 *                    within cooldown: a few per set     -> ASK
 *                    the others                         -> DECIDED
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
 *   AUTHENTICATED  an identity no header can carry      -> DECIDED
 *                  authorization allows or denies       -> DECIDED
 *                  a permission the API must check      -> ASK
 *   DECIDED        the response: allow, 401, 403, 503 or 500
 *
 * An internal redirect into another location keeps the identity only when
 * that location is not stricter; otherwise the request starts again.  The
 * answers themselves are built by ngx_http_stytch_response.c; this file
 * says which, and keeps a response that carries a session's cookie from
 * shared caches.
 */


#include "ngx_http_stytch.h"


static ngx_int_t ngx_http_stytch_step_start(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx);
static ngx_int_t ngx_http_stytch_introspect(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx);
static ngx_uint_t ngx_http_stytch_audience_refused(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx);
static ngx_int_t ngx_http_stytch_step_keys(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx);
static ngx_int_t ngx_http_stytch_step_ask(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx);
static ngx_int_t ngx_http_stytch_step_api(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx);
static ngx_int_t ngx_http_stytch_step_answered(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx);
static ngx_int_t ngx_http_stytch_step_authenticated(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx);
static ngx_int_t ngx_http_stytch_step_decided(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx);

static void ngx_http_stytch_goto(ngx_http_stytch_ctx_t *ctx,
    ngx_http_stytch_state_e state);
static void ngx_http_stytch_wait(ngx_http_request_t *r);
static void ngx_http_stytch_wake(ngx_event_t *ev);
static void ngx_http_stytch_answer(ngx_http_stytch_ctx_t *ctx,
    ngx_http_stytch_answer_t *answer, char *source);
static void ngx_http_stytch_relocate(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx);
static ngx_uint_t ngx_http_stytch_stricter(ngx_http_stytch_loc_conf_t *prev,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx);
static void ngx_http_stytch_verify(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx);
static void ngx_http_stytch_set_session(ngx_http_stytch_ctx_t *ctx,
    stytch_session_t *session);
static ngx_int_t ngx_http_stytch_verdict(ngx_http_stytch_ctx_t *ctx);
static void ngx_http_stytch_check_clock(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx);
static ngx_int_t ngx_http_stytch_refresh_cookies(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx);
static ngx_int_t ngx_http_stytch_clear_cookies(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx);
static ngx_int_t ngx_http_stytch_header_filter(ngx_http_request_t *r);

static ngx_http_stytch_ctx_t *ngx_http_stytch_create_ctx(
    ngx_http_request_t *r);
static void ngx_http_stytch_cleanup(void *data);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;

#if (NGX_DEBUG)
static const char  *ngx_http_stytch_states[] = {
    "START", "KEYS", "ASK", "API", "ANSWERED", "AUTHENTICATED", "DECIDED"
};
#endif


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
            rc = ngx_http_stytch_step_start(r, slcf, ctx);
            break;

        case NGX_HTTP_STYTCH_KEYS:
            rc = ngx_http_stytch_step_keys(r, slcf, ctx);
            break;

        case NGX_HTTP_STYTCH_ASK:
            rc = ngx_http_stytch_step_ask(r, slcf, ctx);
            break;

        case NGX_HTTP_STYTCH_API:
            rc = ngx_http_stytch_step_api(r, slcf, ctx);
            break;

        case NGX_HTTP_STYTCH_ANSWERED:
            rc = ngx_http_stytch_step_answered(r, slcf, ctx);
            break;

        case NGX_HTTP_STYTCH_AUTHENTICATED:
            rc = ngx_http_stytch_step_authenticated(r, slcf, ctx);
            break;

        default: /* NGX_HTTP_STYTCH_DECIDED */
            return ngx_http_stytch_step_decided(r, slcf, ctx);
        }

        /* NGX_OK: the state moved on; NGX_AGAIN: the request waits */

        if (rc == NGX_AGAIN) {
            ngx_http_stytch_wait(r);
            return NGX_AGAIN;
        }

        if (rc != NGX_OK) {
            return rc;
        }
    }
}


static ngx_int_t
ngx_http_stytch_step_start(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx)
{
    ngx_int_t  rc;
    ngx_str_t  token;

    if (ngx_http_stytch_tokens(r, slcf, &ctx->tokens) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->status = STYTCH_TOKEN_MISSING;
    ctx->kind = 0;
    ngx_str_null(&ctx->question.check);
    ngx_str_null(&ctx->question.token);
    ngx_str_null(&ctx->question.client_id);
    ctx->question.introspect = 0;

    if (ctx->tokens.jwt.len) {
        ngx_http_stytch_verify(r, slcf, ctx);

        /* an authorization_check may need to send it */
        ctx->question.token = ctx->tokens.jwt;
        ctx->question.jwt = 1;

        if (ctx->status == STYTCH_OK) {

            if (ctx->kind == STYTCH_KIND_OAUTH && slcf->oauth_introspect) {
                /* RFC 7662: Stytch says whether it was revoked since */
                return ngx_http_stytch_introspect(r, slcf, ctx);
            }

            if (slcf->auth != NGX_HTTP_STYTCH_AUTH_STRICT
                || ctx->kind != STYTCH_KIND_SESSION)
            {
                ngx_http_stytch_goto(ctx, NGX_HTTP_STYTCH_AUTHENTICATED);
                return NGX_OK;
            }

            /* strict: the API checks the session of every request */
            ngx_http_stytch_set_session(ctx, NULL);
        }

        if (stytch_status_action(ctx->status) == STYTCH_ACTION_UNAUTHORIZED
            || (ctx->kind & NGX_HTTP_STYTCH_ACCESS_TOKENS))
        {
            /*
             * Forged or malformed: the API cannot make it good; an access
             * token, expired too, has no session for the API to look at
             * (RFC 6750: invalid_token).
             */
            ngx_http_stytch_goto(ctx, NGX_HTTP_STYTCH_DECIDED);
            return NGX_OK;
        }

        if (ctx->status == STYTCH_JWKS_UNKNOWN_KID
            || ctx->status == STYTCH_JWKS_NO_KEYS)
        {
            ctx->keys.wake = &ctx->wake;

            rc = ngx_http_stytch_project_keys(ctx->project, &ctx->keys);

            if (rc == NGX_DECLINED) {
                /*
                 * Not in a key set fetched within the cooldown: forged, or
                 * signed with a key Stytch took up since; the API tells
                 * which, for a few such kids per key set.
                 */

                if (!slcf->fallback
                    || !ngx_http_stytch_project_kid_ask(ctx->project))
                {
                    ngx_http_stytch_goto(ctx, NGX_HTTP_STYTCH_DECIDED);
                    return NGX_OK;
                }

                ctx->kid_asked = 1;
            }

            if (rc == NGX_AGAIN) {
                ngx_add_timer(&ctx->wake,
                              (ngx_msec_t) (ctx->keys.deadline - ngx_time())
                              * 1000);

                ngx_http_stytch_goto(ctx, NGX_HTTP_STYTCH_KEYS);
                return NGX_AGAIN;
            }

            /* NGX_ABORT: no keys can be had now, the API decides */
        }
    }

    if (!slcf->fallback) {
        ngx_http_stytch_goto(ctx, NGX_HTTP_STYTCH_DECIDED);
        return NGX_OK;
    }

    if (slcf->auth == NGX_HTTP_STYTCH_AUTH_REPORT
        && ngx_time() - ctx->project->api_failed < slcf->retry_after)
    {
        /* reporting never waits for an API that just failed */
        ctx->status = STYTCH_API_UNAVAILABLE;
        ngx_http_stytch_goto(ctx, NGX_HTTP_STYTCH_DECIDED);
        return NGX_OK;
    }

    /* the API: the opaque session token when there is one, else the JWT */

    if (ctx->tokens.session_token.len) {
        token = ctx->tokens.session_token;
        ctx->question.jwt = 0;

    } else if (ctx->tokens.jwt.len) {
        token = ctx->tokens.jwt;
        ctx->question.jwt = 1;

    } else {
        ngx_http_stytch_goto(ctx, NGX_HTTP_STYTCH_DECIDED);
        return NGX_OK;
    }

    /* a session token is base64url: with a dot, it is a JWT misplaced */
    if (!ngx_http_stytch_token_is_safe(&token)
        || (!ctx->question.jwt && ngx_http_stytch_dots(&token)))
    {
        ctx->status = STYTCH_TOKEN_MALFORMED;
        ngx_http_stytch_goto(ctx, NGX_HTTP_STYTCH_DECIDED);
        return NGX_OK;
    }

    if (ctx->status != STYTCH_TOKEN_MISSING && ctx->status != STYTCH_OK) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "stytch: %s, asking the API",
                      stytch_status_name(ctx->status));
    }

    ctx->question.token = token;
    ngx_http_stytch_goto(ctx, NGX_HTTP_STYTCH_ASK);

    return NGX_OK;
}


/*
 * A Connected Apps token verified locally is asked about as its client
 * would ask (stytch_oauth_introspect): the answer is the identity.
 */

static ngx_int_t
ngx_http_stytch_introspect(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx)
{
    size_t      len;
    const char  *client_id;

    client_id = stytch_session_field(ctx->session, STYTCH_FIELD_CLIENT_ID,
                                     &len);

    ctx->question.client_id.len = len;
    ctx->question.client_id.data = ngx_pnalloc(r->pool, len);
    if (ctx->question.client_id.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(ctx->question.client_id.data, client_id, len);

    if (ngx_http_stytch_audience_refused(r, slcf, ctx)) {
        return NGX_OK;
    }

    ctx->question.introspect = 1;
    ctx->question.token = ctx->tokens.jwt;

    ngx_http_stytch_set_session(ctx, NULL);

    if (!ngx_http_stytch_token_is_safe(&ctx->question.token)) {
        ctx->status = STYTCH_TOKEN_MALFORMED;
        ngx_http_stytch_goto(ctx, NGX_HTTP_STYTCH_DECIDED);
        return NGX_OK;
    }

    ngx_http_stytch_goto(ctx, NGX_HTTP_STYTCH_ASK);

    return NGX_OK;
}


/*
 * RFC 8707 (stytch_resource_audience): a Connected Apps token whose JWT's
 * "aud" does not hold the location's resource was granted for another
 * one, and is refused.
 */

static ngx_uint_t
ngx_http_stytch_audience_refused(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx)
{
    if (!slcf->resource_audience || ctx->kind != STYTCH_KIND_OAUTH
        || stytch_session_has_audience(ctx->session,
                                       (char *) slcf->resource.data,
                                       slcf->resource.len))
    {
        return 0;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "stytch: the access token's \"aud\" does not hold "
                  "the resource \"%V\"", &slcf->resource);

    ctx->status = STYTCH_CLAIM_AUDIENCE_MISMATCH;
    ngx_http_stytch_goto(ctx, NGX_HTTP_STYTCH_DECIDED);

    return 1;
}


static ngx_int_t
ngx_http_stytch_step_keys(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx)
{
    if (!ngx_http_stytch_project_keys_over(ctx->project, &ctx->keys)) {
        return NGX_AGAIN;
    }

    if (ctx->wake.timer_set) {
        ngx_del_timer(&ctx->wake);
    }

    /* verify again, with what the refresh brought */
    ngx_http_stytch_goto(ctx, NGX_HTTP_STYTCH_START);

    return NGX_OK;
}


static ngx_int_t
ngx_http_stytch_step_ask(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx)
{
    ngx_int_t                 rc;
    ngx_http_stytch_answer_t  answer;

    ctx->api.wake = &ctx->wake;

    rc = ngx_http_stytch_api_ask(r, slcf, ctx->project, &ctx->question,
                                 &ctx->api, &answer);

    if (rc == NGX_AGAIN) {
        ngx_http_stytch_goto(ctx, NGX_HTTP_STYTCH_API);
        return NGX_AGAIN;
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_stytch_answer(ctx, &answer, "cache");

    return NGX_OK;
}


static ngx_int_t
ngx_http_stytch_step_api(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx)
{
    ngx_int_t                 rc;
    ngx_http_stytch_answer_t  answer;

    rc = ngx_http_stytch_api_take(&ctx->api, &answer);

    if (rc == NGX_AGAIN) {
        return NGX_AGAIN;
    }

    if (rc == NGX_DECLINED) {
        /* the request that made the call went away: ask again */
        ngx_http_stytch_goto(ctx, NGX_HTTP_STYTCH_ASK);
        return NGX_OK;
    }

    ngx_http_stytch_answer(ctx, &answer, "api");

    return NGX_OK;
}


static ngx_int_t
ngx_http_stytch_step_answered(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx)
{
    if (ctx->checking >= 0) {
        /* the API answered an authorization_check */

        if (ctx->status == STYTCH_OK) {
            ctx->verified |= (uint32_t) 1 << ctx->checking;

        } else if (ctx->denied != STYTCH_OK
                   && stytch_status_action(ctx->status)
                      == STYTCH_ACTION_UNAVAILABLE)
        {
            /* the API could not be asked: the policy's denial stands */
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "stytch: %s: the policy's denial stands",
                          stytch_status_name(ctx->status));
            ctx->status = ctx->denied;
        }

        ctx->checking = -1;
        ctx->denied = STYTCH_OK;
        ngx_str_null(&ctx->question.check);
    }

    if (ctx->kid_asked) {
        ctx->kid_asked = 0;

        if (ctx->status == STYTCH_OK && ctx->question.jwt) {
            ngx_http_stytch_project_kid_vouched(ctx->project);
        }
    }

    if (ctx->status == STYTCH_OK && ctx->session) {
        ngx_http_stytch_check_clock(r, slcf, ctx);
    }

    ngx_http_stytch_goto(ctx, (ctx->status == STYTCH_OK && ctx->session)
                              ? NGX_HTTP_STYTCH_AUTHENTICATED
                              : NGX_HTTP_STYTCH_DECIDED);

    return NGX_OK;
}


/*
 * Stytch mints the session's JWT when it answers.  One that has expired
 * already by this server's clock says that the clock is ahead of Stytch's
 * by more than a JWT's life: every JWT looks expired here, and every
 * request asks the API.  Said once per project and worker.
 */

static void
ngx_http_stytch_check_clock(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx)
{
    int64_t  exp;

    if (ctx->project->ahead_logged) {
        return;
    }

    exp = stytch_session_jwt_exp(ctx->session);

    if (exp <= 0 || exp + slcf->leeway >= (int64_t) ngx_time()) {
        return;
    }

    ctx->project->ahead_logged = 1;

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "stytch: the JWT that Stytch has just minted for a "
                  "session of project \"%V\" expired %L s ago by this "
                  "server's clock: the clock is ahead of Stytch's, and "
                  "every JWT is sent to the API; synchronize the clock "
                  "(NTP) or raise \"stytch_leeway\" (%T s)",
                  &ctx->project->project_id,
                  (int64_t) ngx_time() - exp, slcf->leeway);
}


static ngx_int_t
ngx_http_stytch_step_authenticated(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx)
{
    ngx_int_t                  rc;
    ngx_http_stytch_verdict_t  verdict;

    if (!stytch_session_identity_safe(ctx->session)) {
        /*
         * Whoever it names, no header can carry it as it is: the token is
         * refused rather than passed on with an empty or altered identity.
         */
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "stytch: a %s whose identity (sub, session id or "
                      "organization id) holds a control character or a "
                      "line separator is refused",
                      ctx->kind & NGX_HTTP_STYTCH_ACCESS_TOKENS
                      ? "token" : "session");
        ctx->status = STYTCH_IDENTITY_INVALID;
        ngx_http_stytch_goto(ctx, NGX_HTTP_STYTCH_DECIDED);
        return NGX_OK;
    }

    /* an introspected token's JWT was looked at before it was asked about */
    if (!ctx->question.introspect
        && ngx_http_stytch_audience_refused(r, slcf, ctx))
    {
        return NGX_OK;
    }

    ctx->authenticated = 1;
    ctx->status = STYTCH_OK;

    /* the API has no session of an access token to check a permission */
    rc = ngx_http_stytch_authorize(r, slcf, ctx->project, ctx->session,
                                   ctx->verified,
                                   ctx->question.token.len != 0
                                   && ctx->kind == STYTCH_KIND_SESSION,
                                   &verdict);

    ctx->deny = verdict.deny;
    ctx->scope = verdict.scope;

    switch (rc) {

    case NGX_OK:
        ngx_http_stytch_goto(ctx, NGX_HTTP_STYTCH_DECIDED);
        return NGX_OK;

    case NGX_DECLINED:
        ctx->status = verdict.status;
        ngx_http_stytch_goto(ctx, NGX_HTTP_STYTCH_DECIDED);
        return NGX_OK;

    case NGX_AGAIN:
        ctx->checking = verdict.checking;
        ctx->denied = verdict.local;
        ctx->question.check = verdict.check;
        ngx_http_stytch_goto(ctx, NGX_HTTP_STYTCH_ASK);
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
ngx_http_stytch_step_decided(ngx_http_request_t *r,
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
        if (ngx_http_stytch_refresh_cookies(r, slcf, ctx) != NGX_OK) {
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

        return ngx_http_stytch_forbid(r, slcf, &ctx->scope);

    case STYTCH_ACTION_UNAVAILABLE:
        return ngx_http_stytch_unavailable(r, slcf);

    default: /* STYTCH_ACTION_ERROR */
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}


/* Every state change goes through here, and says so in the debug log. */

static void
ngx_http_stytch_goto(ngx_http_stytch_ctx_t *ctx, ngx_http_stytch_state_e state)
{
    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ctx->request->connection->log, 0,
                   "stytch: %s -> %s (%s)",
                   ngx_http_stytch_states[ctx->state],
                   ngx_http_stytch_states[state],
                   stytch_status_name(ctx->status));

    ctx->state = state;
}


/*
 * The request waits in the access phase: a client that goes away is
 * noticed, and nothing runs it until its wake event is posted.
 */

static void
ngx_http_stytch_wait(ngx_http_request_t *r)
{
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_request_empty_handler;
}


/*
 * The one way a waiting request is woken: the refresh timer and the API
 * call's completion post ctx->wake, the key set's deadline is its timer.
 * The request's phases run again from its connection's write event.
 */

static void
ngx_http_stytch_wake(ngx_event_t *ev)
{
    ngx_http_request_t     *r;
    ngx_http_stytch_ctx_t  *ctx;

    ctx = ev->data;
    r = ctx->request;

    r->write_event_handler = ngx_http_core_run_phases;
    ngx_post_event(r->connection->write, &ngx_posted_events);
}


/* The API's answer becomes the request's; its reference is taken over. */

static void
ngx_http_stytch_answer(ngx_http_stytch_ctx_t *ctx,
    ngx_http_stytch_answer_t *answer, char *source)
{
    ctx->status = answer->status;
    ctx->answered = answer->answered;
    ngx_http_stytch_set_session(ctx, answer->session);

    if (answer->session) {
        ctx->kind = stytch_session_kind(answer->session);
    }

    ctx->source.data = (u_char *) source;
    ctx->source.len = ngx_strlen(source);

    if (answer->session) {
        stytch_session_release(answer->session);
    }

    ngx_http_stytch_goto(ctx, NGX_HTTP_STYTCH_ANSWERED);
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
    ctx->denied = STYTCH_OK;
    ctx->kid_asked = 0;
    ctx->deny = NGX_HTTP_FORBIDDEN;

    if (ctx->authenticated && ctx->session
        && !ngx_http_stytch_stricter(prev, slcf, ctx))
    {
        /* the new location's own authorization rules still apply */
        ngx_http_stytch_goto(ctx, NGX_HTTP_STYTCH_AUTHENTICATED);
        return;
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "stytch: a stricter location: authenticating again");

    ngx_http_stytch_set_session(ctx, NULL);

    ctx->project = slcf->project;
    ctx->status = STYTCH_TOKEN_MISSING;
    ctx->answered = 0;
    ctx->authenticated = 0;
    ctx->keys.waited = 0;
    ngx_str_null(&ctx->source);
    ngx_http_stytch_goto(ctx, NGX_HTTP_STYTCH_START);
}


static ngx_uint_t
ngx_http_stytch_stricter(ngx_http_stytch_loc_conf_t *prev,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx)
{
    if (slcf->project != ctx->project) {
        return 1;
    }

    /* a location that does not take this kind of token refuses it anew */
    if (!(slcf->kinds & (ctx->kind ? ctx->kind : STYTCH_KIND_SESSION))) {
        return 1;
    }

    if (ctx->kind == STYTCH_KIND_OAUTH && slcf->oauth_introspect
        && !ctx->answered)
    {
        /* verified locally only, where it must be introspected */
        return 1;
    }

    if (ctx->kind == STYTCH_KIND_OAUTH && ctx->question.introspect
        && slcf->resource_audience
        && (!prev->resource_audience
            || slcf->resource.len != prev->resource.len
            || ngx_strncmp(slcf->resource.data, prev->resource.data,
                           slcf->resource.len) != 0))
    {
        /* introspected: its JWT is looked at again for this resource */
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
    uint64_t                    checks;
    const char                 *issuer;
    stytch_status_t             status;
    stytch_session_t           *session;
    stytch_verify_params_t      params;
    ngx_http_stytch_project_t  *project;

    project = ctx->project;

    (void) ngx_http_stytch_project_load_keys(project);

    ngx_memzero(&params, sizeof(stytch_verify_params_t));

    /* access tokens come in the Authorization header only, never a cookie */
    params.kinds = ctx->tokens.jwt_from_cookie ? STYTCH_KIND_SESSION
                                               : slcf->kinds;

    ctx->kind = 0;

    params.now = ngx_time();
    params.leeway = slcf->leeway;
    params.max_token_age = slcf->max_token_age != NGX_CONF_UNSET
                           ? slcf->max_token_age : -1;

    session = NULL;
    cached = 0;
    checks = stytch_verifier_signature_checks(project->verifier);

    status = stytch_verifier_verify(project->verifier,
                                    (char *) ctx->tokens.jwt.data,
                                    ctx->tokens.jwt.len,
                                    &params, &session, &cached);

    if (stytch_verifier_signature_checks(project->verifier) != checks) {
        (void) ngx_atomic_fetch_add(&project->shm->rsa_verifications, 1);
    }

    ctx->status = status;
    ctx->kind = session ? stytch_session_kind(session) : 0;

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
                          ctx->kind & NGX_HTTP_STYTCH_ACCESS_TOKENS
                          || !slcf->fallback
                          ? "the token is refused"
                          : "the API is asked meanwhile");
        }

        if (status == STYTCH_CLAIM_NOT_YET_VALID && !project->skew_logged) {
            project->skew_logged = 1;

            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "stytch: a JWT of project \"%V\" is not valid "
                          "yet (its \"nbf\" or \"iat\" is ahead of this "
                          "server's clock by more than \"stytch_leeway\" "
                          "%T s): synchronize the clock (NTP) or raise "
                          "\"stytch_leeway\"; %s", &project->project_id,
                          slcf->leeway,
                          slcf->fallback ? "the API is asked meanwhile"
                                         : "the token is refused");
        }

        if (status == STYTCH_TOKEN_KIND_NOT_ALLOWED
            && (ctx->kind & NGX_HTTP_STYTCH_ACCESS_TOKENS))
        {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "stytch: %s access token is refused: %s",
                          ctx->kind == STYTCH_KIND_M2M
                          ? "an M2M" : "a Connected Apps",
                          ctx->tokens.jwt_from_cookie
                          ? "it came in a cookie, and access tokens are "
                            "taken from the \"Authorization\" header only"
                          : ctx->kind == STYTCH_KIND_M2M
                          ? (slcf->kinds & STYTCH_KIND_SESSION
                             ? "this location takes session tokens only; "
                               "\"stytch_accept_m2m on\" takes both, "
                               "\"stytch_auth m2m\" M2M tokens only"
                             : "this location does not take them: "
                               "\"stytch_accept_m2m on\" does")
                          : (slcf->kinds & STYTCH_KIND_SESSION
                             ? "this location does not take them: "
                               "\"stytch_accept_oauth on\" does, "
                               "\"stytch_auth oauth\" takes them only"
                             : "this location does not take them: "
                               "\"stytch_accept_oauth on\" does"));
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
 * Once per request, when the API accepted a token that came in a cookie:
 * a client that sent no cookie is not given one.
 */

static ngx_int_t
ngx_http_stytch_refresh_cookies(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx)
{
    ngx_int_t  rc;

    if (ctx->cookies_set || !slcf->refresh_cookie || ctx->session == NULL
        || ctx->source.len != 3
        || ngx_strncmp(ctx->source.data, "api", 3) != 0
        || (ctx->question.jwt ? !ctx->tokens.jwt_from_cookie
                              : !ctx->tokens.token_from_cookie))
    {
        return NGX_OK;
    }

    ctx->cookies_set = 1;

    rc = ngx_http_stytch_set_cookies(r, slcf, ctx->session,
                                     &ctx->question.token, ctx->question.jwt);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_OK) {
        ctx->set_cookie = 1;
    }

    return NGX_OK;
}


/*
 * Stytch says the session is gone: the browser is told to drop the
 * cookies it sent, so that it stops sending them.
 */

static ngx_int_t
ngx_http_stytch_clear_cookies(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx)
{
    if (ctx->tokens.jwt_from_cookie
        && ngx_http_stytch_clear_cookie(r, slcf, &slcf->jwt_cookie)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ctx->tokens.token_from_cookie
        && ngx_http_stytch_clear_cookie(r, slcf, &slcf->session_cookie)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    ctx->set_cookie = 1;

    return NGX_OK;
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

    ctx->wake.handler = ngx_http_stytch_wake;
    ctx->wake.data = ctx;
    ctx->wake.log = r->connection->log;

    cln->handler = ngx_http_stytch_cleanup;

    ngx_http_set_ctx(r, ctx, ngx_http_stytch_module);

    return ctx;
}


static void
ngx_http_stytch_cleanup(void *data)
{
    ngx_http_stytch_ctx_t  *ctx = data;

    ngx_http_stytch_project_keys_leave(&ctx->keys);
    ngx_http_stytch_api_leave(&ctx->api);

    if (ctx->wake.timer_set) {
        ngx_del_timer(&ctx->wake);
    }

    if (ctx->wake.posted) {
        ngx_delete_posted_event(&ctx->wake);
    }

    ngx_http_stytch_set_session(ctx, NULL);
}
