
/*
 * Copyright (C) 2026 The ngx_http_stytch_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * ngx_http_stytch_module: the answers.
 *
 * What a refusal carries (RFC 6750's challenge for 401 and the 403 of a
 * missing scope, Retry-After with 503), the session's cookies set again
 * or cleared, with the attributes they were set with, and the
 * Cache-Control that keeps a response carrying them from shared caches.
 * Writes response headers; keeps no state.
 */


#include "ngx_http_stytch.h"


static ngx_int_t ngx_http_stytch_expire_cookie(ngx_http_request_t *r,
    ngx_str_t *name, ngx_str_t *attrs, ngx_uint_t secure);
static ngx_int_t ngx_http_stytch_cookie_attrs(ngx_http_request_t *r,
    ngx_str_t *path, ngx_str_t *domain, ngx_str_t *attrs);
static ngx_uint_t ngx_http_stytch_cookie_secure(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf);
static ngx_uint_t ngx_http_stytch_shared_directive(u_char *p, size_t len);
static ngx_uint_t ngx_http_stytch_cdn_header(ngx_str_t *name);


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


/* RFC 6750, section 3 */

ngx_int_t
ngx_http_stytch_challenge(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_uint_t invalid)
{
    u_char           *p;
    ngx_str_t         value;
    ngx_table_elt_t  *h;

    value.len = sizeof("Bearer realm=\"\", error=\"invalid_token\"") - 1
                + slcf->realm.len
                + sizeof(", resource_metadata=\"\"") - 1
                + slcf->resource_metadata.len;
    value.data = ngx_pnalloc(r->pool, value.len);
    if (value.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(value.data, "Bearer realm=\"%V\"%s", &slcf->realm,
                    invalid ? ", error=\"invalid_token\"" : "");

    /* RFC 9728, section 5.1: where the client finds the resource's AS */
    if (slcf->resource_metadata.len) {
        p = ngx_sprintf(p, ", resource_metadata=\"%V\"",
                        &slcf->resource_metadata);
    }

    value.len = p - value.data;

    h = ngx_http_stytch_add_header(r, "WWW-Authenticate", &value);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.www_authenticate = h;

    return NGX_HTTP_UNAUTHORIZED;
}


/*
 * RFC 6750, section 3: the scopes needed for access; RFC 9728, section
 * 5.1: where the client finds the authorization server to ask for them
 */

ngx_int_t
ngx_http_stytch_forbid(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_str_t *scope)
{
    u_char           *p;
    ngx_str_t         value;
    ngx_table_elt_t  *h;

    if (scope->len == 0 && slcf->resource_metadata.len == 0) {
        ngx_str_set(&value, "Bearer error=\"insufficient_scope\"");

    } else {
        value.len = sizeof("Bearer error=\"insufficient_scope\"") - 1
                    + sizeof(", scope=\"\"") - 1 + scope->len
                    + sizeof(", resource_metadata=\"\"") - 1
                    + slcf->resource_metadata.len;
        value.data = ngx_pnalloc(r->pool, value.len);
        if (value.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        p = ngx_cpymem(value.data, "Bearer error=\"insufficient_scope\"",
                       sizeof("Bearer error=\"insufficient_scope\"") - 1);

        if (scope->len) {
            p = ngx_sprintf(p, ", scope=\"%V\"", scope);
        }

        if (slcf->resource_metadata.len) {
            p = ngx_sprintf(p, ", resource_metadata=\"%V\"",
                            &slcf->resource_metadata);
        }

        value.len = p - value.data;
    }

    h = ngx_http_stytch_add_header(r, "WWW-Authenticate", &value);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.www_authenticate = h;

    return NGX_HTTP_FORBIDDEN;
}


ngx_int_t
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
 * Stytch's frontend SDK gives its cookies.  sent is the token the API was
 * asked about, jwt says which; the session token cookie only replaces one
 * that changed.  NGX_OK: a cookie was set; NGX_DECLINED: none.
 */

ngx_int_t
ngx_http_stytch_set_cookies(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, stytch_session_t *session,
    ngx_str_t *sent, ngx_uint_t jwt)
{
    size_t            len, n;
    u_char           *p;
    ngx_int_t         rc;
    time_t            expires;
    ngx_str_t         value, cookie, attrs, *name;
    ngx_uint_t        i, secure;
    const char       *v;
    stytch_field_t    fields[2] = { STYTCH_FIELD_SESSION_JWT,
                                    STYTCH_FIELD_SESSION_TOKEN };

    rc = NGX_DECLINED;

    expires = stytch_session_expires_at(session);

    if (slcf->cookie_attributes.data) {
        attrs = slcf->cookie_attributes;
        secure = ngx_http_stytch_cookie_secure(r, slcf);

    } else {
        if (ngx_http_stytch_cookie_attrs(r, &slcf->cookie_path,
                                         slcf->cookie_domain.len
                                         ? &slcf->cookie_domain : NULL,
                                         &attrs)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        secure = ngx_http_stytch_cookie_secure(r, NULL);
    }

    for (i = 0; i < 2; i++) {

        name = (i == 0) ? &slcf->jwt_cookie : &slcf->session_cookie;

        if (name->len == 0) {
            continue;
        }

        v = stytch_session_field(session, fields[i], &n);

        if (n == 0) {
            continue;
        }

        /*
         * The session token cookie only replaces one that the client sent
         * and that changed: a client that holds only the short-lived JWT
         * is not handed the long-lived token.
         */
        if (i == 1
            && (jwt
                || (sent->len == n && ngx_strncmp(sent->data, v, n) == 0)))
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

        len = name->len + 1 + value.len + 2 + attrs.len
              + sizeof("; Expires=Mon, 28 Sep 1970 06:00:00 GMT")
              + sizeof("; Secure") - 1;

        p = ngx_pnalloc(r->pool, len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        cookie.data = p;

        p = ngx_sprintf(p, "%V=%V", name, &value);

        if (attrs.len) {
            p = ngx_sprintf(p, "; %V", &attrs);
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

        rc = NGX_OK;
    }

    return rc;
}


/*
 * The Set-Cookie headers that drop the cookie name wherever it may have
 * been set, as the frontend SDK removes its cookies: host-only and, with
 * stytch_cookie_domain, for the domain; at "/" and at stytch_cookie_path;
 * and with stytch_cookie_attributes, when they are set.
 */

ngx_int_t
ngx_http_stytch_clear_cookie(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_str_t *name)
{
    ngx_str_t   attrs, *path, *domain;
    ngx_uint_t  p, d, secure;

    static ngx_str_t  root = ngx_string("/");

    if (name->len == 0) {
        return NGX_OK;
    }

    secure = ngx_http_stytch_cookie_secure(r, NULL);

    for (p = 0; p < 2; p++) {

        if (p == 1 && slcf->cookie_path.len == 1) {
            break;
        }

        path = (p == 0) ? &root : &slcf->cookie_path;

        for (d = 0; d < 2; d++) {

            if (d == 1 && slcf->cookie_domain.len == 0) {
                break;
            }

            domain = (d == 0) ? NULL : &slcf->cookie_domain;

            if (ngx_http_stytch_cookie_attrs(r, path, domain, &attrs)
                != NGX_OK
                || ngx_http_stytch_expire_cookie(r, name, &attrs, secure)
                   != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    if (slcf->cookie_attributes.data == NULL) {
        return NGX_OK;
    }

    return ngx_http_stytch_expire_cookie(r, name, &slcf->cookie_attributes,
                                         ngx_http_stytch_cookie_secure(r,
                                                                     slcf));
}


static ngx_int_t
ngx_http_stytch_expire_cookie(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *attrs, ngx_uint_t secure)
{
    u_char     *p;
    size_t      len;
    ngx_str_t   cookie;

    len = name->len + sizeof("=; ") - 1 + attrs->len
          + sizeof("; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT") - 1
          + sizeof("; Secure") - 1;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    cookie.data = p;
    p = ngx_sprintf(p, "%V=", name);

    if (attrs->len) {
        p = ngx_sprintf(p, "; %V", attrs);
    }

    p = ngx_cpymem(p, "; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
                   sizeof("; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 "
                          "GMT") - 1);

    /* the attribute it was set with */
    if (secure) {
        p = ngx_cpymem(p, "; Secure", sizeof("; Secure") - 1);
    }

    cookie.len = p - cookie.data;

    if (ngx_http_stytch_add_header(r, "Set-Cookie", &cookie) == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* The frontend SDK's attributes: Path, Domain when it is given, SameSite. */

static ngx_int_t
ngx_http_stytch_cookie_attrs(ngx_http_request_t *r, ngx_str_t *path,
    ngx_str_t *domain, ngx_str_t *attrs)
{
    u_char  *p;

    p = ngx_pnalloc(r->pool, sizeof("Path=; Domain=; SameSite=Lax") - 1
                             + path->len + (domain ? domain->len : 0));
    if (p == NULL) {
        return NGX_ERROR;
    }

    attrs->data = p;
    p = ngx_sprintf(p, "Path=%V", path);

    if (domain) {
        p = ngx_sprintf(p, "; Domain=%V", domain);
    }

    p = ngx_cpymem(p, "; SameSite=Lax", sizeof("; SameSite=Lax") - 1);
    attrs->len = p - attrs->data;

    return NGX_OK;
}


/*
 * Secure over TLS, always; otherwise as the frontend SDK writes it: unless
 * the site is on localhost or a loopback address, whether or not TLS ends
 * before NGINX.  Attributes that stytch_cookie_attributes sets (slcf) are
 * Secure over TLS only, as ever.
 */

static ngx_uint_t
ngx_http_stytch_cookie_secure(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf)
{
    ngx_str_t  *host;
    in_addr_t   addr;
#if (NGX_HAVE_INET6)
    u_char      addr6[16];
    ngx_uint_t  i;
#endif

#if (NGX_HTTP_SSL)
    if (r->connection->ssl) {
        return 1;
    }
#endif

    if (slcf) {
        return 0;
    }

    /* the Host header, lowercased and without its port */
    host = &r->headers_in.server;

    if (host->len == sizeof("localhost") - 1
        && ngx_strncmp(host->data, "localhost", host->len) == 0)
    {
        return 0;
    }

#if (NGX_HAVE_INET6)
    if (host->len > 2 && host->data[0] == '['
        && host->data[host->len - 1] == ']')
    {
        if (ngx_inet6_addr(host->data + 1, host->len - 2, addr6) != NGX_OK) {
            return 1;
        }

        for (i = 0; i < 15; i++) {
            if (addr6[i] != 0) {
                return 1;
            }
        }

        return addr6[15] != 1;
    }
#endif

    addr = ngx_inet_addr(host->data, host->len);

    if (addr != INADDR_NONE && (ntohl(addr) >> 24) == 127) {
        return 0;
    }

    return 1;
}


/*
 * No shared cache may store the response, whatever the location, its
 * "expires" and "add_header" (whose filter runs before this one) or its
 * upstream said: Cache-Control becomes one header, "private", followed by
 * the directives it had that are not about shared caches (max-age stays,
 * for the browser); an Expires is put in the past, for HTTP/1.0 caches
 * that read no Cache-Control; and the headers that speak to CDNs alone
 * (CDN-Cache-Control and its targeted forms, Surrogate-Control) go.
 */

ngx_int_t
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

        if (h[i].hash == 0) {
            continue;
        }

        if (ngx_http_stytch_cdn_header(&h[i].key)) {
            h[i].hash = 0;
            continue;
        }

        if (h[i].key.len == sizeof("Cache-Control") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Cache-Control",
                               sizeof("Cache-Control") - 1)
               == 0)
        {
            len += 2 + h[i].value.len;
        }
    }

    if (r->headers_out.expires && r->headers_out.expires->hash) {
        ngx_str_set(&r->headers_out.expires->value,
                    "Thu, 01 Jan 1970 00:00:01 GMT");

    } else {
        ngx_str_set(&value, "Thu, 01 Jan 1970 00:00:01 GMT");

        r->headers_out.expires = ngx_http_stytch_add_header(r, "Expires",
                                                            &value);
        if (r->headers_out.expires == NULL) {
            return NGX_ERROR;
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


/* public, private, s-maxage and proxy-revalidate speak of shared caches */

static ngx_uint_t
ngx_http_stytch_shared_directive(u_char *p, size_t len)
{
    size_t      n;
    ngx_uint_t  i;

    static ngx_str_t  shared[] = {
        ngx_string("public"), ngx_string("private"), ngx_string("s-maxage"),
        ngx_string("proxy-revalidate")
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
 * CDN-Cache-Control (RFC 9213) and its targeted forms (Cloudflare-CDN-
 * Cache-Control, ...), and Surrogate-Control: a CDN obeys them rather
 * than Cache-Control.
 */

static ngx_uint_t
ngx_http_stytch_cdn_header(ngx_str_t *name)
{
    static ngx_str_t  cdn = ngx_string("CDN-Cache-Control");
    static ngx_str_t  surrogate = ngx_string("Surrogate-Control");

    if (name->len == surrogate.len
        && ngx_strncasecmp(name->data, surrogate.data, surrogate.len) == 0)
    {
        return 1;
    }

    return name->len >= cdn.len
           && ngx_strncasecmp(name->data + name->len - cdn.len, cdn.data,
                              cdn.len)
              == 0;
}
