
/*
 * ngx_http_stytch_module: signing out at the edge, and the return address
 * of a sign-in redirect.
 *
 * "stytch_logout" is a location's content handler.  It revokes the
 * request's session at Stytch (POST /v1[/b2b]/sessions/revoke through the
 * location that stytch_api_location names, as the fallback asks
 * sessions/authenticate), clears the module's cookies and redirects with
 * 303.  The cookies are cleared whatever Stytch answers, so that a
 * sign-out never leaves a browser signed in; the redirect goes to the
 * configured URL, or to a "return_to" argument only when that is a path
 * of this site.
 *
 * $stytch_return_to is the request's URI encoded as a query argument, for
 * the redirect to a sign-in page that is to bring the user back.
 */


#include "ngx_http_stytch_module.h"


/* a return address longer than this is not one a site gives itself */
#define NGX_HTTP_STYTCH_MAX_RETURN_TO  4096

/* Stytch's answers to sessions/revoke are far smaller */
#define NGX_HTTP_STYTCH_MAX_REVOKE     4096


typedef struct {
    ngx_str_t                   location;
    ngx_uint_t                  status;      /* Stytch's, 0: no answer */
    ngx_str_t                   body;
    unsigned                    done:1;
    unsigned                    truncated:1;
} ngx_http_stytch_logout_t;


static ngx_int_t ngx_http_stytch_logout_handler(ngx_http_request_t *r);
static ngx_uint_t ngx_http_stytch_local_path(ngx_str_t *path);
static void ngx_http_stytch_logout_target(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_logout_t *lo);
static ngx_int_t ngx_http_stytch_logout_token(ngx_http_request_t *r,
    ngx_str_t *name, ngx_str_t *value);
static ngx_int_t ngx_http_stytch_revoke(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_logout_t *lo,
    ngx_str_t *token, ngx_uint_t jwt);
static ngx_int_t ngx_http_stytch_revoke_done(ngx_http_request_t *sr,
    void *data, ngx_int_t rc);
static void ngx_http_stytch_logout_finish(ngx_http_request_t *r);
static void ngx_http_stytch_logout_log(ngx_http_request_t *r,
    ngx_http_stytch_logout_t *lo);
static ngx_int_t ngx_http_stytch_logout_send(ngx_http_request_t *r,
    ngx_http_stytch_logout_t *lo);
static void ngx_http_stytch_logout_cleanup(void *data);
static ngx_int_t ngx_http_stytch_logout_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_stytch_return_to_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_str_t  ngx_http_stytch_return_to_name =
    ngx_string("stytch_return_to");

static ngx_http_output_body_filter_pt  ngx_http_next_body_filter;


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
ngx_http_stytch_logout_init(ngx_conf_t *cf)
{
    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_stytch_logout_body_filter;

    return NGX_OK;
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
    ngx_str_t                    token;
    ngx_uint_t                   jwt;
    ngx_pool_cleanup_t          *cln;
    ngx_http_stytch_logout_t    *lo;
    ngx_http_stytch_loc_conf_t  *slcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_POST))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_stytch_module);

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

    if (slcf->session_cookie.len == 0
        || ngx_http_stytch_logout_token(r, &slcf->session_cookie, &token)
           != NGX_OK)
    {
        jwt = 1;

        if (slcf->jwt_cookie.len == 0
            || ngx_http_stytch_logout_token(r, &slcf->jwt_cookie, &token)
               != NGX_OK)
        {
            ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "stytch: signing out without a session");

            return ngx_http_stytch_logout_send(r, lo);
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


/* The value of a cookie, as NGINX finds it: the first one of that name. */

static ngx_int_t
ngx_http_stytch_logout_token(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *value)
{
#if (nginx_version < 1023000)
    if (ngx_http_parse_multi_header_lines(&r->headers_in.cookies, name, value)
        == NGX_DECLINED)
    {
        return NGX_DECLINED;
    }
#else
    if (ngx_http_parse_multi_header_lines(r, r->headers_in.cookie, name,
                                          value)
        == NULL)
    {
        return NGX_DECLINED;
    }
#endif

    if (!ngx_http_stytch_token_is_safe(value)) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "stytch: the cookie \"%V\" does not hold a token: "
                      "it is cleared without asking Stytch", name);
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * The subrequest carries nothing of the client's request, as the
 * fallback's does: its headers are replaced by the three that Stytch
 * needs, its body is ours.  Its answer is taken by the body filter below;
 * an in-memory subrequest keeps it from the client all the same should
 * the filter not be on the chain.  NGX_DECLINED: no call can be made.
 */

static ngx_int_t
ngx_http_stytch_revoke(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_logout_t *lo,
    ngx_str_t *token, ngx_uint_t jwt)
{
    ngx_buf_t                   *b;
    ngx_http_request_t          *sr;
    ngx_http_post_subrequest_t  *ps;

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

    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));
    if (ps == NULL) {
        return NGX_ERROR;
    }

    ps->handler = ngx_http_stytch_revoke_done;
    ps->data = lo;

    if (ngx_http_stytch_api_post(r, slcf,
                                 slcf->b2b ? "/v1/b2b/sessions/revoke"
                                           : "/v1/sessions/revoke",
                                 b, ps,
                                 NGX_HTTP_SUBREQUEST_IN_MEMORY
                                 |NGX_HTTP_SUBREQUEST_WAITED,
                                 lo, &sr)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    r->write_event_handler = ngx_http_stytch_logout_finish;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "stytch: revoking the session by its %s",
                   jwt ? "JWT" : "token");

    return NGX_OK;
}


