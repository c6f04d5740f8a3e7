
/*
 * ngx_http_stytch_module: one project's state in a worker.
 *
 * The verifier (the parsed key set and the verified-token cache) and the
 * parsed RBAC policies, each re-parsed from the zone's bytes only when the
 * document's generation moved on; the requests that wait for a key set
 * refresh; and the wish for a refresh, which marks the document in the
 * zone and wakes the refresh timer instead of fetching from a request's
 * stack.
 */


#include "ngx_http_stytch_module.h"


static stytch_policy_t *ngx_http_stytch_project_org_policy(
    ngx_http_stytch_project_t *project, ngx_str_t *org_id);
static ngx_uint_t ngx_http_stytch_is_org_id(ngx_str_t *s);


ngx_int_t
ngx_http_stytch_project_init(ngx_http_stytch_project_t *project,
    ngx_log_t *log)
{
    stytch_verifier_conf_t  vc;

    project->log = log;
    ngx_queue_init(&project->key_waiters);

    /* the master could read it; a worker runs as another user */
    if (project->ssl_trusted_certificate.len
        && access((char *) project->ssl_trusted_certificate.data, R_OK) != 0)
    {
        ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                      "stytch: \"stytch_ssl_trusted_certificate\" \"%V\" "
                      "cannot be read by the worker processes: the key "
                      "fetches of project \"%V\" will fail",
                      &project->ssl_trusted_certificate,
                      &project->project_id);
    }

    ngx_http_stytch_verifier_conf(project, &vc, log);
    vc.cache_size = project->jwt_cache_size;

    project->verifier = stytch_verifier_create(&vc);
    if (project->verifier == NULL) {
        return NGX_ERROR;
    }

    if (project->shm->norgs) {
        project->orgs = ngx_calloc(project->shm->norgs
                                   * sizeof(ngx_http_stytch_org_policy_t),
                                   log);
        project->org_fetch = ngx_calloc(project->shm->norgs
                                        * sizeof(ngx_http_stytch_fetch_t *),
                                        log);
        if (project->orgs == NULL || project->org_fetch == NULL) {
            return NGX_ERROR;
        }
    }

    if (project->jwks_file.len
        && stytch_verifier_set_jwks(project->verifier,
                                    (char *) project->jwks_static.data,
                                    project->jwks_static.len, NULL)
           != STYTCH_OK)
    {
        /* read and checked at configuration: this cannot fail */
        return NGX_ERROR;
    }

    return NGX_OK;
}


void
ngx_http_stytch_project_exit(ngx_http_stytch_project_t *project)
{
    ngx_uint_t  i;

    if (project->orgs) {
        for (i = 0; i < project->shm->norgs; i++) {
            if (project->orgs[i].policy) {
                stytch_policy_free(project->orgs[i].policy);
            }
        }

        ngx_free(project->orgs);
        project->orgs = NULL;
    }

    if (project->org_fetch) {
        ngx_free(project->org_fetch);
        project->org_fetch = NULL;
    }

    if (project->policy) {
        stytch_policy_free(project->policy);
        project->policy = NULL;
    }

    if (project->policy_bytes.data) {
        ngx_free(project->policy_bytes.data);
        ngx_str_null(&project->policy_bytes);
    }

    if (project->verifier) {
        stytch_verifier_free(project->verifier);
        project->verifier = NULL;
    }
}


/* A verifier for a project, without a token cache unless asked for. */

void
ngx_http_stytch_verifier_conf(ngx_http_stytch_project_t *project,
    stytch_verifier_conf_t *vc, ngx_log_t *log)
{
    ngx_memzero(vc, sizeof(stytch_verifier_conf_t));

    vc->project_id = (char *) project->project_id.data;
    vc->project_id_len = project->project_id.len;
    vc->api_url = (char *) project->api_url.data;
    vc->api_url_len = project->api_url.len;
    vc->issuers = project->issuers.elts;
    vc->nissuers = project->issuers.nelts;
    vc->log = ngx_http_stytch_core_log;
    vc->log_ctx = log;
}


/*
 * Parses the zone's key set into this worker's verifier when its generation
 * moved on.  Cheap when it did not: one integer comparison.
 */

ngx_int_t
ngx_http_stytch_project_load_keys(ngx_http_stytch_project_t *project)
{
    u_char                     *copy;
    size_t                      len, nkeys;
    ngx_atomic_uint_t           generation;
    stytch_status_t             status;
    ngx_http_stytch_shm_doc_t  *doc;

    doc = &project->shm->docs[NGX_HTTP_STYTCH_DOC_JWKS];

    if (project->generation == doc->generation || project->jwks_file.len) {
        return NGX_OK;
    }

    copy = ngx_http_stytch_zone_copy(project->shm_zone, doc, &len,
                                     &generation, project->log);
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
                   "stytch: project \"%V\" key set generation %uA, %uz keys",
                   &project->project_id, generation, nkeys);

    return NGX_OK;
}


