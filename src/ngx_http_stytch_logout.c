
/*
 * Copyright (C) 2026 The ngx_http_stytch_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * ngx_http_stytch_module: signing out at the edge, and the return address
 * of a sign-in redirect.
 *
 * "stytch_logout" is a location's content handler.  It revokes the
 * request's session at Stytch (POST /v1[/b2b]/sessions/revoke, with the
 * API call of ngx_http_stytch_api.c, as authentication asks
 * sessions/authenticate), clears the module's cookies and redirects with
 * 303.  The cookies are cleared whatever Stytch answers, so that a
 * sign-out never leaves a browser signed in; the redirect goes to the
 * configured URL, or to a "return_to" argument only when that is a path
 * of this site.
 *
 * $stytch_return_to is the request's URI encoded as a query argument, for
 * the redirect to a sign-in page that is to bring the user back.
 */


#include "ngx_http_stytch.h"


/* a return address longer than this is not one a site gives itself */
#define NGX_HTTP_STYTCH_MAX_RETURN_TO  4096


typedef struct {
    ngx_str_t                   location;
    ngx_http_stytch_call_t      call;
    unsigned                    calling:1;
} ngx_http_stytch_logout_t;


static ngx_int_t ngx_http_stytch_logout_handler(ngx_http_request_t *r);
static ngx_uint_t ngx_http_stytch_local_path(ngx_str_t *path);
static ngx_table_elt_t *ngx_http_stytch_logout_header(ngx_http_request_t *r,
    ngx_str_t *name);
static const char *ngx_http_stytch_cross_site(ngx_http_request_t *r);
static void ngx_http_stytch_logout_target(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_logout_t *lo);
static ngx_int_t ngx_http_stytch_logout_token(ngx_http_request_t *r,
    ngx_str_t *name, ngx_str_t *value);
static ngx_int_t ngx_http_stytch_revoke(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_logout_t *lo,
    ngx_str_t *token, ngx_uint_t jwt);
static void ngx_http_stytch_revoked(ngx_http_stytch_call_t *call);
static void ngx_http_stytch_logout_finish(ngx_http_request_t *r);
static void ngx_http_stytch_logout_log(ngx_http_stytch_logout_t *lo);
static ngx_int_t ngx_http_stytch_logout_send(ngx_http_request_t *r,
    ngx_http_stytch_logout_t *lo);
static void ngx_http_stytch_logout_cleanup(void *data);
static ngx_int_t ngx_http_stytch_return_to_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_str_t  ngx_http_stytch_return_to_name =
    ngx_string("stytch_return_to");

char *
ngx_http_stytch_logout(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_stytch_loc_conf_t *slcf = conf;

    u_char                    *p, *last;
    ngx_str_t                 *value;
    ngx_uint_t                 ok;
    ngx_http_core_loc_conf_t  *clcf;

    if (slcf->logout.len) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 1) {
        ngx_str_set(&slcf->logout, "/");

    } else {
        p = value[1].data;
        last = p + value[1].len;

        if (value[1].len > sizeof("https://") - 1
            && ngx_strncmp(p, "https://", sizeof("https://") - 1) == 0)
        {
            p += sizeof("https://") - 1;

        } else if (value[1].len > sizeof("http://") - 1
                   && ngx_strncmp(p, "http://", sizeof("http://") - 1) == 0)
        {
            p += sizeof("http://") - 1;
        }

        if (p == value[1].data) {
            ok = ngx_http_stytch_local_path(&value[1]);

        } else {
            /* an absolute URL: a host, then what a path may hold */
            ok = (*p != '/');

            for ( /* void */ ; ok && p < last; p++) {
                ok = (*p > ' ' && *p < 0x7f && *p != '\\');
            }
        }

        if (!ok) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid value \"%V\" in \"%V\" directive, "
                               "it must be a path that starts with \"/\" "
                               "(not \"//\") or an \"http://\" or "
                               "\"https://\" URL, without spaces, control "
                               "characters or \"\\\"",
                               &value[1], &cmd->name);
            return NGX_CONF_ERROR;
        }

        slcf->logout = value[1];
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_stytch_logout_handler;

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_stytch_logout_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var;

    var = ngx_http_add_variable(cf, &ngx_http_stytch_return_to_name,
                                NGX_HTTP_VAR_NOCACHEABLE);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_http_stytch_return_to_variable;

    return NGX_OK;
}


/*
 * A path of this site, and nothing a browser could read as another one:
 * "//host" and "/\host" are other hosts to browsers, and a backslash
 * anywhere is a slash to them.  Only printable ASCII: the path goes into
 * a Location header.
 */

