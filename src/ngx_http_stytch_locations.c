
/*
 * Copyright (C) 2026 The ngx_http_stytch_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * ngx_http_stytch_module: the locations that the module's subrequests
 * reach, checked at start.
 *
 * The API location (stytch_api_location) must exist in each server that
 * asks Stytch, be internal and proxy; an auth_request's location is not
 * protected by its own stytch_auth, which nginx says at start.  The
 * location that a URI falls into is found as a request would find it
 * (exact, longest prefix and nested locations, then regular expressions
 * in order), from the locations as NGINX hands each of them to the
 * module's merge, without reading NGINX's internal location tree, which
 * differs between NGINX and its forks.
 *
 * Two mistakes are seen in other modules' configurations, read through
 * the one part of them that is public: an API location that proxies to
 * an IP address over https, which proxy_ssl_verify checks as a host name
 * (ngx_http_proxy_module's configuration starts with its
 * ngx_http_upstream_conf_t), and a protected location whose "return"
 * answers before the access phase (ngx_http_rewrite_module's starts with
 * its codes).  Both modules are found by name, as a build may lack them.
 */


#include "ngx_http_stytch.h"


static ngx_str_t  ngx_http_stytch_default_api_url =
    ngx_string("https://api.stytch.com");


static ngx_int_t ngx_http_stytch_locations_check_api(ngx_conf_t *cf,
    ngx_http_stytch_main_conf_t *smcf, ngx_http_stytch_use_t *use);
static ngx_int_t ngx_http_stytch_locations_check_ssl_name(ngx_conf_t *cf,
    ngx_http_stytch_use_t *use, ngx_http_core_loc_conf_t *clcf);
static ngx_int_t ngx_http_stytch_locations_check_return(ngx_conf_t *cf,
    ngx_http_stytch_main_conf_t *smcf);
static ngx_int_t ngx_http_stytch_locations_module_index(ngx_conf_t *cf,
    char *name);
static ngx_int_t ngx_http_stytch_locations_check_auth_request(
    ngx_conf_t *cf, ngx_http_stytch_main_conf_t *smcf,
    ngx_http_stytch_use_t *use);
static ngx_http_core_loc_conf_t *ngx_http_stytch_locations_find(
    ngx_conf_t *cf, ngx_http_stytch_main_conf_t *smcf,
    ngx_http_core_srv_conf_t *server, ngx_str_t *uri);
static ngx_int_t ngx_http_stytch_locations_find_in(
    ngx_http_stytch_main_conf_t *smcf, ngx_http_core_srv_conf_t *server,
    ngx_http_core_loc_conf_t *parent, ngx_str_t *uri,
    ngx_http_core_loc_conf_t **found);


/*
 * Called by the module's merge for each server and location, parents
 * before their nested locations: it records where the location stands.
 */

ngx_int_t
ngx_http_stytch_locations_add(ngx_conf_t *cf,
    ngx_http_stytch_loc_conf_t *prev, ngx_http_stytch_loc_conf_t *conf)
{
    ngx_http_stytch_location_t   *loc;
    ngx_http_stytch_main_conf_t  *smcf;

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_stytch_module);

    conf->core = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (prev->core == NULL || conf->core->noname || conf->core->named) {
        /* a server, an "if" or "limit_except" block, a named location */
        return NGX_OK;
    }

    loc = ngx_array_push(&smcf->locations);
    if (loc == NULL) {
        return NGX_ERROR;
    }

    loc->server = ngx_http_conf_get_module_srv_conf(cf, ngx_http_core_module);
    loc->core = conf->core;
    loc->parent = prev->core;

    /* called before the merge: the location's own stytch_auth */
    loc->auth = conf->auth != NGX_CONF_UNSET_UINT
                && conf->auth != NGX_HTTP_STYTCH_AUTH_OFF;

    return NGX_OK;
}


/*
 * A URI that the merged location's server will make subrequests to: its
 * API location, or the URI of its auth_request.  Those are found once
 * every location is known, at postconfiguration.
 */