/*
 * A request needs a document that the zone lacks or that may be stale: a
 * key id that the set does not have, or an organization's policy.  The
 * refresh timer decides whether to fetch (at most once per cooldown across
 * all workers for the keys); it runs at once, from the event loop.
 */

void
ngx_http_stytch_project_want(ngx_http_stytch_project_t *project,
    ngx_uint_t doc)
{
    if (doc == NGX_HTTP_STYTCH_DOC_JWKS && project->jwks_file.len) {
        return;
    }

    ngx_http_stytch_shm_doc(project->shm, doc)->wanted = 1;

    if (project->refresh.handler && !project->refresh.posted) {
        ngx_post_event(&project->refresh, &ngx_posted_events);
    }
}


/*
 * Whether a key id that the set lacks may be Stytch's new key.
 *
 *   NGX_DECLINED  the set was fetched less than the cooldown ago (or is a
 *                 static file): the kid is forged;
 *   NGX_AGAIN     a refresh is asked for and the request waits for it, in
 *                 the project's queue;
 *   NGX_ABORT     no key set can be had now (fetching fails, or the request
 *                 already waited): only the API can decide.
 */

ngx_int_t
ngx_http_stytch_project_keys(ngx_http_stytch_project_t *project,
    ngx_http_stytch_ctx_t *ctx)
{
    time_t                      now;
    ngx_http_stytch_shm_doc_t  *doc;

    if (project->jwks_file.len) {
        return NGX_DECLINED;
    }

    doc = &project->shm->docs[NGX_HTTP_STYTCH_DOC_JWKS];
    now = ngx_time();

    if (doc->generation && doc->fetched
        && now - doc->fetched < project->jwks_cooldown)
    {
        return NGX_DECLINED;
    }

    if (ctx->keys_waited || doc->failing) {
        return NGX_ABORT;
    }

    ctx->keys_waited = 1;
    ctx->keys_attempts = doc->attempts;
    ctx->keys_deadline = now + (time_t) (project->fetch_timeout / 1000) + 2;

    ngx_queue_insert_tail(&project->key_waiters, &ctx->waiting);

    ngx_http_stytch_project_want(project, NGX_HTTP_STYTCH_DOC_JWKS);

    return NGX_AGAIN;
}


/* Whether the refresh a request waits for has ended, or it waited enough */

ngx_uint_t
ngx_http_stytch_project_keys_moved(ngx_http_stytch_project_t *project,
    ngx_http_stytch_ctx_t *ctx)
{
    ngx_http_stytch_shm_doc_t  *doc;

    doc = &project->shm->docs[NGX_HTTP_STYTCH_DOC_JWKS];

    return doc->attempts != ctx->keys_attempts
           || ngx_time() >= ctx->keys_deadline;
}


/*
 * Called by the refresh timer on each tick and after each fetch: loads a
 * new key set and wakes the requests whose wait is over.
 */

void
ngx_http_stytch_project_wake(ngx_http_stytch_project_t *project)
{
    ngx_queue_t            *q, *next;
    ngx_http_request_t     *r;
    ngx_http_stytch_ctx_t  *ctx;

    (void) ngx_http_stytch_project_load_keys(project);

    for (q = ngx_queue_head(&project->key_waiters);
         q != ngx_queue_sentinel(&project->key_waiters);
         q = next)
    {
        next = ngx_queue_next(q);

        ctx = ngx_queue_data(q, ngx_http_stytch_ctx_t, waiting);

        if (!ngx_http_stytch_project_keys_moved(project, ctx)) {
            continue;
        }

        r = ctx->request;
        r->write_event_handler = ngx_http_core_run_phases;
        ngx_post_event(r->connection->write, &ngx_posted_events);
    }
}


/*
 * The policy for a check: the project's, plus the organization's roles for
 * B2B.  NULL while the zone has none yet (its fetch is asked for).
 */