static ngx_uint_t
ngx_http_stytch_local_path(ngx_str_t *path)
{
    u_char  *p, *last;

    if (path->len == 0 || path->len > NGX_HTTP_STYTCH_MAX_RETURN_TO
        || path->data[0] != '/')
    {
        return 0;
    }

    if (path->len > 1 && (path->data[1] == '/' || path->data[1] == '\\')) {
        return 0;
    }

    last = path->data + path->len;

    for (p = path->data; p < last; p++) {
        if (*p <= ' ' || *p >= 0x7f || *p == '\\') {
            return 0;
        }
    }

    return 1;
}


static ngx_int_t
ngx_http_stytch_logout_handler(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_str_t                    token, jwt_token;
    ngx_uint_t                   jwt, found;
    ngx_pool_cleanup_t          *cln;
    const char                  *why;
    ngx_http_stytch_project_t   *project;
    ngx_http_stytch_logout_t    *lo;
    ngx_http_stytch_loc_conf_t  *slcf;

    static ngx_str_t  no_store = ngx_string("no-store");

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_POST))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_stytch_module);

    if (!slcf->logout_cross_site) {
        why = ngx_http_stytch_cross_site(r);

        if (why) {
            /* another site's link or form: nothing revoked, nothing cleared */
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "stytch: a cross-site sign-out is refused (%s)",
                          why);

            if (ngx_http_stytch_add_header(r, "Cache-Control", &no_store)
                == NULL)
            {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            return NGX_HTTP_FORBIDDEN;
        }
    }

    lo = ngx_pcalloc(r->pool, sizeof(ngx_http_stytch_logout_t));
    if (lo == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /*
     * The main request's context belongs to the access handler's state:
     * the sign-out's state is found through a cleanup of its own.
     */
    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_stytch_logout_cleanup;
    cln->data = lo;

    ngx_http_stytch_logout_target(r, slcf, lo);

    /* the session token names the session; a JWT only until it expires */

    jwt = 0;
    found = 0;

    rc = ngx_http_stytch_logout_token(r, &slcf->session_cookie, &token);
    found |= (rc != NGX_DECLINED);

    rc = ngx_http_stytch_logout_token(r, &slcf->jwt_cookie, &jwt_token);
    found |= (rc != NGX_DECLINED);

    if (token.len == 0) {
        if (jwt_token.len == 0) {
            if (found) {
                return ngx_http_stytch_logout_send(r, lo);
            }

            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "stytch: sign-out found no session cookie "
                          "(\"%V\" or \"%V\") to revoke: a cookie set "
                          "for another Path or Domain than this location's "
                          "is not sent here, the likely cause",
                          &slcf->session_cookie, &slcf->jwt_cookie);

            return ngx_http_stytch_logout_send(r, lo);
        }

        token = jwt_token;
        jwt = 1;
    }

    /*
     * What the API said of the tokens goes: the revoked session is not
     * accepted from the API-result cache meanwhile.
     */

    project = ngx_http_stytch_project_find(r, slcf);

    if (project) {
        if ((token.len
             && ngx_http_stytch_api_forget(project, &token, jwt) != NGX_OK)
            || (jwt_token.len && !jwt
                && ngx_http_stytch_api_forget(project, &jwt_token, 1)
                   != NGX_OK))
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    rc = ngx_http_stytch_revoke(r, slcf, lo, &token, jwt);

    if (rc == NGX_DECLINED) {
        /* Stytch cannot be asked about it: the cookies go all the same */
        return ngx_http_stytch_logout_send(r, lo);
    }

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    /* the request lives on until the revocation's answer */
    r->main->count++;

    return NGX_DONE;
}


/*
 * Whether another site sent the browser here: its Sec-Fetch-Site says
 * "cross-site", or its Origin (sent with every POST and with fetch()) is
 * "null" or names another host than the one the request is for.  A
 * request that says neither (an old browser, curl) is this site's.
 * Returns the reason, or NULL.
 */

