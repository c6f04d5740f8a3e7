
/*
 * Copyright (C) 2026 The ngx_http_stytch_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * ngx_http_stytch_module: "stytch_status", the zone's use and counters,
 * as JSON or in Prometheus' text exposition format (?format=prometheus, or
 * a scraper's Accept: text/plain or application/openmetrics-text).
 */


#include "ngx_http_stytch.h"


#define NGX_HTTP_STYTCH_PROJECT_TEXT  8192


typedef struct {
    size_t                      size;
    size_t                      free;
    ngx_atomic_uint_t           cache_entries;
    ngx_atomic_uint_t           cache_evictions;
} ngx_http_stytch_zone_use_t;


typedef struct {
    const char                 *name;        /* JSON; Prometheus adds _total */
    const char                 *help;
    size_t                      offset;      /* in the shm project */
} ngx_http_stytch_counter_t;


#define ngx_http_stytch_counter(name, help)                                   \
    { #name, help, offsetof(ngx_http_stytch_shm_project_t, name) }

static ngx_http_stytch_counter_t  ngx_http_stytch_counters[] = {
    ngx_http_stytch_counter(fetches,
        "Key set and policy fetches made"),
    ngx_http_stytch_counter(fetch_failures,
        "Key set and policy fetches that failed"),
    ngx_http_stytch_counter(local_accepts,
        "JWTs accepted locally"),
    ngx_http_stytch_counter(local_rejects,
        "JWTs not accepted locally (refused, or sent on to the API)"),
    { "jwt_cache_hits", "JWTs found in a worker's verified-token cache",
      offsetof(ngx_http_stytch_shm_project_t, cache_hits) },
    ngx_http_stytch_counter(rsa_verifications,
        "RS256 signature checks made (tokens not in a worker's cache)"),
    ngx_http_stytch_counter(api_calls,
        "Calls to the Stytch API"),
    ngx_http_stytch_counter(api_ok,
        "API calls that accepted the session"),
    ngx_http_stytch_counter(api_rejected,
        "API calls that refused the token (401)"),
    ngx_http_stytch_counter(api_forbidden,
        "API calls that denied an authorization check (403)"),
    ngx_http_stytch_counter(api_failed,
        "API calls that failed (503 or 500)"),
    ngx_http_stytch_counter(api_cache_hits,
        "Answers taken from the API-result cache"),
    ngx_http_stytch_counter(api_joins,
        "Requests that waited for another request's API call"),
    ngx_http_stytch_counter(api_limited,
        "Requests refused by stytch_api_rate"),
    ngx_http_stytch_counter(reported,
        "Requests that stytch_auth report would have refused"),
    { NULL, NULL, 0 }
};


static ngx_int_t ngx_http_stytch_status_handler(ngx_http_request_t *r);
static ngx_uint_t ngx_http_stytch_prometheus_wanted(ngx_http_request_t *r);
static u_char *ngx_http_stytch_json(u_char *p,
    ngx_http_stytch_zone_use_t *zone, ngx_http_stytch_project_t *project,
    ngx_http_stytch_shm_project_t *copies, ngx_uint_t n);
static u_char *ngx_http_stytch_prometheus(u_char *p,
    ngx_http_stytch_zone_use_t *zone, ngx_http_stytch_project_t *project,
    ngx_http_stytch_shm_project_t *copies, ngx_uint_t n);
static const char *ngx_http_stytch_credentials(
    ngx_http_stytch_shm_project_t *sp);


char *
ngx_http_stytch_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_stytch_status_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_stytch_status_handler(ngx_http_request_t *r)
{
    size_t                          len;
    ngx_int_t                       rc;
    ngx_buf_t                      *b;
    ngx_uint_t                      i, prometheus;
    ngx_chain_t                     out;
    ngx_slab_pool_t                *shpool;
    ngx_http_stytch_shm_t          *sh;
    ngx_http_stytch_zone_use_t      zone;
    ngx_http_stytch_project_t      *project;
    ngx_http_stytch_main_conf_t    *smcf;
    ngx_http_stytch_shm_project_t  *copies;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    smcf = ngx_http_get_module_main_conf(r, ngx_http_stytch_module);
    project = smcf->projects.elts;
    prometheus = ngx_http_stytch_prometheus_wanted(r);

    copies = ngx_pcalloc(r->pool, (smcf->projects.nelts + 1)
                                  * sizeof(ngx_http_stytch_shm_project_t));
    if (copies == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memzero(&zone, sizeof(ngx_http_stytch_zone_use_t));

    /* a snapshot, so that the answer is written without the lock */

    if (smcf->shm_zone) {
        shpool = (ngx_slab_pool_t *) smcf->shm_zone->shm.addr;
        sh = shpool->data;

        ngx_shmtx_lock(&shpool->mutex);

        zone.size = smcf->shm_zone->shm.size;
        zone.free = shpool->pfree * ngx_pagesize;
        zone.cache_entries = sh->cache_entries;
        zone.cache_evictions = sh->cache_evictions;

        for (i = 0; i < smcf->projects.nelts; i++) {
            copies[i] = *project[i].shm;
        }

        ngx_shmtx_unlock(&shpool->mutex);
    }

    len = 1024 + smcf->projects.nelts * NGX_HTTP_STYTCH_PROJECT_TEXT;

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (prometheus) {
        b->last = ngx_http_stytch_prometheus(b->last, &zone, project, copies,
                                             smcf->projects.nelts);
        ngx_str_set(&r->headers_out.content_type,
                    "text/plain; version=0.0.4; charset=utf-8");

    } else {
        b->last = ngx_http_stytch_json(b->last, &zone, project, copies,
                                       smcf->projects.nelts);
        ngx_str_set(&r->headers_out.content_type, "application/json");
    }

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static ngx_uint_t
ngx_http_stytch_prometheus_wanted(ngx_http_request_t *r)
{
    ngx_str_t         format;
    ngx_table_elt_t  *accept;

    if (ngx_http_arg(r, (u_char *) "format", sizeof("format") - 1, &format)
        == NGX_OK)
    {
        return format.len == sizeof("prometheus") - 1
               && ngx_strncmp(format.data, "prometheus", format.len) == 0;
    }

#if (nginx_version >= 1023000)
    accept = r->headers_in.accept;
#elif (NGX_HTTP_HEADERS)
    accept = r->headers_in.accept;
#else
    accept = NULL;
#endif

    if (accept == NULL) {
        return 0;
    }

    /* what Prometheus sends; a browser asks for text/html first */
    return (ngx_strlcasestrn(accept->value.data,
                             accept->value.data + accept->value.len,
                             (u_char *) "application/openmetrics-text",
                             sizeof("application/openmetrics-text") - 2)
            != NULL)
           || (accept->value.len >= sizeof("text/plain") - 1
               && ngx_strncasecmp(accept->value.data, (u_char *) "text/plain",
                                  sizeof("text/plain") - 1)
                  == 0);
}


static u_char *
ngx_http_stytch_json(u_char *p, ngx_http_stytch_zone_use_t *zone,
    ngx_http_stytch_project_t *project, ngx_http_stytch_shm_project_t *copies,
    ngx_uint_t n)
{
    ngx_uint_t                      i, c;
    ngx_http_stytch_shm_project_t  *sp;

    p = ngx_sprintf(p, "{\"zone\":{\"size\":%uz,\"free\":%uz,"
                    "\"cache_entries\":%uA,\"cache_evictions\":%uA},"
                    "\"projects\":[",
                    zone->size, zone->free, zone->cache_entries,
                    zone->cache_evictions);

    for (i = 0; i < n; i++) {
        sp = &copies[i];

        p = ngx_sprintf(p, "%s{\"project_id\":\"%V\",\"keys_generation\":%uA,"
                        "\"keys_fetched_at\":%T,\"policy_generation\":%uA",
                        i ? "," : "", &project[i].project_id,
                        sp->docs[NGX_HTTP_STYTCH_DOC_JWKS].generation,
                        sp->docs[NGX_HTTP_STYTCH_DOC_JWKS].fetched,
                        sp->docs[NGX_HTTP_STYTCH_DOC_POLICY].generation);

        for (c = 0; ngx_http_stytch_counters[c].name; c++) {
            p = ngx_sprintf(p, ",\"%s\":%uA", ngx_http_stytch_counters[c].name,
                            *(ngx_atomic_t *) ((u_char *) sp
                                        + ngx_http_stytch_counters[c].offset));
        }

        p = ngx_sprintf(p, ",\"credentials\":\"%s\"",
                        ngx_http_stytch_credentials(sp));

        switch (sp->credentials) {
        case NGX_HTTP_STYTCH_B2B_ON_CONSUMER:
            p = ngx_sprintf(p, ",\"credentials_error\":\"invalid_b2b_endpoint"
                            ": a consumer project with stytch_b2b on\"");
            break;
        case NGX_HTTP_STYTCH_B2B_OFF_B2B:
            p = ngx_sprintf(p, ",\"credentials_error\":\""
                            "invalid_consumer_endpoint: a B2B project with "
                            "stytch_b2b off\"");
            break;
        }

        *p++ = '}';
    }

    return ngx_cpymem(p, "]}\n", 3);
}


static u_char *
ngx_http_stytch_prometheus(u_char *p, ngx_http_stytch_zone_use_t *zone,
    ngx_http_stytch_project_t *project, ngx_http_stytch_shm_project_t *copies,
    ngx_uint_t n)
{
    time_t                          now, fetched;
    ngx_uint_t                      i, c, b;
    ngx_atomic_uint_t               cumulative;
    ngx_http_stytch_shm_project_t  *sp;

    now = ngx_time();

    p = ngx_sprintf(p,
            "# HELP stytch_zone_size_bytes Size of the shared memory zone\n"
            "# TYPE stytch_zone_size_bytes gauge\n"
            "stytch_zone_size_bytes %uz\n"
            "# HELP stytch_zone_free_bytes Free pages of the zone\n"
            "# TYPE stytch_zone_free_bytes gauge\n"
            "stytch_zone_free_bytes %uz\n"
            "# HELP stytch_api_cache_entries Answers in the API-result "
            "cache\n"
            "# TYPE stytch_api_cache_entries gauge\n"
            "stytch_api_cache_entries %uA\n"
            "# HELP stytch_api_cache_evictions_total Cached answers "
            "evicted for room\n"
            "# TYPE stytch_api_cache_evictions_total counter\n"
            "stytch_api_cache_evictions_total %uA\n",
            zone->size, zone->free, zone->cache_entries,
            zone->cache_evictions);

    for (c = 0; ngx_http_stytch_counters[c].name; c++) {
        p = ngx_sprintf(p, "# HELP stytch_%s_total %s\n"
                        "# TYPE stytch_%s_total counter\n",
                        ngx_http_stytch_counters[c].name,
                        ngx_http_stytch_counters[c].help,
                        ngx_http_stytch_counters[c].name);

        for (i = 0; i < n; i++) {
            p = ngx_sprintf(p, "stytch_%s_total{project=\"%V\"} %uA\n",
                            ngx_http_stytch_counters[c].name,
                            &project[i].project_id,
                            *(ngx_atomic_t *) ((u_char *) &copies[i]
                                        + ngx_http_stytch_counters[c].offset));
        }
    }

    p = ngx_sprintf(p,
            "# HELP stytch_keys_generation Key sets published\n"
            "# TYPE stytch_keys_generation gauge\n");

    for (i = 0; i < n; i++) {
        p = ngx_sprintf(p, "stytch_keys_generation{project=\"%V\"} %uA\n",
                        &project[i].project_id,
                        copies[i].docs[NGX_HTTP_STYTCH_DOC_JWKS].generation);
    }

    p = ngx_sprintf(p,
            "# HELP stytch_keys_age_seconds Time since the last good key "
            "fetch (-1: none yet)\n"
            "# TYPE stytch_keys_age_seconds gauge\n");

    for (i = 0; i < n; i++) {
        fetched = copies[i].docs[NGX_HTTP_STYTCH_DOC_JWKS].fetched;

        p = ngx_sprintf(p, "stytch_keys_age_seconds{project=\"%V\"} %T\n",
                        &project[i].project_id,
                        fetched ? now - fetched : (time_t) -1);
    }

    p = ngx_sprintf(p,
            "# HELP stytch_credentials What Stytch said of the project's "
            "credentials\n"
            "# TYPE stytch_credentials gauge\n");

    for (i = 0; i < n; i++) {
        p = ngx_sprintf(p, "stytch_credentials{project=\"%V\",state=\"%s\"} "
                        "1\n", &project[i].project_id,
                        ngx_http_stytch_credentials(&copies[i]));
    }

    p = ngx_sprintf(p,
            "# HELP stytch_api_duration_seconds Duration of the API calls\n"
            "# TYPE stytch_api_duration_seconds histogram\n");

    for (i = 0; i < n; i++) {
        sp = &copies[i];
        cumulative = 0;

        for (b = 0; b < NGX_HTTP_STYTCH_LATENCY_BUCKETS; b++) {
            cumulative += sp->api_latency[b];

            if (b < NGX_HTTP_STYTCH_LATENCY_BUCKETS - 1) {
                p = ngx_sprintf(p, "stytch_api_duration_seconds_bucket"
                                "{project=\"%V\",le=\"%M.%03M\"} %uA\n",
                                &project[i].project_id,
                                ngx_http_stytch_latency_bounds[b] / 1000,
                                ngx_http_stytch_latency_bounds[b] % 1000,
                                cumulative);

            } else {
                p = ngx_sprintf(p, "stytch_api_duration_seconds_bucket"
                                "{project=\"%V\",le=\"+Inf\"} %uA\n",
                                &project[i].project_id, cumulative);
            }
        }

        p = ngx_sprintf(p, "stytch_api_duration_seconds_sum{project=\"%V\"} "
                        "%uA.%03uA\n"
                        "stytch_api_duration_seconds_count{project=\"%V\"} "
                        "%uA\n",
                        &project[i].project_id, sp->api_latency_ms / 1000,
                        sp->api_latency_ms % 1000, &project[i].project_id,
                        cumulative);
    }

    return p;
}


static const char *
ngx_http_stytch_credentials(ngx_http_stytch_shm_project_t *sp)
{
    switch (sp->credentials) {
    case NGX_HTTP_STYTCH_ACCEPTED:
        return "accepted";
    case NGX_HTTP_STYTCH_REFUSED:
    case NGX_HTTP_STYTCH_B2B_ON_CONSUMER:
    case NGX_HTTP_STYTCH_B2B_OFF_B2B:
        return "refused";
    default:
        return "unknown";
    }
}
