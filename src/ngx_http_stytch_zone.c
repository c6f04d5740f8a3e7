
/*
 * Copyright (C) 2026 The ngx_http_stytch_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * ngx_http_stytch_module: the shared memory zone.
 *
 * The zone holds, per project, its documents (the JWKS, the RBAC policy,
 * the organizations' policies) as raw bytes with a generation and their
 * refresh state, the counters, and the API-result cache.  It survives
 * "nginx -s reload" (same name and size), so that new workers start with
 * the keys the old ones had.  Documents always win over cached answers for
 * room: cache entries are evicted to make room for a document.
 */


#include "ngx_http_stytch.h"


static ngx_int_t ngx_http_stytch_zone_attach(
    ngx_http_stytch_main_conf_t *smcf, ngx_log_t *log);
static size_t ngx_http_stytch_zone_key(ngx_http_stytch_project_t *project,
    u_char *buf, size_t size);
static ngx_http_stytch_shm_project_t *ngx_http_stytch_zone_slot(
    ngx_http_stytch_shm_t *sh, ngx_slab_pool_t *shpool,
    ngx_http_stytch_main_conf_t *smcf, u_char *key, size_t len);
static ngx_int_t ngx_http_stytch_zone_orgs(ngx_slab_pool_t *shpool,
    ngx_http_stytch_shm_t *sh, ngx_http_stytch_shm_project_t *sp,
    ngx_uint_t norgs);
static void ngx_http_stytch_zone_free_docs(ngx_slab_pool_t *shpool,
    ngx_http_stytch_shm_project_t *sp);


ngx_int_t
ngx_http_stytch_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_stytch_main_conf_t  *osmcf = data;

    size_t                        len;
    ngx_slab_pool_t              *shpool;
    ngx_http_stytch_shm_t        *sh;
    ngx_http_stytch_main_conf_t  *smcf;

    smcf = shm_zone->data;
    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (osmcf || shm_zone->shm.exists) {
        /* a reload: keep the keys and the refresh state */
        sh = shpool->data;

    } else {
        sh = ngx_slab_calloc(shpool, sizeof(ngx_http_stytch_shm_t));
        if (sh == NULL) {
            return NGX_ERROR;
        }

        shpool->data = sh;

        ngx_http_stytch_cache_init(sh);

        len = sizeof(" in stytch zone \"\"") + shm_zone->shm.name.len;

        shpool->log_ctx = ngx_slab_alloc(shpool, len);
        if (shpool->log_ctx == NULL) {
            return NGX_ERROR;
        }

        ngx_sprintf(shpool->log_ctx, " in stytch zone \"%V\"%Z",
                    &shm_zone->shm.name);

        shpool->log_nomem = 0;
    }

    return ngx_http_stytch_zone_attach(smcf, shm_zone->shm.log);
}


/* upper bounds of the API latency histogram's buckets, in milliseconds */
ngx_msec_t  ngx_http_stytch_latency_bounds[NGX_HTTP_STYTCH_LATENCY_BUCKETS - 1]
    = { 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000 };


/*
 * Gives each configured project its slot in the zone, found by its key, so
 * that a reload finds the keys of the projects it still has.
 */