static const char *
ngx_http_stytch_cross_site(ngx_http_request_t *r)
{
    u_char           *p, *last;
    ngx_str_t         host;
    ngx_table_elt_t  *h;

    static ngx_str_t  sec_fetch_site = ngx_string("Sec-Fetch-Site");
    static ngx_str_t  origin = ngx_string("Origin");

    h = ngx_http_stytch_logout_header(r, &sec_fetch_site);

    if (h && h->value.len == sizeof("cross-site") - 1
        && ngx_strncasecmp(h->value.data, (u_char *) "cross-site",
                           sizeof("cross-site") - 1)
           == 0)
    {
        return "Sec-Fetch-Site: cross-site";
    }

    h = ngx_http_stytch_logout_header(r, &origin);

    if (h == NULL) {
        return NULL;
    }

    /* scheme "://" host [":" port]: the host part is compared */

    p = h->value.data;
    last = p + h->value.len;

    p = ngx_strlcasestrn(p, last, (u_char *) "://", sizeof("://") - 1 - 1);

    if (p == NULL || r->headers_in.host == NULL) {
        return "an Origin of another site";
    }

    p += sizeof("://") - 1;

    host = r->headers_in.host->value;

    if ((size_t) (last - p) != host.len
        || ngx_strncasecmp(p, host.data, host.len) != 0)
    {
        return "an Origin of another site";
    }

    return NULL;
}


static ngx_table_elt_t *
ngx_http_stytch_logout_header(ngx_http_request_t *r, ngx_str_t *name)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == name->len
            && ngx_strncasecmp(h[i].key.data, name->data, name->len) == 0)
        {
            return &h[i];
        }
    }
}


static void
ngx_http_stytch_logout_target(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_logout_t *lo)
{
    u_char     *dst, *src;
    ngx_str_t   arg, path;

    lo->location = slcf->logout;

    if (ngx_http_arg(r, (u_char *) "return_to", sizeof("return_to") - 1,
                     &arg)
        != NGX_OK
        || arg.len == 0)
    {
        return;
    }

    if (arg.len <= 3 * NGX_HTTP_STYTCH_MAX_RETURN_TO) {
        dst = ngx_pnalloc(r->pool, arg.len);
        if (dst == NULL) {
            return;
        }

        path.data = dst;
        src = arg.data;

        ngx_unescape_uri(&dst, &src, arg.len, 0);

        path.len = dst - path.data;

        if (ngx_http_stytch_local_path(&path)) {
            lo->location = path;
            return;
        }
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "stytch: the sign-out's \"return_to\" is not a path of "
                  "this site: redirecting to \"%V\"", &slcf->logout);
}


/*
 * The value of a cookie, found as the access handler finds it (the first
 * one of that name): NGINX's own parser splits cookies at "," as well as
 * ";" up to 1.26 and at "," only from 1.30, where cookies have a parser of
 * their own that older versions lack.
 */

static ngx_int_t
ngx_http_stytch_logout_token(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *value)
{
    if (name->len == 0 || ngx_http_stytch_cookie(r, name, value) != NGX_OK) {
        ngx_str_null(value);
        return NGX_DECLINED;
    }

    if (!ngx_http_stytch_token_is_safe(value)) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "stytch: the cookie \"%V\" does not hold a token: "
                      "it is cleared without asking Stytch", name);
        ngx_str_null(value);
        return NGX_ABORT;
    }

    return NGX_OK;
}


/*
 * The revocation, with the API call that authentication makes: the same
 * deadline, size limit and refusals.  NGX_DECLINED: no call can be made.
 */

static ngx_int_t
ngx_http_stytch_revoke(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_logout_t *lo,
    ngx_str_t *token, ngx_uint_t jwt)
{
    ngx_buf_t  *b;

    if (slcf->basic_auth.len == 0 || slcf->api_location.len == 0) {
        return NGX_DECLINED;
    }

    /* the token was checked to hold only base64url characters and '.' */

    b = ngx_create_temp_buf(r->pool, sizeof("{\"session_token\":\"\"}") - 1
                                     + token->len);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->last = ngx_sprintf(b->pos, "{\"%s\":\"%V\"}",
                          jwt ? "session_jwt" : "session_token", token);

    lo->call.handler = ngx_http_stytch_revoked;
    lo->call.data = lo;
    lo->calling = 1;

    if (ngx_http_stytch_api_call(r, slcf,
                                 slcf->b2b ? "/v1/b2b/sessions/revoke"
                                           : "/v1/sessions/revoke",
                                 b, &lo->call)
        != NGX_OK)
    {
        lo->call.over = 1;
        return NGX_ERROR;
    }

    r->write_event_handler = ngx_http_stytch_logout_finish;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "stytch: revoking the session by its %s",
                   jwt ? "JWT" : "token");

    return NGX_OK;
}


/*
 * The revocation's outcome is logged; the main request answers the client
 * once the subrequest is over, when NGINX runs it again.
 */

