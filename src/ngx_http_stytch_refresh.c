
/*
 * Copyright (C) 2026 The ngx_http_stytch_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * ngx_http_stytch_module: the refresh timer.
 *
 * Each worker runs a timer per project.  The worker that takes a
 * document's lease in the zone fetches it (the JWKS, the RBAC policy, an
 * organization's policy) and publishes it; the others only see the
 * generation move and parse the new bytes.  When a document is due is
 * computed on each tick from the time of its last fetch and this
 * configuration's interval, so that a reload with a shorter interval takes
 * effect at once.
 */


#include "ngx_http_stytch.h"


#define NGX_HTTP_STYTCH_TICK          1000
#define NGX_HTTP_STYTCH_MAX_BACKOFF   60


struct ngx_http_stytch_fetch_s {
    ngx_http_stytch_project_t  *project;
    ngx_uint_t                  doc;
    ngx_atomic_uint_t           epoch;
    ngx_http_stytch_transfer_t *transfer;
    u_char                     *url;
};


static ngx_http_stytch_fetch_t **ngx_http_stytch_fetch_slot(
    ngx_http_stytch_project_t *project, ngx_uint_t doc);
static void ngx_http_stytch_tick(ngx_event_t *ev);
static ngx_uint_t ngx_http_stytch_due(ngx_http_stytch_project_t *project,
    ngx_uint_t doc, ngx_http_stytch_shm_doc_t *sd, time_t now);
static void ngx_http_stytch_maybe_fetch(ngx_http_stytch_project_t *project,
    ngx_uint_t doc);
static ngx_int_t ngx_http_stytch_start_fetch(
    ngx_http_stytch_project_t *project, ngx_uint_t doc);
static void ngx_http_stytch_fetched(void *data, ngx_uint_t status,
    u_char *body, size_t len, const char *error);
static stytch_status_t ngx_http_stytch_check_doc(
    ngx_http_stytch_project_t *project, ngx_uint_t doc, u_char *data,
    size_t len, size_t *n);
static void ngx_http_stytch_fetch_free(ngx_http_stytch_fetch_t *fetch);
static void ngx_http_stytch_fetch_result(ngx_http_stytch_project_t *project,
    ngx_uint_t doc, ngx_uint_t ok, const char *reason, size_t n,
    u_char *url);


/*
 * Timers that belong to no connection still need ev->data to look like
 * one: NGINX's timer debug log reads its fd.
 */
static ngx_connection_t  ngx_http_stytch_refresh_dummy;


ngx_int_t
ngx_http_stytch_refresh_init(ngx_cycle_t *cycle,
    ngx_http_stytch_main_conf_t *smcf)
{
    ngx_uint_t                  i;
    ngx_http_stytch_project_t  *project;

    ngx_http_stytch_refresh_dummy.fd = (ngx_socket_t) -1;

    project = smcf->projects.elts;

    for (i = 0; i < smcf->projects.nelts; i++) {

        if (project[i].jwks_file.len && !project[i].need_policy) {
            /* static keys, no policy: nothing is ever fetched */
            continue;
        }

        project[i].refresh.handler = ngx_http_stytch_tick;
        project[i].refresh.data = &ngx_http_stytch_refresh_dummy;
        project[i].refresh.log = cycle->log;
        project[i].refresh.cancelable = 1;

        /* the first tick at once: it loads the zone's keys or fetches */
        ngx_add_timer(&project[i].refresh, 1);
    }

    return NGX_OK;
}


void
ngx_http_stytch_refresh_exit(ngx_cycle_t *cycle,
    ngx_http_stytch_main_conf_t *smcf)
{
    ngx_uint_t                  i, d;
    ngx_http_stytch_fetch_t    *fetch;
    ngx_http_stytch_project_t  *project;

    project = smcf->projects.elts;

    for (i = 0; i < smcf->projects.nelts; i++) {
        for (d = 0; d < NGX_HTTP_STYTCH_DOC_ORG + project[i].shm->norgs; d++) {
            fetch = *ngx_http_stytch_fetch_slot(&project[i], d);

            if (fetch) {
                ngx_http_stytch_fetch_free(fetch);
            }
        }

        if (project[i].refresh.timer_set) {
            ngx_del_timer(&project[i].refresh);
        }

        if (project[i].refresh.posted) {
            ngx_delete_posted_event(&project[i].refresh);
        }
    }
}