static ngx_int_t
ngx_http_stytch_zone_attach(ngx_http_stytch_main_conf_t *smcf,
    ngx_log_t *log)
{
    size_t                      len;
    u_char                      key[sizeof(((ngx_http_stytch_shm_project_t *)
                                            0)->key)];
    ngx_uint_t                  i;
    ngx_slab_pool_t            *shpool;
    ngx_http_stytch_shm_t      *sh;
    ngx_http_stytch_project_t  *project;

    shpool = (ngx_slab_pool_t *) smcf->shm_zone->shm.addr;
    sh = shpool->data;

    project = smcf->projects.elts;

    ngx_shmtx_lock(&shpool->mutex);

    for (i = 0; i < smcf->projects.nelts; i++) {
        len = ngx_http_stytch_zone_key(&project[i], key, sizeof(key));

        project[i].shm_zone = smcf->shm_zone;
        project[i].shm = ngx_http_stytch_zone_slot(sh, shpool, smcf, key,
                                                   len);
        if (project[i].shm == NULL) {
            ngx_shmtx_unlock(&shpool->mutex);
            ngx_log_error(NGX_LOG_EMERG, log, 0,
                          "stytch zone \"%V\" has no room for project \"%V\"",
                          &smcf->shm_zone->shm.name, &project[i].project_id);
            return NGX_ERROR;
        }

        if (project[i].b2b
            && ngx_http_stytch_zone_orgs(shpool, sh, project[i].shm,
                                         smcf->organizations)
               != NGX_OK)
        {
            ngx_shmtx_unlock(&shpool->mutex);
            ngx_log_error(NGX_LOG_EMERG, log, 0,
                          "stytch zone \"%V\" is too small for %ui "
                          "organizations (\"stytch_organizations\"): make "
                          "it larger in \"stytch_zone\"",
                          &smcf->shm_zone->shm.name, smcf->organizations);
            return NGX_ERROR;
        }
    }

    ngx_shmtx_unlock(&shpool->mutex);

    return NGX_OK;
}


static size_t
ngx_http_stytch_zone_key(ngx_http_stytch_project_t *project, u_char *buf,
    size_t size)
{
    u_char  *p;

    /* the length was checked against the key's size at configuration */
    p = ngx_snprintf(buf, size, "%V %V %s", &project->project_id,
                     &project->api_url, project->b2b ? "b2b" : "consumer");

    return p - buf;
}


static ngx_http_stytch_shm_project_t *
ngx_http_stytch_zone_slot(ngx_http_stytch_shm_t *sh, ngx_slab_pool_t *shpool,
    ngx_http_stytch_main_conf_t *smcf, u_char *key, size_t len)
{
    u_char                         kbuf[sizeof(sh->projects[0].key)];
    size_t                         klen;
    ngx_uint_t                     i, j, used;
    ngx_http_stytch_project_t     *project;
    ngx_http_stytch_shm_project_t *sp;

    for (i = 0; i < sh->nprojects; i++) {
        sp = &sh->projects[i];

        if (sp->key_len == len && ngx_memcmp(sp->key, key, len) == 0) {
            return sp;
        }
    }

    if (sh->nprojects < NGX_HTTP_STYTCH_MAX_PROJECTS) {
        sp = &sh->projects[sh->nprojects++];
        goto found;
    }

    /* reuse the slot of a project that the configuration no longer has */

    project = smcf->projects.elts;

    for (i = 0; i < sh->nprojects; i++) {
        sp = &sh->projects[i];
        used = 0;

        for (j = 0; j < smcf->projects.nelts; j++) {
            klen = ngx_http_stytch_zone_key(&project[j], kbuf, sizeof(kbuf));

            if (sp->key_len == klen && ngx_memcmp(sp->key, kbuf, klen) == 0) {
                used = 1;
                break;
            }
        }

        if (!used) {
            ngx_http_stytch_zone_free_docs(shpool, sp);
            goto found;
        }
    }

    return NULL;

found:

    ngx_memzero(sp, sizeof(ngx_http_stytch_shm_project_t));
    ngx_memcpy(sp->key, key, len);
    sp->key_len = len;

    return sp;
}


/*
 * A B2B project's table of organization policies: kept across a reload
 * that keeps its size, made anew (the policies are fetched again) when
 * stytch_organizations changed.  Cached answers make room for it.
 */

