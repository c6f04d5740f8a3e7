
/*
 * ngx_http_stytch_module: the access phase handler.
 */


#include "ngx_http_stytch_module.h"


static void ngx_http_stytch_verify(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx,
    ngx_str_t *token);
static ngx_int_t ngx_http_stytch_jwt(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_str_t *token);
static ngx_int_t ngx_http_stytch_bearer(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_str_t *token);
static ngx_int_t ngx_http_stytch_cookie(ngx_http_request_t *r,
    ngx_str_t *name, ngx_str_t *value);
static ngx_int_t ngx_http_stytch_decide(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx);
static ngx_int_t ngx_http_stytch_challenge(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_uint_t invalid);
static ngx_int_t ngx_http_stytch_forbid(ngx_http_request_t *r);
static ngx_int_t ngx_http_stytch_unavailable(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf);
static ngx_http_stytch_ctx_t *ngx_http_stytch_create_ctx(
    ngx_http_request_t *r);
static void ngx_http_stytch_cleanup(void *data);


ngx_int_t
ngx_http_stytch_handler(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_str_t                    jwt, token;
    ngx_http_stytch_ctx_t       *ctx;
    ngx_http_stytch_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_stytch_module);

    if (slcf->auth == NGX_HTTP_STYTCH_AUTH_OFF) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_stytch_get_ctx(r);

    if (ctx && ctx->api) {
        /* still waiting for the API */
        return NGX_AGAIN;
    }

    if (ctx && ctx->done && ctx->project == slcf->project) {
        /* after the API answered, or an internal redirect */
        return ngx_http_stytch_decide(r, slcf, ctx);
    }

    if (ctx == NULL) {
        ctx = ngx_http_stytch_create_ctx(r);
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

    } else if (ctx->session) {
        stytch_session_release(ctx->session);
        ctx->session = NULL;
    }

    ctx->request = r;
    ctx->project = slcf->project;
    ctx->done = 0;
    ctx->cookies_set = 0;
    ctx->authorized_for = NULL;
    ctx->verified = 0;
    ctx->checking = -1;
    ngx_str_null(&ctx->check);
    ngx_str_null(&ctx->token);
    ngx_str_null(&ctx->source);

    rc = ngx_http_stytch_jwt(r, slcf, &jwt);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_OK) {
        ctx->from_cookie = ctx->jwt_from_cookie;
        ngx_http_stytch_verify(r, slcf, ctx, &jwt);

        /* an authorization_check may need to send it */
        ctx->token = jwt;
        ctx->jwt = 1;

        if (stytch_status_action(ctx->status) == STYTCH_ACTION_UNAUTHORIZED) {
            /* forged or malformed: the API cannot make it good */
            return ngx_http_stytch_decide(r, slcf, ctx);
        }

        if (ctx->status == STYTCH_OK
            && slcf->auth != NGX_HTTP_STYTCH_AUTH_STRICT)
        {
            return ngx_http_stytch_decide(r, slcf, ctx);
        }

        if (ctx->status == STYTCH_OK) {
            /* strict: the API checks the session of every request */
            stytch_session_release(ctx->session);
            ctx->session = NULL;
        }

    } else {
        ctx->status = STYTCH_TOKEN_MISSING;
        ngx_str_null(&jwt);
    }

    if (!slcf->fallback) {
        return ngx_http_stytch_decide(r, slcf, ctx);
    }

    /* the API: the opaque session token when there is one, else the JWT */

    token = jwt;
    ctx->jwt = 1;

    if (slcf->session_cookie.len
        && ngx_http_stytch_cookie(r, &slcf->session_cookie, &token) == NGX_OK)
    {
        ctx->jwt = 0;
        ctx->from_cookie = 1;

    } else if (jwt.len == 0) {
        return ngx_http_stytch_decide(r, slcf, ctx);
    }

    ctx->token = token;
    ctx->done = 0;

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "stytch: asking the API");

    if (ctx->status != STYTCH_TOKEN_MISSING && ctx->status != STYTCH_OK) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "stytch: %s, asking the API",
                      stytch_status_name(ctx->status));
    }

    rc = ngx_http_stytch_api(r, slcf, ctx);

    if (rc == NGX_AGAIN) {
        return NGX_AGAIN;
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_stytch_decide(r, slcf, ctx);
}


static void
ngx_http_stytch_verify(ngx_http_request_t *r, ngx_http_stytch_loc_conf_t *slcf,
    ngx_http_stytch_ctx_t *ctx, ngx_str_t *token)
{
    int                           cached;
    stytch_status_t               status;
    stytch_session_t             *session;
    stytch_verify_params_t        params;
    ngx_http_stytch_project_t    *project;
    ngx_http_stytch_main_conf_t  *smcf;

    project = slcf->project;
    smcf = ngx_http_get_module_main_conf(r, ngx_http_stytch_module);

    (void) ngx_http_stytch_load_keys(project, smcf->shm_zone);

    params.now = ngx_time();
    params.leeway = slcf->leeway;
    params.max_token_age = slcf->max_token_age_set
                           && slcf->max_token_age != NGX_CONF_UNSET
                           ? slcf->max_token_age : -1;

    session = NULL;
    cached = 0;

    status = stytch_verifier_verify(project->verifier, (char *) token->data,
                                    token->len, &params, &session, &cached);

    ctx->status = status;
    ctx->done = 1;

    if (status == STYTCH_OK) {
        ctx->session = session;

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
        stytch_session_release(session);
    }

    (void) ngx_atomic_fetch_add(&project->shm->local_rejects, 1);

    if (status == STYTCH_JWKS_UNKNOWN_KID || status == STYTCH_JWKS_NO_KEYS) {
        ngx_http_stytch_want_refresh(project, NGX_HTTP_STYTCH_DOC_JWKS);
    }
}