stytch_policy_t *
ngx_http_stytch_project_policy(ngx_http_stytch_project_t *project,
    ngx_str_t *org_id)
{
    u_char                     *bytes;
    size_t                      len;
    stytch_status_t             rc;
    stytch_policy_t            *policy;
    ngx_atomic_uint_t           generation;
    ngx_http_stytch_shm_doc_t  *sd;

    sd = &project->shm->docs[NGX_HTTP_STYTCH_DOC_POLICY];

    if (sd->generation == 0) {
        ngx_http_stytch_project_want(project, NGX_HTTP_STYTCH_DOC_POLICY);
        return NULL;
    }

    if (project->policy_generation != sd->generation) {
        bytes = ngx_http_stytch_zone_copy(project->shm_zone, sd, &len,
                                          &generation, project->log);
        if (bytes == NULL) {
            return NULL;
        }

        policy = stytch_policy_parse((char *) bytes, len, &rc);

        if (policy == NULL) {
            ngx_log_error(NGX_LOG_ERR, project->log, 0,
                          "stytch: cannot use the RBAC policy of project "
                          "\"%V\": %s", &project->project_id,
                          stytch_status_name(rc));
            ngx_free(bytes);
            return NULL;
        }

        if (project->policy) {
            stytch_policy_free(project->policy);
        }

        if (project->policy_bytes.data) {
            ngx_free(project->policy_bytes.data);
        }

        project->policy = policy;
        project->policy_bytes.data = bytes;
        project->policy_bytes.len = len;
        project->policy_generation = generation;
    }

    if (org_id == NULL || !project->b2b) {
        return project->policy;
    }

    return ngx_http_stytch_project_org_policy(project, org_id);
}


static stytch_policy_t *
ngx_http_stytch_project_org_policy(ngx_http_stytch_project_t *project,
    ngx_str_t *org_id)
{
    u_char                        *bytes;
    size_t                         len;
    ngx_int_t                      rc;
    ngx_uint_t                     slot;
    stytch_status_t                status;
    stytch_policy_t               *policy;
    ngx_atomic_uint_t              epoch, generation;
    ngx_http_stytch_shm_doc_t     *sd;
    ngx_http_stytch_org_policy_t  *op;

    /* the id goes into the policy's URL */
    if (!ngx_http_stytch_is_org_id(org_id)) {
        return NULL;
    }

    rc = ngx_http_stytch_zone_org(project->shm_zone, project->shm, org_id,
                                  &slot);

    if (rc == NGX_DECLINED) {
        return NULL;
    }

    if (rc == NGX_AGAIN) {
        ngx_http_stytch_project_want(project, NGX_HTTP_STYTCH_DOC_ORG + slot);
        return NULL;
    }

    sd = &project->shm->orgs[slot];
    op = &project->orgs[slot];
    epoch = sd->epoch;

    if (sd->generation == 0) {
        return NULL;
    }

    if (op->policy && op->epoch == epoch && op->generation == sd->generation
        && op->project_generation == project->policy_generation)
    {
        return op->policy;
    }

    bytes = ngx_http_stytch_zone_copy(project->shm_zone, sd, &len,
                                      &generation, project->log);
    if (bytes == NULL) {
        return NULL;
    }

    if (sd->epoch != epoch) {
        /* the slot went to another organization while it was copied */
        ngx_free(bytes);
        return NULL;
    }

    policy = stytch_policy_parse((char *) project->policy_bytes.data,
                                 project->policy_bytes.len, &status);

    if (policy && stytch_policy_add_org(policy, (char *) bytes, len)
                  != STYTCH_OK)
    {
        stytch_policy_free(policy);
        policy = NULL;
    }

    ngx_free(bytes);

    if (policy == NULL) {
        return NULL;
    }

    if (op->policy) {
        stytch_policy_free(op->policy);
    }

    op->policy = policy;
    op->epoch = epoch;
    op->generation = generation;
    op->project_generation = project->policy_generation;

    return policy;
}


static ngx_uint_t
ngx_http_stytch_is_org_id(ngx_str_t *s)
{
    u_char  *p;

    if (s->len == 0 || s->len > NGX_HTTP_STYTCH_ORG_ID_LEN) {
        return 0;
    }

    for (p = s->data; p < s->data + s->len; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
        {
            return 0;
        }
    }

    return 1;
}


void
ngx_http_stytch_core_log(void *data, int level, const char *msg, size_t len)
{
    ngx_log_t  *log = data;

    ngx_uint_t  nlevel;

    switch (level) {
    case STYTCH_LOG_ERR:
        nlevel = NGX_LOG_ERR;
        break;
    case STYTCH_LOG_WARN:
        nlevel = NGX_LOG_WARN;
        break;
    case STYTCH_LOG_INFO:
        nlevel = NGX_LOG_INFO;
        break;
    default:
        nlevel = NGX_LOG_DEBUG;
        break;
    }

    if (log->log_level < nlevel) {
        return;
    }

    ngx_log_error(nlevel, log, 0, "stytch: %*s", len, msg);
}
