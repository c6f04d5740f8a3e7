
/*
 * ngx_http_stytch_module: "stytch_status", the zone's counters as JSON.
 */


#include "ngx_http_stytch_module.h"


static ngx_int_t ngx_http_stytch_status_handler(ngx_http_request_t *r);


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
    ngx_uint_t                      i;
    ngx_chain_t                     out;
    ngx_slab_pool_t                *shpool;
    ngx_http_stytch_shm_t          *sh;
    ngx_http_stytch_project_t      *project;
    ngx_http_stytch_main_conf_t    *smcf;
    ngx_http_stytch_shm_project_t  *sp;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    smcf = ngx_http_get_module_main_conf(r, ngx_http_stytch_module);

    project = smcf->projects.elts;

    len = sizeof("{\"zone\":{\"size\":,\"free\":,\"cache_entries\":,"
                 "\"cache_evictions\":},\"projects\":[]}\n") - 1
          + 4 * NGX_ATOMIC_T_LEN;

    for (i = 0; i < smcf->projects.nelts; i++) {
        len += sizeof("{\"project_id\":\"\",\"keys_generation\":,"
                      "\"keys_fetched_at\":,\"policy_generation\":,"
                      "\"fetches\":,"
                      "\"fetch_failures\":,\"local_accepts\":,"
                      "\"local_rejects\":,\"jwt_cache_hits\":,"
                      "\"api_calls\":,\"api_ok\":,\"api_rejected\":,"
                      "\"api_forbidden\":,\"api_failed\":,"
                      "\"api_cache_hits\":,\"api_joins\":,"
                      "\"api_limited\":,\"reported\":,"
                      "\"credentials\":\"accepted\"},") - 1
               + project[i].project_id.len + 18 * NGX_ATOMIC_T_LEN;
    }

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (smcf->shm_zone) {
        shpool = (ngx_slab_pool_t *) smcf->shm_zone->shm.addr;
        sh = shpool->data;

        ngx_shmtx_lock(&shpool->mutex);

        b->last = ngx_sprintf(b->last,
                              "{\"zone\":{\"size\":%uz,\"free\":%uz,"
                              "\"cache_entries\":%uA,"
                              "\"cache_evictions\":%uA},\"projects\":[",
                              smcf->shm_zone->shm.size,
                              shpool->pfree * ngx_pagesize,
                              sh->cache_entries, sh->cache_evictions);

        for (i = 0; i < smcf->projects.nelts; i++) {
            sp = project[i].shm;

            b->last = ngx_sprintf(b->last,
                          "%s{\"project_id\":\"%V\",\"keys_generation\":%uA,"
                          "\"keys_fetched_at\":%T,\"policy_generation\":%uA,"
                          "\"fetches\":%uA,"
                          "\"fetch_failures\":%uA,\"local_accepts\":%uA,"
                          "\"local_rejects\":%uA,\"jwt_cache_hits\":%uA,"
                          "\"api_calls\":%uA,\"api_ok\":%uA,"
                          "\"api_rejected\":%uA,\"api_forbidden\":%uA,"
                          "\"api_failed\":%uA,\"api_cache_hits\":%uA,"
                          "\"api_joins\":%uA,\"api_limited\":%uA,"
                          "\"reported\":%uA,\"credentials\":\"%s\"}",
                          i ? "," : "", &project[i].project_id,
                          sp->docs[NGX_HTTP_STYTCH_DOC_JWKS].generation,
                          sp->docs[NGX_HTTP_STYTCH_DOC_JWKS].fetched,
                          sp->docs[NGX_HTTP_STYTCH_DOC_POLICY].generation,
                          sp->fetches, sp->fetch_failures,
                          sp->local_accepts, sp->local_rejects,
                          sp->cache_hits, sp->api_calls, sp->api_ok,
                          sp->api_rejected, sp->api_forbidden,
                          sp->api_failed, sp->api_cache_hits,
                          sp->api_joins, sp->api_limited, sp->reported,
                          sp->credentials == NGX_HTTP_STYTCH_ACCEPTED
                          ? "accepted"
                          : sp->credentials == NGX_HTTP_STYTCH_REFUSED
                            ? "refused" : "unknown");
        }

        ngx_shmtx_unlock(&shpool->mutex);
    }

    if (smcf->shm_zone == NULL) {
        b->last = ngx_cpymem(b->last, "{\"projects\":[",
                             sizeof("{\"projects\":[") - 1);
    }

    b->last = ngx_cpymem(b->last, "]}\n", 3);
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    ngx_str_set(&r->headers_out.content_type, "application/json");
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