/*
 * The revocation's completion records what Stytch answered; the main
 * request then answers the client.  A failed call is an answer too: no
 * error page is made for it, and the client's request goes on.
 */

static ngx_int_t
ngx_http_stytch_revoke_done(ngx_http_request_t *sr, void *data, ngx_int_t rc)
{
    ngx_http_stytch_logout_t  *lo = data;

    if (rc == NGX_AGAIN || lo->done) {
        return rc;
    }

    lo->done = 1;

    if (rc == NGX_HTTP_CLIENT_CLOSED_REQUEST || sr->connection->error) {
        return rc;
    }

    if (ngx_http_get_module_ctx(sr, ngx_http_stytch_module) != lo) {
        ngx_log_error(NGX_LOG_ERR, sr->connection->log, 0,
                      "stytch: the answer to the session's revocation "
                      "redirected the call internally (X-Accel-Redirect): "
                      "it is refused");

    } else if (sr->upstream == NULL && rc != NGX_ERROR) {
        ngx_log_error(NGX_LOG_ERR, sr->connection->log, 0,
                      "stytch: \"%V\" did not reach an upstream: "
                      "\"stytch_api_location\" must name a location with "
                      "\"proxy_pass\" to the Stytch API", &sr->uri);

    } else if (rc != NGX_ERROR) {
        lo->status = sr->headers_out.status;
    }

    return (rc == NGX_ERROR || rc >= NGX_HTTP_SPECIAL_RESPONSE) ? NGX_OK : rc;
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

    if (lo == NULL || !lo->done) {
        return;
    }

    r->write_event_handler = ngx_http_request_empty_handler;

    ngx_http_stytch_logout_log(r, lo);

    ngx_http_finalize_request(r, ngx_http_stytch_logout_send(r, lo));
}


static void
ngx_http_stytch_logout_log(ngx_http_request_t *r, ngx_http_stytch_logout_t *lo)
{
    const char          *directive;
    stytch_status_t      status;
    stytch_api_error_t   error;

    if (lo->status == 0 || lo->truncated) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "stytch: the session could not be revoked at Stytch "
                      "(%s): its cookies are cleared, but it stays valid at "
                      "Stytch until it expires",
                      lo->status ? "an answer over 4096 bytes"
                                 : "no answer");
        return;
    }

    status = stytch_api_parse_error(lo->status, (char *) lo->body.data,
                                    lo->body.len, &error);

    switch (status) {

    case STYTCH_OK:
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "stytch: the session is revoked");
        return;

    case STYTCH_API_SESSION_NOT_FOUND:
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "stytch: signing out a session that Stytch does not "
                      "know (%ui %s): its cookies are cleared", lo->status,
                      error.error_type[0] ? error.error_type
                                          : "session_not_found");
        return;

    default:
        break;
    }

    directive = stytch_api_error_directive(&error);

    if (directive) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "stytch: the API refused to revoke the session (%ui "
                      "%s): check \"%s\"; its cookies are cleared, but it "
                      "stays valid at Stytch until it expires", lo->status,
                      error.error_type, directive);
        return;
    }

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "stytch: the session could not be revoked at Stytch "
                  "(%ui %s): its cookies are cleared, but it stays valid at "
                  "Stytch until it expires", lo->status,
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
    /* the state is in the request's pool: nothing to free */
}


/*
 * The revocation's answer is kept, up to a limit, and goes no further
 * down the chain: none of it reaches the client.  The subrequest is found
 * through its completion handler, which an internal redirect keeps.
 */

static ngx_int_t
ngx_http_stytch_logout_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    size_t                     n;
    ngx_buf_t                 *b;
    ngx_chain_t               *cl;
    ngx_http_stytch_logout_t  *lo;

    if (r == r->main || r->post_subrequest == NULL
        || r->post_subrequest->handler != ngx_http_stytch_revoke_done)
    {
        return ngx_http_next_body_filter(r, in);
    }

    lo = r->post_subrequest->data;

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        if (!ngx_buf_in_memory(b)) {
            if (ngx_buf_size(b)) {
                lo->truncated = 1;
            }

            b->file_pos = b->file_last;
            continue;
        }

        n = b->last - b->pos;

        if (n == 0) {
            continue;
        }

        if (lo->body.data == NULL) {
            lo->body.data = ngx_pnalloc(r->pool, NGX_HTTP_STYTCH_MAX_REVOKE);
            if (lo->body.data == NULL) {
                return NGX_ERROR;
            }
        }

        if (n > NGX_HTTP_STYTCH_MAX_REVOKE - lo->body.len) {
            n = NGX_HTTP_STYTCH_MAX_REVOKE - lo->body.len;
            lo->truncated = 1;
        }

        lo->body.len = ngx_cpymem(lo->body.data + lo->body.len, b->pos, n)
                       - lo->body.data;
        b->pos = b->last;
    }

    return NGX_OK;
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
