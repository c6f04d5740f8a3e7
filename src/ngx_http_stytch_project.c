
/*
 * Copyright (C) 2026 The ngx_http_stytch_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * ngx_http_stytch_module: the Stytch projects.
 *
 * At configuration, the projects that the protected locations name, with
 * their URLs, issuers and static key files.  In a worker, each project's
 * state: the verifier (the parsed key set and the verified-token cache) and the
 * parsed RBAC policies, each re-parsed from the zone's bytes only when the
 * document's generation moved on; the requests that wait for a key set
 * refresh; and the wish for a refresh, which marks the document in the
 * zone and wakes the refresh timer instead of fetching from a request's
 * stack.
 */


#include "ngx_http_stytch.h"


/* unknown kids a worker asks the API about, per key set fetched */
#define NGX_HTTP_STYTCH_KID_ASKS  4


static ngx_int_t ngx_http_stytch_project_use(ngx_conf_t *cf,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_project_t *project);
static ngx_int_t ngx_http_stytch_add_issuers(ngx_conf_t *cf,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_project_t *project);
static ngx_int_t ngx_http_stytch_add_issuer(ngx_conf_t *cf,
    ngx_http_stytch_project_t *project, ngx_str_t *issuer);
static ngx_int_t ngx_http_stytch_read_jwks_file(ngx_conf_t *cf,
    ngx_http_stytch_project_t *project);
static stytch_policy_t *ngx_http_stytch_project_org_policy(
    ngx_http_stytch_project_t *project, ngx_str_t *org_id);
static ngx_uint_t ngx_http_stytch_project_keys_moved(
    ngx_http_stytch_project_t *project, ngx_http_stytch_keys_wait_t *wait);
static ngx_uint_t ngx_http_stytch_is_org_id(ngx_str_t *s);
static ngx_uint_t ngx_http_stytch_project_is(ngx_http_stytch_project_t *project,
    ngx_http_stytch_loc_conf_t *slcf);


/*
 * The project of a protected location: one per distinct project id, API
 * URL, kind and key file; the locations that share one share its keys,
 * its zone slot and its refresh.
 */