static ngx_int_t
ngx_http_stytch_zone_orgs(ngx_slab_pool_t *shpool, ngx_http_stytch_shm_t *sh,
    ngx_http_stytch_shm_project_t *sp, ngx_uint_t norgs)
{
    size_t                      size;
    ngx_uint_t                  i;
    ngx_http_stytch_shm_doc_t  *orgs;

    if (sp->orgs && sp->norgs == norgs) {
        return NGX_OK;
    }

    if (sp->orgs) {
        for (i = 0; i < sp->norgs; i++) {
            if (sp->orgs[i].data) {
                ngx_slab_free_locked(shpool, sp->orgs[i].data);
            }
        }

        ngx_slab_free_locked(shpool, sp->orgs);
        sp->orgs = NULL;
        sp->norgs = 0;
    }

    size = norgs * sizeof(ngx_http_stytch_shm_doc_t);

    orgs = ngx_slab_calloc_locked(shpool, size);

    while (orgs == NULL && ngx_http_stytch_cache_evict_locked(shpool, sh)) {
        orgs = ngx_slab_calloc_locked(shpool, size);
    }

    if (orgs == NULL) {
        return NGX_ERROR;
    }

    sp->orgs = orgs;
    sp->norgs = norgs;

    return NGX_OK;
}


static void
ngx_http_stytch_zone_free_docs(ngx_slab_pool_t *shpool,
    ngx_http_stytch_shm_project_t *sp)
{
    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_STYTCH_DOC_ORG; i++) {
        if (sp->docs[i].data) {
            ngx_slab_free_locked(shpool, sp->docs[i].data);
        }
    }

    if (sp->orgs == NULL) {
        return;
    }

    for (i = 0; i < sp->norgs; i++) {
        if (sp->orgs[i].data) {
            ngx_slab_free_locked(shpool, sp->orgs[i].data);
        }
    }

    ngx_slab_free_locked(shpool, sp->orgs);
}


/*
 * Replaces a document's bytes and moves its generation on, which tells
 * every worker to parse the new ones.  epoch is the document's when the
 * fetch started; digest is what the document says (stytch_doc_digest:
 * Stytch's answers differ in request_id from fetch to fetch, and a new
 * generation would make every worker parse the keys again and forget the
 * tokens it verified).  NGX_DECLINED: unchanged; NGX_ABORT: the slot went
 * to another organization meanwhile; NGX_ERROR: no room even without the
 * cache.
 */

ngx_int_t
ngx_http_stytch_zone_publish(ngx_shm_zone_t *shm_zone,
    ngx_http_stytch_shm_doc_t *doc, ngx_atomic_uint_t epoch, u_char *data,
    size_t len, u_char *digest)
{
    u_char                 *copy;
    ngx_slab_pool_t        *shpool;
    ngx_http_stytch_shm_t  *sh;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;
    sh = shpool->data;

    ngx_shmtx_lock(&shpool->mutex);

    if (doc->epoch != epoch) {
        ngx_shmtx_unlock(&shpool->mutex);
        return NGX_ABORT;
    }

    if (doc->data
        && ngx_memcmp(doc->digest, digest, STYTCH_DOC_DIGEST_SIZE) == 0)
    {
        /* no worker needs to parse it again */
        ngx_shmtx_unlock(&shpool->mutex);
        return NGX_DECLINED;
    }

    copy = ngx_slab_alloc_locked(shpool, len ? len : 1);

    /* a key rotation is never refused for the sake of cached answers */
    while (copy == NULL && ngx_http_stytch_cache_evict_locked(shpool, sh)) {
        copy = ngx_slab_alloc_locked(shpool, len ? len : 1);
    }

    if (copy == NULL) {
        ngx_shmtx_unlock(&shpool->mutex);
        return NGX_ERROR;
    }

    ngx_memcpy(copy, data, len);

    if (doc->data) {
        ngx_slab_free_locked(shpool, doc->data);
    }

    doc->data = copy;
    doc->len = len;
    ngx_memcpy(doc->digest, digest, STYTCH_DOC_DIGEST_SIZE);
    doc->generation++;

    ngx_shmtx_unlock(&shpool->mutex);

    return NGX_OK;
}


/* This worker's copy of a document's bytes, or NULL when it has none. */