/* this worker's fetch of a document, if one is under way */

static ngx_http_stytch_fetch_t **
ngx_http_stytch_fetch_slot(ngx_http_stytch_project_t *project, ngx_uint_t doc)
{
    if (doc < NGX_HTTP_STYTCH_DOC_ORG) {
        return &project->fetch[doc];
    }

    return &project->org_fetch[doc - NGX_HTTP_STYTCH_DOC_ORG];
}


static void
ngx_http_stytch_tick(ngx_event_t *ev)
{
    ngx_uint_t                  d;
    ngx_http_stytch_project_t  *project;

    project = (ngx_http_stytch_project_t *)
                ((u_char *) ev - offsetof(ngx_http_stytch_project_t, refresh));

    if (ngx_terminate) {
        return;
    }

    if (ngx_exiting || ngx_quit) {
        /*
         * A worker that shuts down fetches nothing, but the requests that
         * wait for keys in it are woken when another worker publishes them
         */
        ngx_http_stytch_project_wake(project);

        if (!ngx_queue_empty(&project->key_waiters)) {
            ngx_add_timer(ev, NGX_HTTP_STYTCH_TICK);
        }

        return;
    }

    if (project->jwks_file.len == 0) {
        ngx_http_stytch_maybe_fetch(project, NGX_HTTP_STYTCH_DOC_JWKS);
    }

    if (project->need_policy) {
        ngx_http_stytch_maybe_fetch(project, NGX_HTTP_STYTCH_DOC_POLICY);

        if (project->b2b) {
            for (d = 0; d < project->shm->norgs; d++) {
                if (project->shm->orgs[d].org_id_len) {
                    ngx_http_stytch_maybe_fetch(project,
                                                NGX_HTTP_STYTCH_DOC_ORG + d);
                }
            }
        }
    }

    /* another worker may have published keys, or a wait may be over */
    ngx_http_stytch_project_wake(project);

    ngx_add_timer(ev, NGX_HTTP_STYTCH_TICK);
}


static ngx_uint_t
ngx_http_stytch_due(ngx_http_stytch_project_t *project, ngx_uint_t doc,
    ngx_http_stytch_shm_doc_t *sd, time_t now)
{
    time_t  interval, backoff;

    interval = (doc == NGX_HTTP_STYTCH_DOC_JWKS) ? project->jwks_refresh
                                                 : project->policy_refresh;

    if (sd->failures) {
        backoff = (time_t) 1 << ngx_min(sd->failures, 6);
        backoff = ngx_min(backoff, NGX_HTTP_STYTCH_MAX_BACKOFF);
        backoff = ngx_min(backoff, interval);

        return now >= sd->last_fetch + backoff;
    }

    if (now >= sd->fetched + interval) {
        return 1;
    }

    /*
     * Asked for by a request: at most once per cooldown, or at once when
     * the API accepted a JWT of a key the set lacks (once per set).
     */
    return sd->wanted
           && (now >= sd->last_fetch + project->jwks_cooldown || sd->vouched);
}


static void
ngx_http_stytch_maybe_fetch(ngx_http_stytch_project_t *project,
    ngx_uint_t doc)
{
    time_t                      now;
    ngx_slab_pool_t            *shpool;
    ngx_http_stytch_shm_doc_t  *sd;

    if (*ngx_http_stytch_fetch_slot(project, doc)) {
        return;
    }

    sd = ngx_http_stytch_shm_doc(project->shm, doc);
    shpool = (ngx_slab_pool_t *) project->shm_zone->shm.addr;
    now = ngx_time();

    ngx_shmtx_lock(&shpool->mutex);

    if (doc >= NGX_HTTP_STYTCH_DOC_ORG && sd->org_id_len == 0) {
        ngx_shmtx_unlock(&shpool->mutex);
        return;
    }

    /* a worker that died holding the lease loses it when it expires */
    if (!ngx_http_stytch_due(project, doc, sd, now)
        || (sd->lease_pid && now < sd->lease_expires))
    {
        ngx_shmtx_unlock(&shpool->mutex);
        return;
    }

    sd->lease_pid = ngx_pid;
    sd->lease_expires = now + project->fetch_timeout / 1000 + 5;
    sd->last_fetch = now;
    sd->wanted = 0;
    sd->vouched = 0;

    ngx_shmtx_unlock(&shpool->mutex);

    if (ngx_http_stytch_start_fetch(project, doc) != NGX_OK) {
        ngx_http_stytch_fetch_result(project, doc, 0,
                                     "cannot start the fetch", 0,
                                     project->api_url.data);
    }
}