ngx_int_t
ngx_http_stytch_project_add(ngx_conf_t *cf, ngx_http_stytch_loc_conf_t *slcf)
{
    u_char                       *p;
    ngx_uint_t                    i;
    ngx_http_stytch_project_t    *project;
    ngx_http_stytch_main_conf_t  *smcf;

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_stytch_module);

    project = smcf->projects.elts;

    for (i = 0; i < smcf->projects.nelts; i++) {
        if (ngx_http_stytch_project_is(&project[i], slcf)
            && project[i].jwks_file.len == slcf->jwks_file.len
            && ngx_strncmp(project[i].jwks_file.data, slcf->jwks_file.data,
                           slcf->jwks_file.len)
               == 0)
        {
            slcf->project = &project[i];

            /* the most eager refresh settings win for a shared project */
            project[i].jwks_refresh = ngx_min(project[i].jwks_refresh,
                                              slcf->jwks_refresh);
            project[i].jwks_cooldown = ngx_min(project[i].jwks_cooldown,
                                               slcf->jwks_cooldown);

            return ngx_http_stytch_project_use(cf, slcf, &project[i]);
        }
    }

    if (smcf->projects.nelts == NGX_HTTP_STYTCH_MAX_PROJECTS) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "too many Stytch projects, at most %d",
                           NGX_HTTP_STYTCH_MAX_PROJECTS);
        return NGX_ERROR;
    }

    if (slcf->project_id.len + 1 + slcf->api_url.len + 4
        > sizeof(((ngx_http_stytch_shm_project_t *) 0)->key))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"stytch_project_id\" and \"stytch_api_url\" "
                           "are too long");
        return NGX_ERROR;
    }

    project = ngx_array_push(&smcf->projects);
    if (project == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(project, sizeof(ngx_http_stytch_project_t));

    project->index = smcf->projects.nelts - 1;
    project->project_id = slcf->project_id;
    project->api_url = slcf->api_url;
    project->jwks_file = slcf->jwks_file;
    project->ssl_trusted_certificate = slcf->ssl_trusted_certificate;
    project->ssl_verify = slcf->ssl_verify;
    project->b2b = slcf->b2b;
    project->jwks_refresh = slcf->jwks_refresh;
    project->jwks_cooldown = slcf->jwks_cooldown;
    project->fetch_timeout = slcf->fetch_timeout;
    project->jwt_cache_size = slcf->jwt_cache_size;
    project->policy_refresh = slcf->policy_refresh;

    project->policy_url.len = slcf->api_url.len
                              + sizeof("/v1/b2b/rbac/policy") - 1;
    project->policy_url.data = ngx_pnalloc(cf->pool,
                                           project->policy_url.len + 1);
    if (project->policy_url.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(project->policy_url.data, "%V%s%Z", &slcf->api_url,
                    slcf->b2b ? "/v1/b2b/rbac/policy" : "/v1/rbac/policy");
    project->policy_url.len = p - 1 - project->policy_url.data;

    project->jwks_url.len = slcf->api_url.len
                            + sizeof("/v1/b2b/sessions/jwks/") - 1
                            + slcf->project_id.len;
    project->jwks_url.data = ngx_pnalloc(cf->pool, project->jwks_url.len + 1);
    if (project->jwks_url.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(project->jwks_url.data, "%V%s%V%Z", &slcf->api_url,
                    slcf->b2b ? "/v1/b2b/sessions/jwks/"
                              : "/v1/sessions/jwks/",
                    &slcf->project_id);
    project->jwks_url.len = p - 1 - project->jwks_url.data;

    if (project->jwks_file.len
        && ngx_http_stytch_read_jwks_file(cf, project) != NGX_OK)
    {
        return NGX_ERROR;
    }

    slcf->project = project;

    return ngx_http_stytch_project_use(cf, slcf, project);
}


/* What a location adds to its project: issuers, rate, credentials. */

static ngx_int_t
ngx_http_stytch_project_use(ngx_conf_t *cf, ngx_http_stytch_loc_conf_t *slcf,
    ngx_http_stytch_project_t *project)
{
    if (ngx_http_stytch_add_issuers(cf, slcf, project) != NGX_OK) {
        return NGX_ERROR;
    }

    /* one bucket per project in each worker: the smallest rate wins */
    if (slcf->api_rate
        && (project->api_rate == 0 || slcf->api_rate < project->api_rate))
    {
        project->api_rate = slcf->api_rate;
    }

    /* and one per client, as small */
    if (slcf->api_client_rate
        && (project->api_client_rate == 0
            || slcf->api_client_rate < project->api_client_rate))
    {
        project->api_client_rate = slcf->api_client_rate;
    }

    if (slcf->basic_auth.len) {
        /*
         * The policy is fetched with the project's credentials wherever
         * they are known: it is also the start-time check of those
         * credentials, before the first JWT expires.
         */
        project->need_policy = 1;
        project->policy_refresh = ngx_min(project->policy_refresh,
                                          slcf->policy_refresh);

        if (project->basic_auth.len == 0) {
            project->basic_auth = slcf->basic_auth;
            project->secret_file = slcf->secret_file;
        }
    }

    return NGX_OK;
}


/*
 * The issuers a project's JWTs may carry: Stytch's own, and for each of
 * its locations those that stytch_issuer lists or, without it, the API
 * URL (the SDKs accept their base URL, the issuer of custom-domain tokens).
 */

static ngx_int_t
ngx_http_stytch_add_issuers(ngx_conf_t *cf, ngx_http_stytch_loc_conf_t *slcf,
    ngx_http_stytch_project_t *project)
{
    ngx_str_t   stytch, *issuer;
    ngx_uint_t  i;

    if (project->issuers.elts == NULL) {
        if (ngx_array_init(&project->issuers, cf->pool, 4,
                           sizeof(stytch_str_t))
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        stytch.len = sizeof("stytch.com/") - 1 + project->project_id.len;
        stytch.data = ngx_pnalloc(cf->pool, stytch.len);
        if (stytch.data == NULL) {
            return NGX_ERROR;
        }

        ngx_sprintf(stytch.data, "stytch.com/%V", &project->project_id);

        if (ngx_http_stytch_add_issuer(cf, project, &stytch) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (slcf->issuers == NULL) {
        return ngx_http_stytch_add_issuer(cf, project, &slcf->api_url);
    }

    issuer = slcf->issuers->elts;

    for (i = 0; i < slcf->issuers->nelts; i++) {
        if (ngx_http_stytch_add_issuer(cf, project, &issuer[i]) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_stytch_add_issuer(ngx_conf_t *cf, ngx_http_stytch_project_t *project,
    ngx_str_t *issuer)
{
    ngx_uint_t     i;
    stytch_str_t  *known;

    known = project->issuers.elts;

    for (i = 0; i < project->issuers.nelts; i++) {
        if (known[i].len == issuer->len
            && ngx_strncmp(known[i].data, issuer->data, issuer->len) == 0)
        {
            return NGX_OK;
        }
    }

    known = ngx_array_push(&project->issuers);
    if (known == NULL) {
        return NGX_ERROR;
    }

    known->data = (const char *) issuer->data;
    known->len = issuer->len;

    return NGX_OK;
}


/*
 * stytch_jwks_file: static keys for air-gapped use, read and checked here
 * so that "nginx -t" refuses a file that no request could use.
 */

static ngx_int_t
ngx_http_stytch_read_jwks_file(ngx_conf_t *cf,
    ngx_http_stytch_project_t *project)
{
    ssize_t                  n;
    ngx_str_t                name;
    ngx_file_t               file;
    stytch_status_t          rc;
    ngx_file_info_t          fi;
    stytch_verifier_t       *check;
    stytch_verifier_conf_t   vc;

    name = project->jwks_file;

    if (ngx_conf_full_name(cf->cycle, &name, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.name = name;
    file.log = cf->log;

    file.fd = ngx_open_file(name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (file.fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"stytch_jwks_file\" cannot open \"%V\"",
                           &project->jwks_file);
        return NGX_ERROR;
    }

    if (ngx_fd_info(file.fd, &fi) == NGX_FILE_ERROR
        || ngx_file_size(&fi) > STYTCH_MAX_JWKS_SIZE)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"stytch_jwks_file\" \"%V\" is larger than %d "
                           "bytes", &project->jwks_file, STYTCH_MAX_JWKS_SIZE);
        (void) ngx_close_file(file.fd);
        return NGX_ERROR;
    }

    project->jwks_static.data = ngx_pnalloc(cf->pool,
                                            (size_t) ngx_file_size(&fi) + 1);
    if (project->jwks_static.data == NULL) {
        (void) ngx_close_file(file.fd);
        return NGX_ERROR;
    }

    n = ngx_read_file(&file, project->jwks_static.data,
                      (size_t) ngx_file_size(&fi), 0);
    (void) ngx_close_file(file.fd);

    if (n == NGX_ERROR) {
        return NGX_ERROR;
    }

    project->jwks_static.len = n;

    ngx_http_stytch_verifier_conf(project, &vc, cf->log);

    check = stytch_verifier_create(&vc);
    if (check == NULL) {
        return NGX_ERROR;
    }

    rc = stytch_verifier_set_jwks(check, (char *) project->jwks_static.data,
                                  project->jwks_static.len, NULL);
    stytch_verifier_free(check);

    if (rc != STYTCH_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"stytch_jwks_file\" \"%V\" is not a usable key "
                           "set: %s", &project->jwks_file,
                           stytch_status_name(rc));
        return NGX_ERROR;
    }

    return NGX_OK;
}


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

    if (project->api_rate && project->api_client_rate) {
        project->api_clients = ngx_calloc(NGX_HTTP_STYTCH_API_CLIENTS
                                          * sizeof(ngx_http_stytch_api_client_t),
                                          log);
        if (project->api_clients == NULL) {
            return NGX_ERROR;
        }
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

    if (project->api_clients) {
        ngx_free(project->api_clients);
        project->api_clients = NULL;
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
 *                 the project's queue, until the refresh ends or
 *                 wait->deadline; wait->wake is posted then;
 *   NGX_ABORT     no key set can be had now (fetching fails, or the request
 *                 already waited): only the API can decide.
 */

ngx_int_t
ngx_http_stytch_project_keys(ngx_http_stytch_project_t *project,
    ngx_http_stytch_keys_wait_t *wait)
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

    if (wait->waited || doc->failing) {
        return NGX_ABORT;
    }

    wait->waited = 1;
    wait->waiting = 1;
    wait->attempts = doc->attempts;
    wait->deadline = now + (time_t) (project->fetch_timeout / 1000) + 2;

    ngx_queue_insert_tail(&project->key_waiters, &wait->queue);

    ngx_http_stytch_project_want(project, NGX_HTTP_STYTCH_DOC_JWKS);

    return NGX_AGAIN;
}


/*
 * Whether the refresh a request waits for has ended, or it waited enough:
 * then it leaves the queue.
 */

ngx_uint_t
ngx_http_stytch_project_keys_over(ngx_http_stytch_project_t *project,
    ngx_http_stytch_keys_wait_t *wait)
{
    if (!ngx_http_stytch_project_keys_moved(project, wait)) {
        return 0;
    }

    ngx_http_stytch_project_keys_leave(wait);

    return 1;
}


/*
 * The project that protected locations share with a location that has
 * none of its own (a sign-out's): the same id, API URL and kind.  NULL:
 * no protected location has it.
 */

ngx_http_stytch_project_t *
ngx_http_stytch_project_find(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf)
{
    ngx_uint_t                    i;
    ngx_http_stytch_project_t    *project;
    ngx_http_stytch_main_conf_t  *smcf;

    if (slcf->project) {
        return slcf->project;
    }

    smcf = ngx_http_get_module_main_conf(r, ngx_http_stytch_module);

    project = smcf->projects.elts;

    for (i = 0; i < smcf->projects.nelts; i++) {
        if (ngx_http_stytch_project_is(&project[i], slcf)
            && project[i].shm_zone)
        {
            return &project[i];
        }
    }

    return NULL;
}


/* Whether a location's project id, API URL and kind are the project's. */

static ngx_uint_t
ngx_http_stytch_project_is(ngx_http_stytch_project_t *project,
    ngx_http_stytch_loc_conf_t *slcf)
{
    return project->project_id.len == slcf->project_id.len
           && ngx_strncmp(project->project_id.data, slcf->project_id.data,
                          slcf->project_id.len) == 0
           && project->api_url.len == slcf->api_url.len
           && ngx_strncmp(project->api_url.data, slcf->api_url.data,
                          slcf->api_url.len) == 0
           && project->b2b == slcf->b2b;
}


/*
 * A kid the key set lacks, when the set was fetched within the cooldown:
 * Stytch may have started signing with a new key right after the fetch,
 * so the API is asked, as the SDKs' authenticateJwt does; but a forged
 * kid costs nothing to make, so each worker asks about at most
 * NGX_HTTP_STYTCH_KID_ASKS of them per key set fetched.
 */

ngx_uint_t
ngx_http_stytch_project_kid_ask(ngx_http_stytch_project_t *project)
{
    ngx_http_stytch_shm_doc_t  *doc;

    /* the keys of a stytch_jwks_file are all there are */
    if (project->jwks_file.len) {
        return 0;
    }

    doc = &project->shm->docs[NGX_HTTP_STYTCH_DOC_JWKS];

    if (project->kid_fetched != doc->fetched) {
        project->kid_fetched = doc->fetched;
        project->kid_asks = 0;
    }

    if (project->kid_asks >= NGX_HTTP_STYTCH_KID_ASKS) {
        return 0;
    }

    project->kid_asks++;

    return 1;
}


/*
 * The API accepted a JWT signed with a key the set lacks: the set is
 * stale for certain, and is fetched again at once, cooldown or not, once
 * per key set fetched.
 */

void
ngx_http_stytch_project_kid_vouched(ngx_http_stytch_project_t *project)
{
    ngx_uint_t                  owed;
    ngx_slab_pool_t            *shpool;
    ngx_http_stytch_shm_doc_t  *doc;

    if (project->jwks_file.len) {
        return;
    }

    doc = &project->shm->docs[NGX_HTTP_STYTCH_DOC_JWKS];
    shpool = (ngx_slab_pool_t *) project->shm_zone->shm.addr;

    ngx_shmtx_lock(&shpool->mutex);

    owed = (doc->vouched_for != doc->fetched);

    if (owed) {
        doc->vouched_for = doc->fetched;
        doc->vouched = 1;
    }

    ngx_shmtx_unlock(&shpool->mutex);

    if (owed) {
        ngx_log_error(NGX_LOG_NOTICE, project->log, 0,
                      "stytch: the API accepted a JWT of project \"%V\" "
                      "signed with a key the key set lacks: fetching the "
                      "keys again", &project->project_id);

        ngx_http_stytch_project_want(project, NGX_HTTP_STYTCH_DOC_JWKS);
    }
}


/* The request goes away, or its wait is over. */

void
ngx_http_stytch_project_keys_leave(ngx_http_stytch_keys_wait_t *wait)
{
    if (wait->waiting) {
        wait->waiting = 0;
        ngx_queue_remove(&wait->queue);
    }
}


static ngx_uint_t
ngx_http_stytch_project_keys_moved(ngx_http_stytch_project_t *project,
    ngx_http_stytch_keys_wait_t *wait)
{
    ngx_http_stytch_shm_doc_t  *doc;

    doc = &project->shm->docs[NGX_HTTP_STYTCH_DOC_JWKS];

    return doc->attempts != wait->attempts || ngx_time() >= wait->deadline;
}


/*
 * Called by the refresh timer on each tick and after each fetch: loads a
 * new key set and hands back the requests whose wait is over, by posting
 * their wake events.
 */

void
ngx_http_stytch_project_wake(ngx_http_stytch_project_t *project)
{
    ngx_queue_t                  *q;
    ngx_http_stytch_keys_wait_t  *wait;

    (void) ngx_http_stytch_project_load_keys(project);

    for (q = ngx_queue_head(&project->key_waiters);
         q != ngx_queue_sentinel(&project->key_waiters);
         q = ngx_queue_next(q))
    {
        wait = ngx_queue_data(q, ngx_http_stytch_keys_wait_t, queue);

        if (ngx_http_stytch_project_keys_moved(project, wait)) {
            ngx_post_event(wait->wake, &ngx_posted_events);
        }
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
                                  project->policy_refresh, &slot);

    if (rc == NGX_DECLINED) {
        /* its checks are asked of the API meanwhile */
        if (ngx_time() - project->orgs_full_logged >= 60) {
            project->orgs_full_logged = ngx_time();

            ngx_log_error(NGX_LOG_WARN, project->log, 0,
                          "stytch: no room for the RBAC policy of "
                          "organization \"%V\" of project \"%V\": the "
                          "policies in its place were all used within "
                          "\"stytch_policy_refresh\"; its permissions are "
                          "asked of the API until one is idle that long; "
                          "raise \"stytch_organizations\" if this lasts",
                          org_id, &project->project_id);
        }

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


/*
 * The directive to check for an error of the API that is the
 * configuration's: "stytch_secret_file" when the refused secret is a
 * file's.
 */

const char *
ngx_http_stytch_project_directive(ngx_http_stytch_project_t *project,
    stytch_api_error_t *error)
{
    const char  *directive;

    directive = stytch_api_error_directive(error);

    if (directive && project->secret_file
        && ngx_strcmp(error->error_type, "unauthorized_credentials") == 0)
    {
        return "stytch_project_id\" and \"stytch_secret_file";
    }

    return directive;
}