u_char *
ngx_http_stytch_zone_copy(ngx_shm_zone_t *shm_zone,
    ngx_http_stytch_shm_doc_t *doc, size_t *len,
    ngx_atomic_uint_t *generation, ngx_log_t *log)
{
    u_char           *copy;
    ngx_slab_pool_t  *shpool;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    ngx_shmtx_lock(&shpool->mutex);

    copy = NULL;
    *generation = doc->generation;

    if (doc->data) {
        copy = ngx_alloc(doc->len ? doc->len : 1, log);

        if (copy) {
            ngx_memcpy(copy, doc->data, doc->len);
            *len = doc->len;
        }
    }

    ngx_shmtx_unlock(&shpool->mutex);

    return copy;
}


/*
 * The slot of an organization's policy: the organization id's hash, then
 * the next NGX_HTTP_STYTCH_ORG_PROBES - 1 slots.  NGX_OK: *slot is the
 * organization's.  NGX_AGAIN: a slot was just given to it, a free one or
 * the least recently asked for in the window, if that one was not asked
 * for in the last "idle" seconds (its policy is to be fetched).
 * NGX_DECLINED: every slot of the window is in use: asked for within
 * "idle", or being fetched.  A slot is taken by use, never by arrival, so
 * that organizations that come and go cannot evict, and make the workers
 * fetch again, the policies that are being used.
 */

ngx_int_t
ngx_http_stytch_zone_org(ngx_shm_zone_t *shm_zone,
    ngx_http_stytch_shm_project_t *sp, ngx_str_t *org_id, time_t idle,
    ngx_uint_t *slot)
{
    time_t                      now, oldest;
    uint32_t                    hash;
    ngx_uint_t                  n, i, s, epoch, probes;
    ngx_slab_pool_t            *shpool;
    ngx_http_stytch_shm_doc_t  *sd;

    if (sp->norgs == 0) {
        return NGX_DECLINED;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;
    hash = ngx_crc32_short(org_id->data, org_id->len);
    probes = ngx_min(sp->norgs, NGX_HTTP_STYTCH_ORG_PROBES);

    now = ngx_time();

    ngx_shmtx_lock(&shpool->mutex);

    s = sp->norgs;
    oldest = NGX_MAX_TIME_T_VALUE;

    for (n = 0; n < probes; n++) {
        i = (hash + n) % sp->norgs;
        sd = &sp->orgs[i];

        if (sd->org_id_len == org_id->len
            && ngx_memcmp(sd->org_id, org_id->data, org_id->len) == 0)
        {
            sd->used = now;
            ngx_shmtx_unlock(&shpool->mutex);
            *slot = i;
            return NGX_OK;
        }

        if (sd->org_id_len == 0) {
            if (oldest != 0) {
                oldest = 0;
                s = i;
            }

            continue;
        }

        if (sd->used < oldest && sd->lease_pid == 0
            && now - sd->used >= idle)
        {
            oldest = sd->used;
            s = i;
        }
    }

    if (s == sp->norgs) {
        ngx_shmtx_unlock(&shpool->mutex);
        return NGX_DECLINED;
    }

    sd = &sp->orgs[s];
    epoch = sd->epoch + 1;

    if (sd->data) {
        ngx_slab_free_locked(shpool, sd->data);
    }

    ngx_memzero(sd, sizeof(ngx_http_stytch_shm_doc_t));
    sd->epoch = epoch;
    sd->used = now;
    sd->org_id_len = org_id->len;
    ngx_memcpy(sd->org_id, org_id->data, org_id->len);

    ngx_shmtx_unlock(&shpool->mutex);

    *slot = s;

    return NGX_AGAIN;
}


/* Counts an API call's duration in its bucket of the histogram. */

void
ngx_http_stytch_zone_latency(ngx_http_stytch_shm_project_t *sp,
    ngx_msec_t ms)
{
    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_STYTCH_LATENCY_BUCKETS - 1; i++) {
        if (ms <= ngx_http_stytch_latency_bounds[i]) {
            break;
        }
    }

    (void) ngx_atomic_fetch_add(&sp->api_latency[i], 1);
    (void) ngx_atomic_fetch_add(&sp->api_latency_ms, ms);
}