/*
 * Turns a status into the answer: one table, in the core, says what each
 * status means; this is the one place that says how NGINX answers it.
 */

static ngx_int_t
ngx_http_stytch_decide(ngx_http_request_t *r, ngx_http_stytch_loc_conf_t *slcf,
    ngx_http_stytch_ctx_t *ctx)
{
    ngx_int_t        rc;
    ngx_uint_t       status;
    stytch_action_t  action;

    ctx->done = 1;

    if (ctx->checking >= 0) {
        /* the API answered an authorization_check */
        if (ctx->status == STYTCH_OK) {
            ctx->verified |= (uint32_t) 1 << ctx->checking;
        }

        ctx->checking = -1;
        ngx_str_null(&ctx->check);
    }

    action = stytch_status_action(ctx->status);

    if (action != STYTCH_ACTION_ALLOW) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "stytch: access denied: %s",
                      stytch_status_name(ctx->status));
    }

    switch (action) {

    case STYTCH_ACTION_ALLOW:
        rc = ngx_http_stytch_authorize(r, slcf, ctx, &status);

        if (rc == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        if (rc == NGX_DONE) {
            /* the API-result cache answered an authorization_check */
            return ngx_http_stytch_decide(r, slcf, ctx);
        }

        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (rc == NGX_DECLINED) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "stytch: access denied: %s",
                          stytch_status_name(ctx->status));

            if (stytch_status_action(ctx->status) != STYTCH_ACTION_FORBIDDEN)
            {
                /* no policy and no way to ask: never a silent allow */
                return ngx_http_stytch_unavailable(r, slcf);
            }

            if (status == NGX_HTTP_UNAUTHORIZED) {
                return ngx_http_stytch_challenge(r, slcf, 1);
            }

            return ngx_http_stytch_forbid(r);
        }

        if (!ctx->cookies_set && ctx->source.len == 3
            && ngx_strncmp(ctx->source.data, "api", 3) == 0
            && ctx->from_cookie)
        {
            ctx->cookies_set = 1;

            if (ngx_http_stytch_set_cookies(r, slcf, ctx) != NGX_OK) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
        }

        return NGX_OK;

    case STYTCH_ACTION_UNAUTHORIZED:
        return ngx_http_stytch_challenge(r, slcf,
                                         ctx->status != STYTCH_TOKEN_MISSING);

    case STYTCH_ACTION_FALLBACK:
        /* stytch_fallback off: without keys nothing can be told;
         * otherwise the token is stale */
        if (ctx->status == STYTCH_JWKS_NO_KEYS) {
            return ngx_http_stytch_unavailable(r, slcf);
        }

        return ngx_http_stytch_challenge(r, slcf, 1);

    case STYTCH_ACTION_FORBIDDEN:
        return ngx_http_stytch_forbid(r);

    case STYTCH_ACTION_UNAVAILABLE:
        return ngx_http_stytch_unavailable(r, slcf);

    default: /* STYTCH_ACTION_ERROR */
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
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
ngx_http_stytch_forbid(ngx_http_request_t *r)
{
    ngx_table_elt_t  *h;

    static ngx_str_t  value = ngx_string("Bearer error=\"insufficient_scope\"");

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


/* The JWT: "Authorization: Bearer" first, then the cookie. */

static ngx_int_t
ngx_http_stytch_jwt(ngx_http_request_t *r, ngx_http_stytch_loc_conf_t *slcf,
    ngx_str_t *token)
{
    ngx_int_t  rc;

    ngx_http_stytch_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_stytch_module);
    ctx->jwt_from_cookie = 0;

    if (slcf->jwt_header.len) {
        rc = ngx_http_stytch_bearer(r, slcf, token);

        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    if (slcf->jwt_cookie.len) {
        rc = ngx_http_stytch_cookie(r, &slcf->jwt_cookie, token);
        ctx->jwt_from_cookie = (rc == NGX_OK);
        return rc;
    }

    return NGX_DECLINED;
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
 * first match wins), except that the value's end is found with memchr():
 * a session JWT cookie is 1-2 KB, which NGINX's parser reads a byte at a
 * time on every request.
 */

static ngx_int_t
ngx_http_stytch_cookie(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *value)
{
    u_char           *start, *end, *semicolon;
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

            while (start < end && *start != ';' && *start != ',') {
                start++;
            }

            for (start++; start < end && *start == ' '; start++) {
                /* void */
            }
        }
    }

    return NGX_DECLINED;
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
    ctx->checking = -1;

    cln->handler = ngx_http_stytch_cleanup;

    ngx_http_set_ctx(r, ctx, ngx_http_stytch_module);

    return ctx;
}


static void
ngx_http_stytch_cleanup(void *data)
{
    ngx_http_stytch_ctx_t  *ctx = data;

    ngx_http_stytch_api_cleanup(ctx);

    if (ctx->session) {
        stytch_session_release(ctx->session);
        ctx->session = NULL;
    }
}


void
ngx_http_stytch_core_log(void *data, int level, const char *msg, size_t len)
{
    ngx_log_t  *log = data;

    ngx_uint_t  nlevel;

    switch (level) {
    case STYTCH_LOG_ERR:
        nlevel = NGX_LOG_ERR;
        break;
    case STYTCH_LOG_WARN:
        nlevel = NGX_LOG_WARN;
        break;
    case STYTCH_LOG_INFO:
        nlevel = NGX_LOG_INFO;
        break;
    default:
        nlevel = NGX_LOG_DEBUG;
        break;
    }

    if (log->log_level < nlevel) {
        return;
    }

    ngx_log_error(nlevel, log, 0, "stytch: %*s", len, msg);
}
