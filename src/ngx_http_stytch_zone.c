
/*
 * ngx_http_stytch_module: the shared memory zone.
 *
 * The zone holds, per project, the raw JWKS bytes with a generation and the
 * refresh state.  It survives "nginx -s reload" (same name and size), so
 * that new workers start with the keys the old ones had.
 */


#include "ngx_http_stytch_module.h"


static ngx_int_t ngx_http_stytch_zone_key(ngx_http_stytch_project_t *project,
    u_char *buf, size_t size);
static ngx_http_stytch_shm_project_t *ngx_http_stytch_zone_slot(
    ngx_http_stytch_shm_t *sh, ngx_slab_pool_t *shpool,
    ngx_http_stytch_main_conf_t *smcf, u_char *key, size_t len);


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


/*
 * Gives each configured project its slot in the zone, found by its key, so
 * that a reload finds the keys of the projects it still has.
 */

ngx_int_t
ngx_http_stytch_zone_attach(ngx_http_stytch_main_conf_t *smcf, ngx_log_t *log)
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

        project[i].shm = ngx_http_stytch_zone_slot(sh, shpool, smcf, key,
                                                   len);
        if (project[i].shm == NULL) {
            ngx_shmtx_unlock(&shpool->mutex);
            ngx_log_error(NGX_LOG_EMERG, log, 0,
                          "stytch zone \"%V\" has no room for project \"%V\"",
                          &smcf->shm_zone->shm.name, &project[i].project_id);
            return NGX_ERROR;
        }
    }

    ngx_shmtx_unlock(&shpool->mutex);

    return NGX_OK;
}


static ngx_int_t
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
            for (j = 0; j < NGX_HTTP_STYTCH_NDOCS; j++) {
                if (sp->docs[j].data) {
                    ngx_slab_free_locked(shpool, sp->docs[j].data);
                }
            }

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
 * Replaces a document's bytes and moves its generation on, which tells
 * every worker to parse the new ones.  epoch is the document's when the
 * fetch started.
 */

ngx_int_t
ngx_http_stytch_zone_publish(ngx_shm_zone_t *shm_zone,
    ngx_http_stytch_shm_doc_t *doc, ngx_atomic_uint_t epoch, u_char *data,
    size_t len)
{
    u_char           *copy;
    ngx_slab_pool_t  *shpool;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    ngx_shmtx_lock(&shpool->mutex);

    if (doc->epoch != epoch) {
        /* an organization's slot went to another one during the fetch */
        ngx_shmtx_unlock(&shpool->mutex);
        return NGX_ABORT;
    }

    if (doc->data && doc->len == len && ngx_memcmp(doc->data, data, len) == 0)
    {
        /* unchanged: no worker needs to parse it again */
        ngx_shmtx_unlock(&shpool->mutex);
        return NGX_DECLINED;
    }

    copy = ngx_slab_alloc_locked(shpool, len ? len : 1);
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
    doc->generation++;

    ngx_shmtx_unlock(&shpool->mutex);

    return NGX_OK;
}


/*
 * Parses the zone's key set into this worker's verifier when its generation
 * moved on.  Cheap when it did not: one integer comparison.
 */

ngx_int_t
ngx_http_stytch_load_keys(ngx_http_stytch_project_t *project,
    ngx_shm_zone_t *shm_zone)
{
    u_char                     *copy;
    size_t                      len, nkeys;
    ngx_uint_t                  generation;
    stytch_status_t             status;
    ngx_slab_pool_t            *shpool;
    ngx_http_stytch_shm_doc_t  *doc;

    doc = &project->shm->docs[NGX_HTTP_STYTCH_DOC_JWKS];

    if (project->generation == doc->generation || project->jwks_file.len) {
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    ngx_shmtx_lock(&shpool->mutex);

    generation = doc->generation;
    len = doc->len;

    copy = (len && doc->data) ? ngx_alloc(len, project->log) : NULL;

    if (copy) {
        ngx_memcpy(copy, doc->data, len);
    }

    ngx_shmtx_unlock(&shpool->mutex);

    if (copy == NULL) {
        return NGX_ERROR;
    }

    status = stytch_verifier_set_jwks(project->verifier, (char *) copy, len,
                                      &nkeys);
    ngx_free(copy);

    /* a set that this worker cannot use is not retried until the next one */
    project->generation = generation;

    if (status != STYTCH_OK) {
        ngx_log_error(NGX_LOG_ERR, project->log, 0,
                      "stytch: cannot use the key set of project \"%V\": %s",
                      &project->project_id, stytch_status_name(status));
        return NGX_ERROR;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, project->log, 0,
                   "stytch: project \"%V\" key set generation %ui, %uz keys",
                   &project->project_id, generation, nkeys);

    return NGX_OK;
}