ngx_int_t
ngx_http_stytch_locations_use(ngx_conf_t *cf, ngx_array_t *uses,
    ngx_str_t *uri, ngx_str_t *api_url)
{
    ngx_uint_t                  i;
    ngx_http_core_srv_conf_t   *cscf;
    ngx_http_stytch_use_t      *use;

    cscf = ngx_http_conf_get_module_srv_conf(cf, ngx_http_core_module);

    use = uses->elts;

    for (i = 0; i < uses->nelts; i++) {
        if (use[i].server == cscf
            && use[i].uri.len == uri->len
            && ngx_strncmp(use[i].uri.data, uri->data, uri->len) == 0)
        {
            return NGX_OK;
        }
    }

    use = ngx_array_push(uses);
    if (use == NULL) {
        return NGX_ERROR;
    }

    use->server = cscf;
    use->uri = *uri;

    if (api_url) {
        use->api_url = *api_url;

    } else {
        ngx_str_null(&use->api_url);
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_stytch_locations_check(ngx_conf_t *cf,
    ngx_http_stytch_main_conf_t *smcf)
{
    ngx_uint_t              i;
    ngx_http_stytch_use_t  *use;

    use = smcf->api_uses.elts;

    for (i = 0; i < smcf->api_uses.nelts; i++) {
        if (ngx_http_stytch_locations_check_api(cf, smcf, &use[i]) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (ngx_http_stytch_locations_check_return(cf, smcf) != NGX_OK) {
        return NGX_ERROR;
    }

    use = smcf->auth_requests.elts;

    for (i = 0; i < smcf->auth_requests.nelts; i++) {
        if (ngx_http_stytch_locations_check_auth_request(cf, smcf, &use[i])
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * Each server's API location must exist, be internal and proxy.  It is
 * the module's alone: its error_page (inherited, with
 * proxy_intercept_errors, from the server or http level) would replace
 * Stytch's own answer, which the module must read, so it is dropped.
 */

static ngx_int_t
ngx_http_stytch_locations_check_api(ngx_conf_t *cf,
    ngx_http_stytch_main_conf_t *smcf, ngx_http_stytch_use_t *use)
{
    u_char                    *p;
    ngx_str_t                  uri;
    ngx_http_core_loc_conf_t  *clcf;

    uri.len = use->uri.len + sizeof("/v1/sessions/authenticate") - 1;
    uri.data = ngx_pnalloc(cf->pool, uri.len);
    if (uri.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(uri.data, use->uri.data, use->uri.len);
    ngx_memcpy(p, "/v1/sessions/authenticate",
               sizeof("/v1/sessions/authenticate") - 1);

    clcf = ngx_http_stytch_locations_find(cf, smcf, use->server, &uri);

    if (clcf == NGX_CONF_ERROR) {
        return NGX_ERROR;
    }

    if (clcf == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"stytch_api_location\" \"%V\" matches no "
                      "location in server \"%V\": declare an internal "
                      "location with \"proxy_pass\" to the Stytch API",
                      &use->uri, &use->server->server_name);
        return NGX_ERROR;
    }

    if (!clcf->internal
        && clcf->name.len == 1 && clcf->name.data[0] == '/'
        && !clcf->exact_match
#if (NGX_PCRE)
        && clcf->regex == NULL
#endif
       )
    {
        /* the catch-all: the API location was never declared */
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"stytch_api_location\" \"%V\": server \"%V\" has "
                      "no location for it, so its calls fall into "
                      "\"location /\"; add \"location %V/ { internal; "
                      "proxy_pass %V/; }\"", &use->uri,
                      &use->server->server_name, &use->uri,
                      use->api_url.len ? &use->api_url
                                       : &ngx_http_stytch_default_api_url);
        return NGX_ERROR;
    }

    if (!clcf->internal) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"stytch_api_location\" \"%V\" matches the "
                      "location \"%V\" in server \"%V\", which is not "
                      "\"internal\"", &use->uri, &clcf->name,
                      &use->server->server_name);
        return NGX_ERROR;
    }

    if (clcf->handler == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"stytch_api_location\" \"%V\" matches the "
                      "location \"%V\" in server \"%V\", which has no "
                      "\"proxy_pass\" to the Stytch API",
                      &use->uri, &clcf->name, &use->server->server_name);
        return NGX_ERROR;
    }

    if (ngx_http_stytch_locations_check_ssl_name(cf, use, clcf) != NGX_OK) {
        return NGX_ERROR;
    }

    clcf->error_pages = NULL;

    return NGX_OK;
}


/*
 * proxy_ssl_verify checks the certificate against proxy_ssl_name, which
 * is the host of proxy_pass: an IP address there is matched as a host
 * name (X509_check_host), which no certificate has, while libcurl's
 * start-up calls to an address in stytch_api_url match the address and
 * pass.  The API location that proxies to an address over https with
 * verification on and no proxy_ssl_name fails every call.
 */

static ngx_int_t
ngx_http_stytch_locations_check_ssl_name(ngx_conf_t *cf,
    ngx_http_stytch_use_t *use, ngx_http_core_loc_conf_t *clcf)
{
#if (NGX_HTTP_SSL)
    u_char                        *host;
    ngx_int_t                      index;
    ngx_http_upstream_conf_t      *ucf;
    ngx_http_upstream_srv_conf_t  *uscf;

    /*
     * The scheme of proxy_pass is the proxy module's own (and ucf->ssl is
     * set for http too by a proxy_ssl_* directive in newer versions): the
     * API location mirrors stytch_api_url, so an https one is taken for
     * https there.
     */
    if (use->api_url.len <= sizeof("https://") - 1
        || ngx_strncasecmp(use->api_url.data, (u_char *) "https://",
                           sizeof("https://") - 1) != 0)
    {
        return NGX_OK;
    }

    index = ngx_http_stytch_locations_module_index(cf,
                                                   "ngx_http_proxy_module");
    if (index < 0) {
        return NGX_OK;
    }

    /* ngx_http_proxy_loc_conf_t starts with its ngx_http_upstream_conf_t */
    ucf = clcf->loc_conf[index];
    uscf = ucf->upstream;

    if (uscf == NULL || ucf->ssl == NULL || !ucf->ssl_verify
        || ucf->ssl_name != NULL || uscf->host.len == 0)
    {
        return NGX_OK;
    }

    host = uscf->host.data;

    if (ngx_inet_addr(host, uscf->host.len) == INADDR_NONE
#if (NGX_HAVE_INET6)
        && host[0] != '['
#endif
       )
    {
        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                  "\"stytch_api_location\" \"%V\" in server \"%V\" "
                  "proxies to the address \"%V\" over https with "
                  "\"proxy_ssl_verify on\": the certificate is checked "
                  "against that address as a host name and never "
                  "matches; set \"proxy_ssl_name\" in location \"%V\" to "
                  "the name in the API's certificate (and "
                  "\"proxy_ssl_trusted_certificate\" to its CA)",
                  &use->uri, &use->server->server_name, &uscf->host,
                  &clcf->name);

    return NGX_ERROR;
#else
    return NGX_OK;
#endif
}


/*
 * "return" (and the rewrite module's other directives in a location) run
 * in the rewrite phase; a "return" there answers before the access phase
 * and stytch_auth never runs.  Only a location that sets stytch_auth
 * itself is warned about: one that inherits it and answers with "return"
 * (a health check, a redirect) means to.
 */

static ngx_int_t
ngx_http_stytch_locations_check_return(ngx_conf_t *cf,
    ngx_http_stytch_main_conf_t *smcf)
{
    u_char                      *p, *last;
    uintptr_t                   *code, next;
    ngx_int_t                    index;
    ngx_uint_t                   i;
    ngx_array_t                **codes;
    ngx_http_stytch_location_t  *loc;

    index = ngx_http_stytch_locations_module_index(cf,
                                                   "ngx_http_rewrite_module");
    if (index < 0) {
        return NGX_OK;
    }

    loc = smcf->locations.elts;

    for (i = 0; i < smcf->locations.nelts; i++) {

        if (!loc[i].auth) {
            continue;
        }

        /*
         * ngx_http_rewrite_loc_conf_t starts with its codes: an array of
         * bytes holding the location's own script, word-aligned codes
         * that each start with their function; the codes of an "if"
         * block follow its ngx_http_script_if_code_t, whose "next" skips
         * them, as it does when the condition is false
         */

        codes = loc[i].core->loc_conf[index];

        if (*codes == NULL) {
            continue;
        }

        p = (*codes)->elts;
        last = p + (*codes)->nelts;

        while (p + sizeof(uintptr_t) <= last) {
            code = (uintptr_t *) p;

            if (*code == (uintptr_t) ngx_http_script_if_code) {
                /* an "if" block's codes follow it, to be skipped */
                next = ((ngx_http_script_if_code_t *) p)->next;

                if (next < sizeof(ngx_http_script_if_code_t)
                    || next > (uintptr_t) (last - p))
                {
                    break;
                }

                p += next;
                continue;
            }

            p += sizeof(uintptr_t);

            if (*code == (uintptr_t) ngx_http_script_return_code) {
                ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                              "\"return\" in location \"%V\" of server "
                              "\"%V\" answers before the access phase: "
                              "its \"stytch_auth\" check never runs",
                              &loc[i].core->name,
                              &loc[i].server->server_name);
                break;
            }
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_stytch_locations_module_index(ngx_conf_t *cf, char *name)
{
    ngx_uint_t  i;

    for (i = 0; cf->cycle->modules[i]; i++) {
        if (cf->cycle->modules[i]->type == NGX_HTTP_MODULE
            && ngx_strcmp(cf->cycle->modules[i]->name, name) == 0)
        {
            return cf->cycle->modules[i]->ctx_index;
        }
    }

    return -1;
}


/*
 * The access phase does not run for subrequests: a location that an
 * auth_request reaches is not protected by its own stytch_auth.
 */

static ngx_int_t
ngx_http_stytch_locations_check_auth_request(ngx_conf_t *cf,
    ngx_http_stytch_main_conf_t *smcf, ngx_http_stytch_use_t *use)
{
    ngx_http_core_loc_conf_t    *clcf;
    ngx_http_stytch_loc_conf_t  *slcf;

    clcf = ngx_http_stytch_locations_find(cf, smcf, use->server, &use->uri);

    if (clcf == NGX_CONF_ERROR) {
        return NGX_ERROR;
    }

    if (clcf == NULL) {
        /* no location: the server's own configuration */
        clcf = use->server->ctx->loc_conf[ngx_http_core_module.ctx_index];
    }

    slcf = clcf->loc_conf[ngx_http_stytch_module.ctx_index];

    if (slcf->auth != NGX_HTTP_STYTCH_AUTH_OFF) {
        ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                      "\"stytch_auth\" of location \"%V\" in server "
                      "\"%V\" does not protect it from the "
                      "\"auth_request\" subrequest to \"%V\": the "
                      "access phase does not run for subrequests",
                      &clcf->name, &use->server->server_name, &use->uri);
    }

    return NGX_OK;
}


/*
 * The location of server that a request for uri would be given, as
 * ngx_http_core_find_location() finds it; NULL when none matches,
 * NGX_CONF_ERROR when a regular expression fails.
 */

static ngx_http_core_loc_conf_t *
ngx_http_stytch_locations_find(ngx_conf_t *cf,
    ngx_http_stytch_main_conf_t *smcf, ngx_http_core_srv_conf_t *server,
    ngx_str_t *uri)
{
    ngx_int_t                  rc;
    ngx_http_core_loc_conf_t  *found;

    found = NULL;

    rc = ngx_http_stytch_locations_find_in(smcf, server,
                      server->ctx->loc_conf[ngx_http_core_module.ctx_index],
                      uri, &found);

    if (rc == NGX_ERROR) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "a regular expression location failed on \"%V\"",
                      uri);
        return NGX_CONF_ERROR;
    }

    return found;
}


/*
 * Among the locations nested in parent: an exact match ends the search
 * (NGX_OK); the longest prefix is searched further into (NGX_AGAIN when
 * it is the answer), and unless it is "^~" the regular expressions are
 * tried then, in the order of the configuration (NGX_OK).  NGX_DECLINED:
 * nothing matches.
 */

static ngx_int_t
ngx_http_stytch_locations_find_in(ngx_http_stytch_main_conf_t *smcf,
    ngx_http_core_srv_conf_t *server, ngx_http_core_loc_conf_t *parent,
    ngx_str_t *uri, ngx_http_core_loc_conf_t **found)
{
    ngx_int_t                    rc;
    ngx_uint_t                   i, noregex;
    ngx_http_core_loc_conf_t    *clcf, *prefix;
    ngx_http_stytch_location_t  *loc;

    loc = smcf->locations.elts;
    prefix = NULL;

    for (i = 0; i < smcf->locations.nelts; i++) {

        clcf = loc[i].core;

        if (loc[i].server != server || loc[i].parent != parent) {
            continue;
        }

#if (NGX_PCRE)
        if (clcf->regex) {
            continue;
        }
#endif

        if (clcf->exact_match) {
            if (clcf->name.len == uri->len
                && ngx_filename_cmp(clcf->name.data, uri->data, uri->len)
                   == 0)
            {
                *found = clcf;
                return NGX_OK;
            }

            continue;
        }

        if (clcf->name.len <= uri->len
            && (prefix == NULL || clcf->name.len > prefix->name.len)
            && ngx_filename_cmp(clcf->name.data, uri->data, clcf->name.len)
               == 0)
        {
            prefix = clcf;
        }
    }

    noregex = 0;

    if (prefix) {
        *found = prefix;
        noregex = prefix->noregex;

        rc = ngx_http_stytch_locations_find_in(smcf, server, prefix, uri,
                                               found);

        if (rc == NGX_OK || rc == NGX_ERROR) {
            return rc;
        }
    }

#if (NGX_PCRE)

    if (!noregex) {

        for (i = 0; i < smcf->locations.nelts; i++) {

            clcf = loc[i].core;

            if (clcf->regex == NULL
                || loc[i].server != server || loc[i].parent != parent)
            {
                continue;
            }

            rc = ngx_regex_exec(clcf->regex->regex, uri, NULL, 0);

            if (rc == NGX_REGEX_NO_MATCHED) {
                continue;
            }

            if (rc < 0) {
                return NGX_ERROR;
            }

            *found = clcf;

            /* its nested locations */
            rc = ngx_http_stytch_locations_find_in(smcf, server, clcf, uri,
                                                   found);

            return (rc == NGX_ERROR) ? NGX_ERROR : NGX_OK;
        }
    }

#else
    (void) noregex;
#endif

    return prefix ? NGX_AGAIN : NGX_DECLINED;
}
