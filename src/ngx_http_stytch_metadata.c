
/*
 * Copyright (C) 2026 The ngx_http_stytch_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * ngx_http_stytch_module: a protected resource's metadata (RFC 9728).
 *
 * stytch_resource names the resource that a protected location is part
 * of; its metadata URL is derived from it as RFC 9728, section 3.1, has
 * it, and goes into the location's 401 and 403 challenges.
 * stytch_resource_metadata serves that document: the resource, its
 * authorization server (the Stytch project's domain), the scopes that the
 * locations protecting the resource require, and how a token is sent.
 * The document is built once, at start, from the configuration alone.
 */


#include "ngx_http_stytch.h"


#define NGX_HTTP_STYTCH_WELL_KNOWN  "/.well-known/oauth-protected-resource"


static ngx_int_t ngx_http_stytch_metadata_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_stytch_metadata_build(ngx_conf_t *cf,
    ngx_http_stytch_main_conf_t *smcf, ngx_http_stytch_loc_conf_t *slcf);
static ngx_int_t ngx_http_stytch_metadata_add_scopes(ngx_array_t *scopes,
    ngx_str_t *value);


/*
 * A resource identifier: an http or https URL with a host, and no query,
 * fragment, space, quote or backslash (it goes into a JSON string and a
 * challenge's quoted string as it is).  Its metadata URL, into *url;
 * another value is refused, naming the directive.
 */

ngx_int_t
ngx_http_stytch_metadata_url(ngx_conf_t *cf, ngx_str_t *directive,
    ngx_str_t *resource, ngx_str_t *url)
{
    u_char  *p, *host, *path, *last;

    last = resource->data + resource->len;

    if (resource->len > 8 && ngx_strncmp(resource->data, "https://", 8) == 0)
    {
        host = resource->data + 8;

    } else if (resource->len > 7
               && ngx_strncmp(resource->data, "http://", 7) == 0)
    {
        host = resource->data + 7;

    } else {
        goto invalid;
    }

    for (p = resource->data; p < last; p++) {
        if (*p <= ' ' || *p >= 0x7f || *p == '"' || *p == '\\' || *p == '?'
            || *p == '#')
        {
            goto invalid;
        }
    }

    path = ngx_strlchr(host, last, '/');
    if (path == NULL) {
        path = last;
    }

    if (path == host) {
        goto invalid;
    }

    /* "https://host/" is the resource "https://host": no trailing slash */
    if (last - path == 1) {
        last = path;
    }

    url->len = resource->len + sizeof(NGX_HTTP_STYTCH_WELL_KNOWN) - 1;
    url->data = ngx_pnalloc(cf->pool, url->len);
    if (url->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(url->data, resource->data, path - resource->data);
    p = ngx_cpymem(p, NGX_HTTP_STYTCH_WELL_KNOWN,
                   sizeof(NGX_HTTP_STYTCH_WELL_KNOWN) - 1);
    p = ngx_cpymem(p, path, last - path);

    url->len = p - url->data;

    return NGX_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid resource \"%V\" in \"%V\": an http or "
                       "https URL with a host and without a query or "
                       "fragment", resource, directive);

    return NGX_ERROR;
}


/* stytch_resource_metadata resource [authorization_server] */

char *
ngx_http_stytch_resource_metadata(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_stytch_loc_conf_t *slcf = conf;

    u_char                    *p;
    ngx_str_t                 *value, url;
    ngx_http_core_loc_conf_t  *clcf;

    if (slcf->metadata.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_http_stytch_metadata_url(cf, &cmd->name, &value[1], &url)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    slcf->resource = value[1];
    slcf->resource_metadata = url;

    if (cf->args->nelts == 3) {
        for (p = value[2].data; p < value[2].data + value[2].len; p++) {
            if (*p <= ' ' || *p >= 0x7f || *p == '"' || *p == '\\') {
                break;
            }
        }

        if (p != value[2].data + value[2].len
            || !((value[2].len > 8
                  && ngx_strncmp(value[2].data, "https://", 8) == 0)
                 || (value[2].len > 7
                     && ngx_strncmp(value[2].data, "http://", 7) == 0)))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid authorization server \"%V\" in "
                               "\"%V\": an http or https URL", &value[2],
                               &cmd->name);
            return NGX_CONF_ERROR;
        }

        /* the issuer, compared without a trailing slash */
        while (value[2].data[value[2].len - 1] == '/') {
            value[2].len--;
        }

        slcf->authorization_server = value[2];
    }

    /* built at start, once every location is known */
    ngx_str_set(&slcf->metadata, "");

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_stytch_metadata_handler;

    return NGX_CONF_OK;
}


/*
 * At start: the document of each stytch_resource_metadata location, with
 * the scopes that the locations protecting its resource require.
 */

