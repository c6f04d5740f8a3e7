
/*
 * Copyright (C) 2026 The ngx_http_stytch_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * ngx_http_stytch_module: what a request carries.
 *
 * The session JWT ("Authorization: Bearer", or its cookie), the opaque
 * session token (its cookie, or a Bearer token without dots), or the
 * value of stytch_token's variable, the one source where it is set; a CORS
 * preflight, and the shape of a token: what may be sent to Stytch in a
 * JSON body or set in a cookie.
 * Reads the request; keeps no state.
 */


#include "ngx_http_stytch.h"



static ngx_int_t ngx_http_stytch_bearer(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_str_t *token);
static ngx_uint_t ngx_http_stytch_method_override(ngx_str_t *name,
    ngx_str_t *overrides);


/*
 * The JWT ("Authorization: Bearer" first, then the cookie) and the opaque
 * session token (its cookie); with stytch_token, its value alone, taken
 * as a Bearer token is, as auth_jwt's "token=" is the only source.
 */

ngx_int_t
ngx_http_stytch_tokens(ngx_http_request_t *r, ngx_http_stytch_loc_conf_t *slcf,
    ngx_http_stytch_tokens_t *tokens)
{
    ngx_str_t  bearer;

    ngx_memzero(tokens, sizeof(ngx_http_stytch_tokens_t));

    ngx_str_null(&bearer);

    if (slcf->token) {
        if (ngx_http_complex_value(r, slcf->token, &bearer) != NGX_OK) {
            return NGX_ERROR;
        }

    } else if (slcf->jwt_header.len) {
        (void) ngx_http_stytch_bearer(r, slcf, &bearer);
    }

    if (bearer.len) {
        /*
         * Mobile and server clients send the opaque session token as a
         * Bearer token too: a JWT has exactly two dots, a session token
         * none.  Only the API can check one.
         */
        if ((slcf->kinds & STYTCH_KIND_SESSION) && slcf->fallback
            && ngx_http_stytch_dots(&bearer) != 2)
        {
            tokens->session_token = bearer;

        } else {
            tokens->jwt = bearer;
        }
    }

    if (slcf->token) {
        /* the only source: no header, no cookie */
        return NGX_OK;
    }

    if (bearer.len == 0
        && (slcf->kinds & STYTCH_KIND_SESSION)
        && slcf->jwt_cookie.len
        && ngx_http_stytch_cookie(r, &slcf->jwt_cookie, &tokens->jwt)
           == NGX_OK)
    {
        tokens->jwt_from_cookie = 1;
    }

    if ((slcf->kinds & STYTCH_KIND_SESSION) && slcf->session_cookie.len
        && tokens->session_token.len == 0
        && ngx_http_stytch_cookie(r, &slcf->session_cookie,
                                  &tokens->session_token)
           == NGX_OK)
    {
        tokens->token_from_cookie = 1;
    }

    return NGX_OK;
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

    /* the default name, as written, without ngx_strncasecmp() */

    if (slcf->jwt_header.len == sizeof("Authorization") - 1
        && (ngx_memcmp(slcf->jwt_header.data, "Authorization",
                       sizeof("Authorization") - 1)
            == 0
            || ngx_strncasecmp(slcf->jwt_header.data,
                               (u_char *) "Authorization",
                               sizeof("Authorization") - 1)
               == 0))
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

            /*
             * the name as configured first: ngx_strncasecmp() takes about
             * 25 instructions a byte, and every protected request compares
             * the JWT cookie's name and, in its front, the session cookie's
             */

            if (end - start > (ssize_t) name->len
                && (ngx_memcmp(start, name->data, name->len) == 0
                    || ngx_strncasecmp(start, name->data, name->len) == 0))
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


/*
 * A CORS preflight, strictly: what a browser sends and nothing more.  An
 * OPTIONS request without a body (no Content-Length above 0, no
 * Transfer-Encoding, and for HTTP/2 and HTTP/3 no body announced), with a
 * non-empty Origin and a non-empty Access-Control-Request-Method, and
 * without a method-override header, which some frameworks read to run the
 * request as another method.  Anything else is not a preflight and is
 * authenticated as usual.
 */

ngx_uint_t
ngx_http_stytch_preflight(ngx_http_request_t *r)
{
    ngx_uint_t        i, origin, method;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    static ngx_str_t  acrm = ngx_string("Access-Control-Request-Method");
    static ngx_str_t  overrides[] = {
        ngx_string("X-HTTP-Method-Override"),
        ngx_string("X-HTTP-Method"),
        ngx_string("X-Method-Override"),
        ngx_null_string
    };

    if (r->method != NGX_HTTP_OPTIONS) {
        return 0;
    }

    if (r->headers_in.content_length_n > 0
        || r->headers_in.transfer_encoding
        || r->headers_in.chunked)
    {
        return 0;
    }

#if (NGX_HTTP_V2)
    /* HEADERS without END_STREAM: DATA frames are to come */
    if (r->stream && !r->stream->in_closed) {
        return 0;
    }
#endif

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
            if (h[i].value.len == 0 || origin) {
                return 0;
            }

            origin = 1;

        } else if (h[i].key.len == acrm.len
                   && ngx_strncasecmp(h[i].key.data, acrm.data, acrm.len)
                      == 0)
        {
            if (h[i].value.len == 0 || method) {
                return 0;
            }

            method = 1;

        } else if (ngx_http_stytch_method_override(&h[i].key, overrides)) {
            return 0;
        }
    }

    return origin && method;
}


static ngx_uint_t
ngx_http_stytch_method_override(ngx_str_t *name, ngx_str_t *overrides)
{
    ngx_str_t  *o;

    for (o = overrides; o->len; o++) {
        if (name->len == o->len
            && ngx_strncasecmp(name->data, o->data, o->len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/* A JWT has exactly two dots, an opaque session token none. */

ngx_uint_t
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
