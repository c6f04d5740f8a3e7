
/*
 * Copyright (C) 2026 The ngx_http_stytch_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * ngx_http_stytch_module: variables for logs and upstreams.
 */


#include "ngx_http_stytch.h"


static ngx_int_t ngx_http_stytch_field_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_stytch_b2b_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_stytch_claim_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_stytch_result_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_stytch_error_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_stytch_source_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_stytch_age_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_stytch_within_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_stytch_kind_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_stytch_set_value(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, const char *data, size_t len);


/*
 * Authentication can change a request's identity after a variable was
 * first read (in the rewrite phase, say): none is cached.
 */

#define NGX_HTTP_STYTCH_VAR  NGX_HTTP_VAR_NOCACHEABLE


static ngx_http_variable_t  ngx_http_stytch_vars[] = {

    { ngx_string("stytch_user_id"), NULL, ngx_http_stytch_field_variable,
      STYTCH_FIELD_SUBJECT, NGX_HTTP_STYTCH_VAR, 0 },

    { ngx_string("stytch_session_id"), NULL, ngx_http_stytch_field_variable,
      STYTCH_FIELD_SESSION_ID, NGX_HTTP_STYTCH_VAR, 0 },

    { ngx_string("stytch_session_started_at"), NULL,
      ngx_http_stytch_field_variable,
      STYTCH_FIELD_STARTED_AT, NGX_HTTP_STYTCH_VAR, 0 },

    { ngx_string("stytch_session_expires_at"), NULL,
      ngx_http_stytch_field_variable,
      STYTCH_FIELD_EXPIRES_AT, NGX_HTTP_STYTCH_VAR, 0 },

    { ngx_string("stytch_roles"), NULL, ngx_http_stytch_field_variable,
      STYTCH_FIELD_ROLES, NGX_HTTP_STYTCH_VAR, 0 },

    { ngx_string("stytch_claims"), NULL, ngx_http_stytch_field_variable,
      STYTCH_FIELD_CUSTOM_CLAIMS, NGX_HTTP_STYTCH_VAR, 0 },

    { ngx_string("stytch_member_id"), NULL, ngx_http_stytch_b2b_variable,
      STYTCH_FIELD_SUBJECT, NGX_HTTP_STYTCH_VAR, 0 },

    { ngx_string("stytch_organization_id"), NULL,
      ngx_http_stytch_b2b_variable,
      STYTCH_FIELD_ORGANIZATION_ID, NGX_HTTP_STYTCH_VAR, 0 },

    { ngx_string("stytch_organization_slug"), NULL,
      ngx_http_stytch_b2b_variable,
      STYTCH_FIELD_ORGANIZATION_SLUG, NGX_HTTP_STYTCH_VAR, 0 },

    { ngx_string("stytch_session_last_accessed_at"), NULL,
      ngx_http_stytch_field_variable,
      STYTCH_FIELD_LAST_ACCESSED_AT, NGX_HTTP_STYTCH_VAR, 0 },

    { ngx_string("stytch_session_ip_address"), NULL,
      ngx_http_stytch_field_variable,
      STYTCH_FIELD_IP_ADDRESS, NGX_HTTP_STYTCH_VAR, 0 },

    { ngx_string("stytch_session_user_agent"), NULL,
      ngx_http_stytch_field_variable,
      STYTCH_FIELD_USER_AGENT, NGX_HTTP_STYTCH_VAR, 0 },

    { ngx_string("stytch_auth_factors"), NULL,
      ngx_http_stytch_field_variable,
      STYTCH_FIELD_FACTOR_TYPES, NGX_HTTP_STYTCH_VAR, 0 },

    { ngx_string("stytch_auth_delivery_methods"), NULL,
      ngx_http_stytch_field_variable,
      STYTCH_FIELD_DELIVERY_METHODS, NGX_HTTP_STYTCH_VAR, 0 },

    { ngx_string("stytch_sso_connection_ids"), NULL,
      ngx_http_stytch_field_variable,
      STYTCH_FIELD_SSO_CONNECTION_IDS, NGX_HTTP_STYTCH_VAR, 0 },

    { ngx_string("stytch_authentication_factors"), NULL,
      ngx_http_stytch_field_variable,
      STYTCH_FIELD_AUTH_FACTORS, NGX_HTTP_STYTCH_VAR, 0 },

    { ngx_string("stytch_last_authenticated_at"), NULL,
      ngx_http_stytch_field_variable,
      STYTCH_FIELD_LAST_AUTHENTICATED_AT, NGX_HTTP_STYTCH_VAR, 0 },

    { ngx_string("stytch_auth_age"), NULL, ngx_http_stytch_age_variable,
      0, NGX_HTTP_STYTCH_VAR, 0 },

    { ngx_string("stytch_authenticated_within_"), NULL,
      ngx_http_stytch_within_variable,
      0, NGX_HTTP_STYTCH_VAR|NGX_HTTP_VAR_PREFIX, 0 },

    { ngx_string("stytch_client_id"), NULL, ngx_http_stytch_field_variable,
      STYTCH_FIELD_CLIENT_ID, NGX_HTTP_STYTCH_VAR, 0 },

    { ngx_string("stytch_scopes"), NULL, ngx_http_stytch_field_variable,
      STYTCH_FIELD_SCOPES, NGX_HTTP_STYTCH_VAR, 0 },

    { ngx_string("stytch_token_kind"), NULL, ngx_http_stytch_kind_variable,
      0, NGX_HTTP_STYTCH_VAR, 0 },

    { ngx_string("stytch_claim_"), NULL, ngx_http_stytch_claim_variable,
      0, NGX_HTTP_STYTCH_VAR|NGX_HTTP_VAR_PREFIX, 0 },

    { ngx_string("stytch_auth_result"), NULL,
      ngx_http_stytch_result_variable, 0, NGX_HTTP_STYTCH_VAR, 0 },

    { ngx_string("stytch_auth_error"), NULL,
      ngx_http_stytch_error_variable, 0, NGX_HTTP_STYTCH_VAR, 0 },

    { ngx_string("stytch_auth_source"), NULL,
      ngx_http_stytch_source_variable, 0, NGX_HTTP_STYTCH_VAR, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_stytch_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_stytch_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static stytch_session_t *
ngx_http_stytch_session(ngx_http_request_t *r)
{
    ngx_http_stytch_ctx_t  *ctx;

    ctx = ngx_http_stytch_get_ctx(r->main);

    if (ctx == NULL || ctx->status != STYTCH_OK) {
        return NULL;
    }

    return ctx->session;
}


static ngx_int_t
ngx_http_stytch_field_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    size_t             len;
    const char        *value;
    stytch_session_t  *session;

    session = ngx_http_stytch_session(r);

    if (session == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    value = stytch_session_field(session, (stytch_field_t) data, &len);

    return ngx_http_stytch_set_value(r, v, value, len);
}


static ngx_int_t
ngx_http_stytch_b2b_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    size_t             len;
    const char        *value;
    stytch_session_t  *session;

    session = ngx_http_stytch_session(r);

    if (session == NULL || !stytch_session_is_b2b(session)) {
        v->not_found = 1;
        return NGX_OK;
    }

    value = stytch_session_field(session, (stytch_field_t) data, &len);

    return ngx_http_stytch_set_value(r, v, value, len);
}


static ngx_int_t
ngx_http_stytch_claim_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t *name = (ngx_str_t *) data;

    size_t             len;
    const char        *value;
    stytch_session_t  *session;

    session = ngx_http_stytch_session(r);

    if (session == NULL
        || name->len <= sizeof("stytch_claim_") - 1)
    {
        v->not_found = 1;
        return NGX_OK;
    }

    value = stytch_session_claim(session,
                                 (char *) name->data
                                 + sizeof("stytch_claim_") - 1,
                                 name->len - (sizeof("stytch_claim_") - 1),
                                 &len);
    if (value == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    return ngx_http_stytch_set_value(r, v, value, len);
}


/* Seconds since the session's latest authentication factor. */

static ngx_int_t
ngx_http_stytch_age_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char            *p;
    int64_t            at;
    stytch_session_t  *session;

    session = ngx_http_stytch_session(r);
    at = session ? stytch_session_last_authenticated_at(session) : 0;

    if (at == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->len = ngx_sprintf(p, "%T", ngx_max(ngx_time() - (time_t) at, 0)) - p;
    v->data = p;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


/*
 * $stytch_authenticated_within_SECONDS: "1" when the latest factor is at
 * most SECONDS old, else "0", for stytch_require and map.
 */

static ngx_int_t
ngx_http_stytch_within_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t *name = (ngx_str_t *) data;

    int64_t            at;
    ngx_int_t          within;
    stytch_session_t  *session;

    within = ngx_atoi(name->data + sizeof("stytch_authenticated_within_") - 1,
                      name->len - (sizeof("stytch_authenticated_within_") - 1));

    session = ngx_http_stytch_session(r);

    if (within == NGX_ERROR || session == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    at = stytch_session_last_authenticated_at(session);

    v->data = (u_char *) (at && ngx_time() - (time_t) at <= within ? "1"
                                                                   : "0");
    v->len = 1;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_stytch_kind_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    stytch_session_t  *session;

    session = ngx_http_stytch_session(r);

    if (session == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    switch (stytch_session_kind(session)) {

    case STYTCH_KIND_M2M:
        ngx_str_set(v, "m2m");
        break;

    case STYTCH_KIND_OAUTH:
        ngx_str_set(v, "oauth");
        break;

    default:
        ngx_str_set(v, "session");
    }

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


/*
 * Values go into upstream headers and logs: the core gives none with a
 * control character (a CR LF would start a new header).
 */

static ngx_int_t
ngx_http_stytch_set_value(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    const char *data, size_t len)
{
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->data = (u_char *) data;
    v->len = len;

    return NGX_OK;
}


static ngx_int_t
ngx_http_stytch_result_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    const char             *result;
    ngx_http_stytch_ctx_t  *ctx;

    ctx = ngx_http_stytch_get_ctx(r->main);

    if (ctx == NULL || ctx->state != NGX_HTTP_STYTCH_DECIDED) {
        v->not_found = 1;
        return NGX_OK;
    }

    switch (ctx->status) {
    case STYTCH_OK:
        result = "ok";
        break;
    case STYTCH_TOKEN_MISSING:
        result = "missing";
        break;
    case STYTCH_JWT_EXPIRED:
        result = "expired";
        break;
    case STYTCH_JWT_TOO_OLD:
        result = "too_old";
        break;
    case STYTCH_JWKS_UNKNOWN_KID:
        result = "unknown_key";
        break;
    case STYTCH_JWKS_NO_KEYS:
        result = "no_keys";
        break;
    default:
        switch (stytch_status_action(ctx->status)) {
        case STYTCH_ACTION_FORBIDDEN:
            result = "forbidden";
            break;
        case STYTCH_ACTION_UNAVAILABLE:
            result = "unavailable";
            break;
        case STYTCH_ACTION_ERROR:
            result = "error";
            break;
        default:
            result = "invalid";
            break;
        }
    }

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->data = (u_char *) result;
    v->len = ngx_strlen(result);

    return NGX_OK;
}


static ngx_int_t
ngx_http_stytch_error_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    const char             *name;
    ngx_http_stytch_ctx_t  *ctx;

    ctx = ngx_http_stytch_get_ctx(r->main);

    if (ctx == NULL || ctx->state != NGX_HTTP_STYTCH_DECIDED
        || ctx->status == STYTCH_OK)
    {
        v->not_found = 1;
        return NGX_OK;
    }

    name = stytch_status_name(ctx->status);

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->data = (u_char *) name;
    v->len = ngx_strlen(name);

    return NGX_OK;
}


static ngx_int_t
ngx_http_stytch_source_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_stytch_ctx_t  *ctx;

    ctx = ngx_http_stytch_get_ctx(r->main);

    if (ctx == NULL || ctx->status != STYTCH_OK || ctx->source.len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->data = ctx->source.data;
    v->len = ctx->source.len;

    return NGX_OK;
}