static ngx_int_t
ngx_http_stytch_start_fetch(ngx_http_stytch_project_t *project,
    ngx_uint_t doc)
{
    size_t                      len;
    ngx_slab_pool_t            *shpool;
    ngx_http_stytch_get_t       get;
    ngx_http_stytch_fetch_t    *fetch;
    ngx_http_stytch_shm_doc_t  *sd;

    fetch = ngx_calloc(sizeof(ngx_http_stytch_fetch_t), project->log);
    if (fetch == NULL) {
        return NGX_ERROR;
    }

    fetch->project = project;
    fetch->doc = doc;

    len = ngx_max(project->jwks_url.len, project->policy_url.len);
    len = ngx_max(len, project->api_url.len
                       + sizeof("/v1/b2b/rbac/organizations/")
                       + NGX_HTTP_STYTCH_ORG_ID_LEN);

    fetch->url = ngx_alloc(len + 1, project->log);
    if (fetch->url == NULL) {
        ngx_free(fetch);
        return NGX_ERROR;
    }

    switch (doc) {

    case NGX_HTTP_STYTCH_DOC_JWKS:
        ngx_sprintf(fetch->url, "%V%Z", &project->jwks_url);
        break;

    case NGX_HTTP_STYTCH_DOC_POLICY:
        ngx_sprintf(fetch->url, "%V%Z", &project->policy_url);
        break;

    default:
        /* the organization id was checked to be URL-safe when asked for */
        sd = ngx_http_stytch_shm_doc(project->shm, doc);
        shpool = (ngx_slab_pool_t *) project->shm_zone->shm.addr;

        ngx_shmtx_lock(&shpool->mutex);
        ngx_sprintf(fetch->url, "%V/v1/b2b/rbac/organizations/%*s%Z",
                    &project->api_url, sd->org_id_len, sd->org_id);
        fetch->epoch = sd->epoch;
        ngx_shmtx_unlock(&shpool->mutex);
        break;
    }

    ngx_memzero(&get, sizeof(ngx_http_stytch_get_t));

    get.url = (char *) fetch->url;
    get.ca_file = project->ssl_trusted_certificate;
    get.verify = project->ssl_verify;
    get.timeout = project->fetch_timeout;
    get.max = (doc == NGX_HTTP_STYTCH_DOC_JWKS) ? STYTCH_MAX_JWKS_SIZE
                                                : STYTCH_MAX_POLICY_SIZE;

    if (doc != NGX_HTTP_STYTCH_DOC_JWKS) {
        /* the policy endpoints want the project's credentials */
        get.authorization = project->basic_auth;
    }

    *ngx_http_stytch_fetch_slot(project, doc) = fetch;

    fetch->transfer = ngx_http_stytch_curl_get(&get, ngx_http_stytch_fetched,
                                               fetch, project->log);
    if (fetch->transfer == NULL) {
        ngx_http_stytch_fetch_free(fetch);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_stytch_fetched(void *data, ngx_uint_t status, u_char *body,
    size_t len, const char *error)
{
    ngx_http_stytch_fetch_t  *fetch = data;

    size_t                      n;
    u_char                     *p, reason[256];
    u_char                      digest[STYTCH_DOC_DIGEST_SIZE];
    ngx_uint_t                  doc;
    const char                 *directive;
    stytch_status_t             rc;
    stytch_api_error_t          api;
    ngx_http_stytch_project_t  *project;

    project = fetch->project;
    doc = fetch->doc;
    n = 0;

    /* the transfer frees itself after this call */
    fetch->transfer = NULL;

    if (error) {
        ngx_snprintf(reason, sizeof(reason) - 1, "%s%Z", error);
        goto failed;
    }

    if (status != 200) {
        rc = stytch_api_parse_error((int) status, (char *) body, len, &api);
        directive = ngx_http_stytch_project_directive(project, &api);

        p = ngx_snprintf(reason, sizeof(reason) - 1,
                         "the response status is %ui", status);

        if (api.error_type[0]) {
            p = ngx_snprintf(p, reason + sizeof(reason) - 1 - p, " (%s)",
                             api.error_type);
        }

        if (directive) {
            p = ngx_snprintf(p, reason + sizeof(reason) - 1 - p,
                             ": check \"%s\"", directive);
        }

        /* a project is consumer or B2B: say which this one is */

        if (ngx_strcmp(api.error_type, "invalid_b2b_endpoint") == 0) {
            p = ngx_snprintf(p, reason + sizeof(reason) - 1 - p,
                             ": the project is a consumer one, for which "
                             "\"stytch_b2b\" must be off");
            project->shm->credentials = NGX_HTTP_STYTCH_B2B_ON_CONSUMER;

        } else if (ngx_strcmp(api.error_type, "invalid_consumer_endpoint")
                   == 0)
        {
            p = ngx_snprintf(p, reason + sizeof(reason) - 1 - p,
                             ": the project is a B2B one, for which "
                             "\"stytch_b2b on\" is needed");
            project->shm->credentials = NGX_HTTP_STYTCH_B2B_OFF_B2B;

        } else if (doc == NGX_HTTP_STYTCH_DOC_POLICY
                   && stytch_status_action(rc) == STYTCH_ACTION_ERROR)
        {
            project->shm->credentials = NGX_HTTP_STYTCH_REFUSED;
        }

        *p = '\0';

        goto failed;
    }

    if (doc == NGX_HTTP_STYTCH_DOC_POLICY) {
        project->shm->credentials = NGX_HTTP_STYTCH_ACCEPTED;
    }

    /* a document that no worker can use never replaces one */

    rc = ngx_http_stytch_check_doc(project, doc, body, len, &n);

    if (rc != STYTCH_OK) {
        ngx_sprintf(reason, "the document is refused: %s%Z",
                    stytch_status_name(rc));
        goto failed;
    }

    rc = stytch_doc_digest((char *) body, len, digest);

    if (rc != STYTCH_OK) {
        ngx_sprintf(reason, "the document is refused: %s%Z",
                    stytch_status_name(rc));
        goto failed;
    }

    switch (ngx_http_stytch_zone_publish(project->shm_zone,
                                         ngx_http_stytch_shm_doc(project->shm,
                                                                 doc),
                                         fetch->epoch, body, len, digest))
    {
    case NGX_ERROR:
        ngx_sprintf(reason, "the zone is too small for the document%Z");
        goto failed;

    case NGX_ABORT:
        /* the slot is another organization's now: its fetch will come */
        ngx_http_stytch_fetch_free(fetch);
        return;

    default:
        break;
    }

    ngx_http_stytch_fetch_result(project, doc, 1, NULL, n, fetch->url);
    ngx_http_stytch_fetch_free(fetch);
    ngx_http_stytch_project_wake(project);

    return;

failed:

    ngx_http_stytch_fetch_result(project, doc, 0, (char *) reason, 0,
                                 fetch->url);
    ngx_http_stytch_fetch_free(fetch);
    ngx_http_stytch_project_wake(project);
}


static stytch_status_t
ngx_http_stytch_check_doc(ngx_http_stytch_project_t *project, ngx_uint_t doc,
    u_char *data, size_t len, size_t *n)
{
    stytch_status_t          rc;
    stytch_policy_t         *policy;
    stytch_verifier_t       *check;
    stytch_verifier_conf_t   vc;

    static char  empty[] = "{\"policy\":{\"roles\":[],\"resources\":[],"
                           "\"scopes\":[]}}";

    switch (doc) {

    case NGX_HTTP_STYTCH_DOC_JWKS:
        ngx_http_stytch_verifier_conf(project, &vc, project->log);

        check = stytch_verifier_create(&vc);
        if (check == NULL) {
            return STYTCH_NO_MEMORY;
        }

        rc = stytch_verifier_set_jwks(check, (char *) data, len, n);
        stytch_verifier_free(check);

        return rc;

    case NGX_HTTP_STYTCH_DOC_POLICY:
        policy = stytch_policy_parse((char *) data, len, &rc);
        break;

    default:
        policy = stytch_policy_parse(empty, sizeof(empty) - 1, &rc);

        if (policy) {
            rc = stytch_policy_add_org(policy, (char *) data, len);
        }

        break;
    }

    if (policy) {
        stytch_policy_free(policy);
    }

    return policy ? rc : (rc != STYTCH_OK ? rc : STYTCH_POLICY_INVALID);
}


static void
ngx_http_stytch_fetch_free(ngx_http_stytch_fetch_t *fetch)
{
    if (fetch->transfer) {
        ngx_http_stytch_curl_cancel(fetch->transfer);
    }

    if (fetch->url) {
        ngx_free(fetch->url);
    }

    *ngx_http_stytch_fetch_slot(fetch->project, fetch->doc) = NULL;

    ngx_free(fetch);
}


/*
 * Records a fetch's outcome in the zone (the failures that the backoff
 * counts) and logs one line per change between working and failing.
 */

static void
ngx_http_stytch_fetch_result(ngx_http_stytch_project_t *project,
    ngx_uint_t doc, ngx_uint_t ok, const char *reason, size_t n,
    u_char *url)
{
    u_char                      what[NGX_HTTP_STYTCH_ORG_ID_LEN + 64];
    time_t                      now;
    ngx_uint_t                  was_failing, have;
    ngx_slab_pool_t            *shpool;
    ngx_http_stytch_shm_doc_t  *sd;

    sd = ngx_http_stytch_shm_doc(project->shm, doc);
    shpool = (ngx_slab_pool_t *) project->shm_zone->shm.addr;
    now = ngx_time();

    ngx_shmtx_lock(&shpool->mutex);

    was_failing = sd->failing;
    have = (sd->data != NULL);

    switch (doc) {
    case NGX_HTTP_STYTCH_DOC_JWKS:
        ngx_sprintf(what, "keys%Z");
        break;
    case NGX_HTTP_STYTCH_DOC_POLICY:
        ngx_sprintf(what, "RBAC policy%Z");
        break;
    default:
        ngx_sprintf(what, "RBAC policy of organization \"%*s\"%Z",
                    sd->org_id_len, sd->org_id);
        break;
    }

    if (sd->lease_pid == ngx_pid) {
        sd->lease_pid = 0;
    }

    (void) ngx_atomic_fetch_add(&project->shm->fetches, 1);

    if (ok) {
        sd->failures = 0;
        sd->failing = 0;
        sd->fetched = now;

    } else {
        (void) ngx_atomic_fetch_add(&project->shm->fetch_failures, 1);

        sd->failures++;
        sd->failing = 1;
    }

    sd->attempts++;

    ngx_shmtx_unlock(&shpool->mutex);

    if (ok && was_failing) {
        ngx_log_error(NGX_LOG_NOTICE, project->log, 0,
                      "stytch: %s of project \"%V\" fetched again from "
                      "\"%s\"", what, &project->project_id, url);

    } else if (!ok && !was_failing) {
        ngx_log_error(NGX_LOG_ERR, project->log, 0,
                      "stytch: fetching the %s of project \"%V\" from "
                      "\"%s\" failed: %s; %s, retrying with backoff",
                      what, &project->project_id, url, reason,
                      doc == NGX_HTTP_STYTCH_DOC_JWKS
                      ? (have ? "keeping the last good keys" : "no keys yet")
                      : (have ? "keeping the last good policy"
                              : "no policy yet"));

    } else if (!ok) {
        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, project->log, 0,
                       "stytch: fetching the %s of project \"%V\" failed "
                       "again: %s", what, &project->project_id, reason);

    } else {
        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, project->log, 0,
                       "stytch: fetched the %s of project \"%V\", %uz",
                       what, &project->project_id, n);
    }
}