static void
ngx_http_stytch_revoked(ngx_http_stytch_call_t *call)
{
    ngx_http_stytch_logout_log(call->data);
}


static void
ngx_http_stytch_logout_finish(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t        *cln;
    ngx_http_stytch_logout_t  *lo;

    lo = NULL;

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_stytch_logout_cleanup) {
            lo = cln->data;
            break;
        }
    }

    if (lo == NULL || !lo->call.over || !lo->call.ended) {
        return;
    }

    r->write_event_handler = ngx_http_request_empty_handler;

    ngx_http_finalize_request(r, ngx_http_stytch_logout_send(r, lo));
}


static void
ngx_http_stytch_logout_log(ngx_http_stytch_logout_t *lo)
{
    ngx_log_t           *log;
    ngx_uint_t           code;
    const char          *directive;
    stytch_status_t      status;
    stytch_api_error_t   error;

    static const char  *why[] = {
        "", "no answer", "no answer within \"stytch_api_deadline\"",
        "an answer over the size limit", "an answer that redirects the call",
        "no answer", ""
    };

    log = lo->call.log;
    code = lo->call.status;

    if (lo->call.outcome == NGX_HTTP_STYTCH_CALL_GONE) {
        return;
    }

    if (lo->call.outcome != NGX_HTTP_STYTCH_CALL_ANSWERED) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "stytch: the session could not be revoked at Stytch "
                      "(%s): its cookies are cleared, but it stays valid at "
                      "Stytch until it expires", why[lo->call.outcome]);
        return;
    }

    status = stytch_api_parse_error(code, (char *) lo->call.body,
                                    lo->call.len, &error);

    switch (status) {

    case STYTCH_OK:
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, log, 0,
                       "stytch: the session is revoked");
        return;

    case STYTCH_API_SESSION_NOT_FOUND:
        ngx_log_error(NGX_LOG_INFO, log, 0,
                      "stytch: signing out a session that Stytch does not "
                      "know (%ui %s): its cookies are cleared", code,
                      error.error_type[0] ? error.error_type
                                          : "session_not_found");
        return;

    default:
        break;
    }

    directive = stytch_api_error_directive(&error);

    if (directive) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "stytch: the API refused to revoke the session (%ui "
                      "%s): check \"%s\"; its cookies are cleared, but it "
                      "stays valid at Stytch until it expires", code,
                      error.error_type, directive);
        return;
    }

    ngx_log_error(NGX_LOG_WARN, log, 0,
                  "stytch: the session could not be revoked at Stytch "
                  "(%ui %s): its cookies are cleared, but it stays valid at "
                  "Stytch until it expires", code,
                  error.error_type[0] ? error.error_type
                                      : stytch_status_name(status));
}


/*
 * The cookies go with the attributes they were set with, which a browser
 * needs to match them, and an expiry in the past.
 */

static ngx_int_t
ngx_http_stytch_logout_send(ngx_http_request_t *r,
    ngx_http_stytch_logout_t *lo)
{
    ngx_table_elt_t             *h;
    ngx_http_stytch_loc_conf_t  *slcf;

    static ngx_str_t  no_store = ngx_string("no-store");

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_stytch_module);

    if (ngx_http_stytch_clear_cookie(r, slcf, &slcf->jwt_cookie) != NGX_OK
        || ngx_http_stytch_clear_cookie(r, slcf, &slcf->session_cookie)
           != NGX_OK
        || ngx_http_stytch_add_header(r, "Cache-Control", &no_store) == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_clear_location(r);

    h = ngx_http_stytch_add_header(r, "Location", &lo->location);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.location = h;

    return NGX_HTTP_SEE_OTHER;
}


static void
ngx_http_stytch_logout_cleanup(void *data)
{
    ngx_http_stytch_logout_t  *lo = data;

    if (lo->calling) {
        ngx_http_stytch_api_call_free(&lo->call);
    }
}


/*
 * Every character but RFC 3986's unreserved ones is percent-encoded, so
 * that the URI ("?", "&", "#", "%" and all) is one query argument.
 */

static ngx_int_t
ngx_http_stytch_return_to_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    size_t       len;
    u_char      *p;
    ngx_str_t   *uri;

    uri = &r->main->unparsed_uri;

    len = uri->len + 2 * ngx_escape_uri(NULL, uri->data, uri->len,
                                        NGX_ESCAPE_URI_COMPONENT);

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    (void) ngx_escape_uri(p, uri->data, uri->len, NGX_ESCAPE_URI_COMPONENT);

    v->len = len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->data = p;

    return NGX_OK;
}