ngx_int_t
ngx_http_stytch_metadata_init(ngx_conf_t *cf,
    ngx_http_stytch_main_conf_t *smcf)
{
    ngx_uint_t                   i;
    ngx_http_stytch_location_t  *loc;
    ngx_http_stytch_loc_conf_t  *slcf;

    loc = smcf->locations.elts;

    for (i = 0; i < smcf->locations.nelts; i++) {
        slcf = loc[i].core->loc_conf[ngx_http_stytch_module.ctx_index];

        if (slcf->metadata.data == NULL || slcf->metadata.len) {
            continue;
        }

        if (ngx_http_stytch_metadata_build(cf, smcf, slcf) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_stytch_metadata_build(ngx_conf_t *cf,
    ngx_http_stytch_main_conf_t *smcf, ngx_http_stytch_loc_conf_t *slcf)
{
    u_char                      *p;
    size_t                       len;
    ngx_str_t                   *scope;
    ngx_uint_t                   i, j;
    ngx_array_t                  scopes;
    ngx_http_complex_value_t    *cv;
    ngx_http_stytch_location_t  *loc;
    ngx_http_stytch_loc_conf_t  *other;

    if (ngx_array_init(&scopes, cf->pool, 8, sizeof(ngx_str_t)) != NGX_OK) {
        return NGX_ERROR;
    }

    loc = smcf->locations.elts;

    for (i = 0; i < smcf->locations.nelts; i++) {
        other = loc[i].core->loc_conf[ngx_http_stytch_module.ctx_index];

        if (other->auth == NGX_HTTP_STYTCH_AUTH_OFF
            || other->scopes == NULL
            || other->resource.len != slcf->resource.len
            || ngx_strncmp(other->resource.data, slcf->resource.data,
                           slcf->resource.len)
               != 0)
        {
            continue;
        }

        /* a scope that a variable gives is known per request only */

        cv = other->scopes->elts;

        for (j = 0; j < other->scopes->nelts; j++) {
            if (cv[j].lengths == NULL
                && ngx_http_stytch_metadata_add_scopes(&scopes, &cv[j].value)
                   != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    len = sizeof("{\"resource\":\"\",\"authorization_servers\":[\"\"],"
                 "\"scopes_supported\":[],"
                 "\"bearer_methods_supported\":[\"header\"]}") - 1
          + slcf->resource.len + slcf->authorization_server.len;

    scope = scopes.elts;

    for (i = 0; i < scopes.nelts; i++) {
        len += scope[i].len + sizeof("\"\",") - 1;
    }

    p = ngx_pnalloc(cf->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    slcf->metadata.data = p;

    p = ngx_sprintf(p, "{\"resource\":\"%V\",\"authorization_servers\":"
                    "[\"%V\"]", &slcf->resource, &slcf->authorization_server);

    if (scopes.nelts) {
        p = ngx_cpymem(p, ",\"scopes_supported\":[",
                       sizeof(",\"scopes_supported\":[") - 1);

        for (i = 0; i < scopes.nelts; i++) {
            p = ngx_sprintf(p, "%s\"%V\"", i ? "," : "", &scope[i]);
        }

        *p++ = ']';
    }

    p = ngx_cpymem(p, ",\"bearer_methods_supported\":[\"header\"]}",
                   sizeof(",\"bearer_methods_supported\":[\"header\"]}") - 1);

    slcf->metadata.len = p - slcf->metadata.data;

    return NGX_OK;
}


/* Each scope of a value, once, made of RFC 6750's scope characters only */

static ngx_int_t
ngx_http_stytch_metadata_add_scopes(ngx_array_t *scopes, ngx_str_t *value)
{
    u_char      *p, *start, *last;
    ngx_str_t   *scope;
    ngx_uint_t   i, valid;

    start = value->data;
    last = start + value->len;

    while (start < last) {
        while (start < last && *start == ' ') {
            start++;
        }

        valid = 1;

        for (p = start; p < last && *p != ' '; p++) {
            if (*p < 0x21 || *p > 0x7e || *p == '"' || *p == '\\') {
                valid = 0;
            }
        }

        if (p == start) {
            break;
        }

        scope = scopes->elts;

        for (i = 0; i < scopes->nelts; i++) {
            if (scope[i].len == (size_t) (p - start)
                && ngx_strncmp(scope[i].data, start, p - start) == 0)
            {
                valid = 0;
            }
        }

        if (valid) {
            scope = ngx_array_push(scopes);
            if (scope == NULL) {
                return NGX_ERROR;
            }

            scope->data = start;
            scope->len = p - start;
        }

        start = p;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_stytch_metadata_handler(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_buf_t                   *b;
    ngx_chain_t                  out;
    ngx_http_stytch_loc_conf_t  *slcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_stytch_module);

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = slcf->metadata.len;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    if (r->method == NGX_HTTP_HEAD) {
        return ngx_http_send_header(r);
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = slcf->metadata.data;
    b->last = slcf->metadata.data + slcf->metadata.len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, &out);
}
