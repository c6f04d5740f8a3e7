
/*
 * ngx_http_stytch_module: the refresh timer and its libcurl fetches.
 *
 * Each worker runs a timer per project.  The worker that takes a
 * document's lease in the zone fetches it (the JWKS, the RBAC policy, an
 * organization's policy) and publishes it; the others only see the
 * generation move and parse the new bytes.  The fetch uses libcurl's multi
 * socket interface with its sockets and timeout registered in NGINX's own
 * event loop, so that a slow or dead Stytch never blocks a worker.
 */


#include "ngx_http_stytch_module.h"

#include <curl/curl.h>


#define NGX_HTTP_STYTCH_TICK          1000
#define NGX_HTTP_STYTCH_MAX_BACKOFF   60


struct ngx_http_stytch_fetch_s {
    ngx_http_stytch_project_t  *project;
    ngx_uint_t                  doc;
    ngx_atomic_uint_t           epoch;
    CURL                       *easy;
    struct curl_slist          *headers;
    char                       *url;
    u_char                     *buf;
    size_t                      len;
    size_t                      size;
    size_t                      max;
    unsigned                    overflow:1;
    char                        error[CURL_ERROR_SIZE];
};


static void ngx_http_stytch_tick(ngx_event_t *ev);
static void ngx_http_stytch_maybe_fetch(ngx_http_stytch_project_t *project,
    ngx_uint_t doc);
static ngx_int_t ngx_http_stytch_start_fetch(
    ngx_http_stytch_project_t *project, ngx_uint_t doc);
static void ngx_http_stytch_fetch_done(ngx_http_stytch_fetch_t *fetch,
    CURLcode code);
static stytch_status_t ngx_http_stytch_check_doc(
    ngx_http_stytch_project_t *project, ngx_uint_t doc, u_char *data,
    size_t len, size_t *n);
static void ngx_http_stytch_fetch_free(ngx_http_stytch_fetch_t *fetch);
static void ngx_http_stytch_fetch_result(ngx_http_stytch_project_t *project,
    ngx_uint_t doc, ngx_uint_t ok, const char *reason, size_t n,
    const char *url);
static size_t ngx_http_stytch_curl_write(char *ptr, size_t size,
    size_t nmemb, void *userdata);
static int ngx_http_stytch_curl_socket(CURL *easy, curl_socket_t s, int what,
    void *userp, void *socketp);
static int ngx_http_stytch_curl_timer(CURLM *multi, long timeout_ms,
    void *userp);
static void ngx_http_stytch_curl_event(ngx_event_t *ev);
static void ngx_http_stytch_curl_timeout(ngx_event_t *ev);
static void ngx_http_stytch_curl_check(void);
static void ngx_http_stytch_release(ngx_connection_t *c);


static CURLM                         *ngx_http_stytch_multi;
static ngx_event_t                    ngx_http_stytch_curl_ev;

/*
 * Timers that belong to no connection still need ev->data to look like
 * one: NGINX's timer debug log reads its fd.
 */
static ngx_connection_t               ngx_http_stytch_dummy;
static ngx_http_stytch_main_conf_t   *ngx_http_stytch_smcf;
static ngx_log_t                     *ngx_http_stytch_log;


ngx_int_t
ngx_http_stytch_init_refresh(ngx_cycle_t *cycle,
    ngx_http_stytch_main_conf_t *smcf)
{
    ngx_uint_t                  i;
    stytch_verifier_conf_t      vc;
    ngx_http_stytch_project_t  *project;

    ngx_http_stytch_smcf = smcf;
    ngx_http_stytch_log = cycle->log;
    ngx_http_stytch_dummy.fd = (ngx_socket_t) -1;

    project = smcf->projects.elts;

    for (i = 0; i < smcf->projects.nelts; i++) {
        project[i].log = cycle->log;

        ngx_http_stytch_verifier_conf(&project[i], &vc, cycle->log);
        vc.cache_size = project[i].jwt_cache_size;

        project[i].verifier = stytch_verifier_create(&vc);
        if (project[i].verifier == NULL) {
            return NGX_ERROR;
        }

        if (project[i].jwks_file.len) {
            /* read and checked at configuration: never fetched */
            if (stytch_verifier_set_jwks(project[i].verifier,
                                         (char *) project[i].jwks_static.data,
                                         project[i].jwks_static.len, NULL)
                != STYTCH_OK)
            {
                return NGX_ERROR;
            }

            if (!project[i].need_policy) {
                continue;
            }
        }

        project[i].timer.handler = ngx_http_stytch_tick;
        project[i].timer.data = &ngx_http_stytch_dummy;
        project[i].timer.log = cycle->log;
        project[i].timer.cancelable = 1;

        /* the first tick at once: it loads the zone's keys or fetches */
        ngx_add_timer(&project[i].timer, 1);
    }

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "stytch: curl_global_init() failed");
        return NGX_ERROR;
    }

    ngx_http_stytch_multi = curl_multi_init();
    if (ngx_http_stytch_multi == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "stytch: curl_multi_init() failed");
        return NGX_ERROR;
    }

    curl_multi_setopt(ngx_http_stytch_multi, CURLMOPT_SOCKETFUNCTION,
                      ngx_http_stytch_curl_socket);
    curl_multi_setopt(ngx_http_stytch_multi, CURLMOPT_TIMERFUNCTION,
                      ngx_http_stytch_curl_timer);

    ngx_http_stytch_curl_ev.handler = ngx_http_stytch_curl_timeout;
    ngx_http_stytch_curl_ev.data = &ngx_http_stytch_dummy;
    ngx_http_stytch_curl_ev.log = cycle->log;
    ngx_http_stytch_curl_ev.cancelable = 1;

    return NGX_OK;
}


void
ngx_http_stytch_exit_refresh(ngx_cycle_t *cycle,
    ngx_http_stytch_main_conf_t *smcf)
{
    ngx_uint_t                  i, d;
    ngx_connection_t           *c;
    ngx_http_stytch_project_t  *project;

    project = smcf->projects.elts;

    for (i = 0; i < smcf->projects.nelts; i++) {
        for (d = 0; d < NGX_HTTP_STYTCH_NDOCS; d++) {
            if (project[i].fetch[d]) {
                ngx_http_stytch_fetch_free(project[i].fetch[d]);
            }
        }

        for (d = 0; d < NGX_HTTP_STYTCH_MAX_ORGS; d++) {
            if (project[i].orgs[d].policy) {
                stytch_policy_free(project[i].orgs[d].policy);
                project[i].orgs[d].policy = NULL;
            }
        }

        if (project[i].policy) {
            stytch_policy_free(project[i].policy);
            project[i].policy = NULL;
        }

        if (project[i].policy_bytes.data) {
            ngx_free(project[i].policy_bytes.data);
            ngx_str_null(&project[i].policy_bytes);
        }

        if (project[i].verifier) {
            stytch_verifier_free(project[i].verifier);
            project[i].verifier = NULL;
        }
    }

    if (ngx_http_stytch_multi) {
        curl_multi_cleanup(ngx_http_stytch_multi);
        ngx_http_stytch_multi = NULL;
        curl_global_cleanup();
    }

    /*
     * libcurl closed the connections of its cache without telling the
     * socket callback: NGINX lets go of them here, so that a worker that
     * exits does not report them as left open.
     */

    c = cycle->connections;

    for (i = 0; i < cycle->connection_n; i++) {
        if (c[i].fd != (ngx_socket_t) -1 && c[i].read
            && c[i].read->handler == ngx_http_stytch_curl_event)
        {
            ngx_http_stytch_release(&c[i]);
        }
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
    vc->log = ngx_http_stytch_core_log;
    vc->log_ctx = log;
}


/*
 * A request needs a document the zone lacks: a key id that the set does
 * not have (Stytch may have rotated its keys; at most one fetch per
 * cooldown across all workers), or an organization's policy.
 */

void
ngx_http_stytch_want_refresh(ngx_http_stytch_project_t *project,
    ngx_uint_t doc)
{
    if (doc == NGX_HTTP_STYTCH_DOC_JWKS && project->jwks_file.len) {
        return;
    }

    project->shm->docs[doc].wanted = 1;

    ngx_http_stytch_maybe_fetch(project, doc);
}


static void
ngx_http_stytch_tick(ngx_event_t *ev)
{
    ngx_uint_t                  d;
    ngx_http_stytch_project_t  *project;

    project = (ngx_http_stytch_project_t *)
                  ((u_char *) ev - offsetof(ngx_http_stytch_project_t, timer));

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    if (project->jwks_file.len == 0) {
        (void) ngx_http_stytch_load_keys(project,
                                         ngx_http_stytch_smcf->shm_zone);
        ngx_http_stytch_maybe_fetch(project, NGX_HTTP_STYTCH_DOC_JWKS);
    }

    if (project->need_policy) {
        ngx_http_stytch_maybe_fetch(project, NGX_HTTP_STYTCH_DOC_POLICY);

        if (project->b2b) {
            for (d = NGX_HTTP_STYTCH_DOC_ORG; d < NGX_HTTP_STYTCH_NDOCS; d++) {
                if (project->shm->docs[d].org_id_len) {
                    ngx_http_stytch_maybe_fetch(project, d);
                }
            }
        }
    }

    ngx_add_timer(ev, NGX_HTTP_STYTCH_TICK);
}


static void
ngx_http_stytch_maybe_fetch(ngx_http_stytch_project_t *project,
    ngx_uint_t doc)
{
    time_t                      now;
    ngx_uint_t                  due;
    ngx_slab_pool_t            *shpool;
    ngx_http_stytch_shm_doc_t  *sd;

    if (project->fetch[doc] || ngx_http_stytch_multi == NULL) {
        return;
    }

    sd = &project->shm->docs[doc];
    shpool = (ngx_slab_pool_t *) ngx_http_stytch_smcf->shm_zone->shm.addr;
    now = ngx_time();

    ngx_shmtx_lock(&shpool->mutex);

    if (doc >= NGX_HTTP_STYTCH_DOC_ORG && sd->org_id_len == 0) {
        ngx_shmtx_unlock(&shpool->mutex);
        return;
    }

    due = (now >= sd->next_refresh);

    if (!due && sd->wanted && sd->failures == 0
        && now >= sd->last_fetch + project->jwks_cooldown)
    {
        due = 1;
    }

    /* a worker that died holding the lease loses it when it expires */
    if (!due || (sd->lease_pid && now < sd->lease_expires)) {
        ngx_shmtx_unlock(&shpool->mutex);
        return;
    }

    sd->lease_pid = ngx_pid;
    sd->lease_expires = now + project->fetch_timeout / 1000 + 5;
    sd->last_fetch = now;
    sd->wanted = 0;

    ngx_shmtx_unlock(&shpool->mutex);

    if (ngx_http_stytch_start_fetch(project, doc) != NGX_OK) {
        ngx_http_stytch_fetch_result(project, doc, 0,
                                     "cannot start the fetch", 0,
                                     (char *) project->api_url.data);
    }
}


static ngx_int_t
ngx_http_stytch_start_fetch(ngx_http_stytch_project_t *project,
    ngx_uint_t doc)
{
    u_char                     *p;
    CURL                       *easy;
    size_t                      len;
    CURLMcode                   mc;
    ngx_slab_pool_t            *shpool;
    ngx_http_stytch_fetch_t    *fetch;
    ngx_http_stytch_shm_doc_t  *sd;

    fetch = ngx_calloc(sizeof(ngx_http_stytch_fetch_t), project->log);
    if (fetch == NULL) {
        return NGX_ERROR;
    }

    fetch->project = project;
    fetch->doc = doc;
    fetch->max = (doc == NGX_HTTP_STYTCH_DOC_JWKS) ? STYTCH_MAX_JWKS_SIZE
                                                   : STYTCH_MAX_POLICY_SIZE;

    switch (doc) {

    case NGX_HTTP_STYTCH_DOC_JWKS:
        len = project->jwks_url.len;
        p = project->jwks_url.data;
        break;

    case NGX_HTTP_STYTCH_DOC_POLICY:
        len = project->policy_url.len;
        p = project->policy_url.data;
        break;

    default:
        len = 0;
        p = NULL;
        break;
    }

    fetch->url = ngx_alloc(ngx_max(len, project->api_url.len
                                   + sizeof("/v1/b2b/rbac/organizations/")
                                   + NGX_HTTP_STYTCH_ORG_ID_LEN),
                           project->log);
    if (fetch->url == NULL) {
        ngx_free(fetch);
        return NGX_ERROR;
    }

    if (p) {
        ngx_memcpy(fetch->url, p, len);
        fetch->url[len] = '\0';

    } else {
        /* the organization id was checked to be URL-safe when asked for */
        sd = &project->shm->docs[doc];
        shpool = (ngx_slab_pool_t *) ngx_http_stytch_smcf->shm_zone->shm.addr;

        ngx_shmtx_lock(&shpool->mutex);
        p = ngx_sprintf((u_char *) fetch->url,
                        "%V/v1/b2b/rbac/organizations/%*s%Z",
                        &project->api_url, sd->org_id_len, sd->org_id);
        fetch->epoch = sd->epoch;
        ngx_shmtx_unlock(&shpool->mutex);
    }

    easy = curl_easy_init();
    if (easy == NULL) {
        ngx_free(fetch->url);
        ngx_free(fetch);
        return NGX_ERROR;
    }

    fetch->easy = easy;
    project->fetch[doc] = fetch;

    if (doc != NGX_HTTP_STYTCH_DOC_JWKS) {
        /* the policy endpoints want the project's credentials */
        p = ngx_alloc(sizeof("Authorization: ") + project->basic_auth.len,
                      project->log);
        if (p == NULL) {
            ngx_http_stytch_fetch_free(fetch);
            return NGX_ERROR;
        }

        ngx_sprintf(p, "Authorization: %V%Z", &project->basic_auth);

        fetch->headers = curl_slist_append(NULL, (char *) p);
        ngx_explicit_memzero(p, sizeof("Authorization: ")
                                + project->basic_auth.len);
        ngx_free(p);

        if (fetch->headers == NULL) {
            ngx_http_stytch_fetch_free(fetch);
            return NGX_ERROR;
        }

        curl_easy_setopt(easy, CURLOPT_HTTPHEADER, fetch->headers);
    }

    curl_easy_setopt(easy, CURLOPT_URL, fetch->url);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, fetch);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, ngx_http_stytch_curl_write);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, fetch);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, fetch->error);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long) project->fetch_timeout);
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_MAXFILESIZE, (long) fetch->max);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "ngx_http_stytch_module");
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS,
                     (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER,
                     (long) (project->ssl_verify ? 1 : 0));
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST,
                     (long) (project->ssl_verify ? 2 : 0));

    if (project->ssl_trusted_certificate.len) {
        curl_easy_setopt(easy, CURLOPT_CAINFO,
                         project->ssl_trusted_certificate.data);
    }

    mc = curl_multi_add_handle(ngx_http_stytch_multi, easy);
    if (mc != CURLM_OK) {
        ngx_log_error(NGX_LOG_ERR, project->log, 0,
                      "stytch: curl_multi_add_handle() failed: %s",
                      curl_multi_strerror(mc));
        ngx_http_stytch_fetch_free(fetch);
        return NGX_ERROR;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, project->log, 0,
                   "stytch: fetching \"%s\"", fetch->url);

    return NGX_OK;
}


static size_t
ngx_http_stytch_curl_write(char *ptr, size_t size, size_t nmemb,
    void *userdata)
{
    ngx_http_stytch_fetch_t  *fetch = userdata;

    u_char  *p;
    size_t   n, want;

    n = size * nmemb;

    if (n > fetch->max - fetch->len) {
        fetch->overflow = 1;
        return 0;
    }

    if (fetch->len + n > fetch->size) {
        want = ngx_max(fetch->size * 2, fetch->len + n);
        want = ngx_max(want, 4096);
        want = ngx_min(want, fetch->max);

        p = ngx_alloc(want, fetch->project->log);
        if (p == NULL) {
            return 0;
        }

        if (fetch->buf) {
            ngx_memcpy(p, fetch->buf, fetch->len);
            ngx_free(fetch->buf);
        }

        fetch->buf = p;
        fetch->size = want;
    }

    ngx_memcpy(fetch->buf + fetch->len, ptr, n);
    fetch->len += n;

    return n;
}


static void
ngx_http_stytch_fetch_done(ngx_http_stytch_fetch_t *fetch, CURLcode code)
{
    long                        status;
    size_t                      n;
    u_char                      reason[CURL_ERROR_SIZE + 64];
    ngx_uint_t                  doc;
    stytch_status_t             rc;
    ngx_http_stytch_project_t  *project;

    project = fetch->project;
    doc = fetch->doc;
    status = 0;
    n = 0;

    curl_easy_getinfo(fetch->easy, CURLINFO_RESPONSE_CODE, &status);

    if (fetch->overflow || code == CURLE_FILESIZE_EXCEEDED) {
        ngx_sprintf(reason, "the response exceeds %uz bytes%Z", fetch->max);
        goto failed;
    }

    if (code != CURLE_OK) {
        ngx_sprintf(reason, "%s%Z",
                    fetch->error[0] ? fetch->error : curl_easy_strerror(code));
        goto failed;
    }

    if (status != 200) {
        ngx_sprintf(reason, "the response status is %l%Z", status);
        goto failed;
    }

    /* a document that no worker can use never replaces one */

    rc = ngx_http_stytch_check_doc(project, doc, fetch->buf, fetch->len, &n);

    if (rc != STYTCH_OK) {
        ngx_sprintf(reason, "the document is refused: %s%Z",
                    stytch_status_name(rc));
        goto failed;
    }

    switch (ngx_http_stytch_zone_publish(ngx_http_stytch_smcf->shm_zone,
                                         &project->shm->docs[doc],
                                         fetch->epoch, fetch->buf,
                                         fetch->len))
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

    if (doc == NGX_HTTP_STYTCH_DOC_JWKS) {
        (void) ngx_http_stytch_load_keys(project,
                                         ngx_http_stytch_smcf->shm_zone);
    }

    return;

failed:

    ngx_http_stytch_fetch_result(project, doc, 0, (char *) reason, 0,
                                 fetch->url);
    ngx_http_stytch_fetch_free(fetch);
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


/*
 * Records a fetch's outcome in the zone: the next refresh time, the backoff
 * after failures, and one log line per change between working and failing.
 */

static void
ngx_http_stytch_fetch_result(ngx_http_stytch_project_t *project,
    ngx_uint_t doc, ngx_uint_t ok, const char *reason, size_t n,
    const char *url)
{
    u_char                      what[NGX_HTTP_STYTCH_ORG_ID_LEN + 64];
    time_t                      now, backoff, interval;
    ngx_uint_t                  was_failing, have;
    ngx_slab_pool_t            *shpool;
    ngx_http_stytch_shm_doc_t  *sd;

    sd = &project->shm->docs[doc];
    shpool = (ngx_slab_pool_t *) ngx_http_stytch_smcf->shm_zone->shm.addr;
    now = ngx_time();

    interval = (doc == NGX_HTTP_STYTCH_DOC_JWKS) ? project->jwks_refresh
                                                 : project->policy_refresh;

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
        sd->next_refresh = now + interval;

    } else {
        (void) ngx_atomic_fetch_add(&project->shm->fetch_failures, 1);

        sd->failures++;
        sd->failing = 1;

        backoff = (time_t) 1 << ngx_min(sd->failures, 6);
        backoff = ngx_min(backoff, NGX_HTTP_STYTCH_MAX_BACKOFF);
        backoff = ngx_min(backoff, interval);

        sd->next_refresh = now + backoff;
    }

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


static void
ngx_http_stytch_fetch_free(ngx_http_stytch_fetch_t *fetch)
{
    if (fetch->easy) {
        if (ngx_http_stytch_multi) {
            curl_multi_remove_handle(ngx_http_stytch_multi, fetch->easy);
        }

        curl_easy_cleanup(fetch->easy);
    }

    if (fetch->headers) {
        curl_slist_free_all(fetch->headers);
    }

    if (fetch->url) {
        ngx_free(fetch->url);
    }

    if (fetch->buf) {
        ngx_free(fetch->buf);
    }

    fetch->project->fetch[fetch->doc] = NULL;

    ngx_free(fetch);
}


/* libcurl tells which sockets to watch; NGINX's event loop watches them */

static int
ngx_http_stytch_curl_socket(CURL *easy, curl_socket_t s, int what,
    void *userp, void *socketp)
{
    ngx_connection_t  *c = socketp;

    if (what == CURL_POLL_REMOVE) {
        if (c == NULL) {
            return 0;
        }

        curl_multi_assign(ngx_http_stytch_multi, s, NULL);
        ngx_http_stytch_release(c);

        return 0;
    }

    if (c == NULL) {
        c = ngx_get_connection(s, ngx_http_stytch_log);
        if (c == NULL) {
            return -1;
        }

        c->read->handler = ngx_http_stytch_curl_event;
        c->write->handler = ngx_http_stytch_curl_event;
        c->read->log = ngx_http_stytch_log;
        c->write->log = ngx_http_stytch_log;

        curl_multi_assign(ngx_http_stytch_multi, s, c);
    }

    /* level-triggered, as libcurl expects */

    if ((what & CURL_POLL_IN) && !c->read->active) {
        if (ngx_add_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT)
            != NGX_OK)
        {
            return -1;
        }

    } else if (!(what & CURL_POLL_IN) && c->read->active) {
        ngx_del_event(c->read, NGX_READ_EVENT, 0);
    }

    if ((what & CURL_POLL_OUT) && !c->write->active) {
        if (ngx_add_event(c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT)
            != NGX_OK)
        {
            return -1;
        }

    } else if (!(what & CURL_POLL_OUT) && c->write->active) {
        ngx_del_event(c->write, NGX_WRITE_EVENT, 0);
    }

    return 0;
}


/* libcurl owns the socket and closes it: only NGINX lets it go */

static void
ngx_http_stytch_release(ngx_connection_t *c)
{
    if (c->read->active) {
        ngx_del_event(c->read, NGX_READ_EVENT, 0);
    }

    if (c->write->active) {
        ngx_del_event(c->write, NGX_WRITE_EVENT, 0);
    }

    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    ngx_free_connection(c);

    c->fd = (ngx_socket_t) -1;
}


static int
ngx_http_stytch_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    if (timeout_ms < 0) {
        if (ngx_http_stytch_curl_ev.timer_set) {
            ngx_del_timer(&ngx_http_stytch_curl_ev);
        }

        return 0;
    }

    /* libcurl may not be called back from here: 0 ms means "next turn" */
    ngx_add_timer(&ngx_http_stytch_curl_ev,
                  (ngx_msec_t) ngx_max(timeout_ms, 1));

    return 0;
}


static void
ngx_http_stytch_curl_event(ngx_event_t *ev)
{
    int                running;
    ngx_connection_t  *c;

    c = ev->data;

    /* the callback may free c: it is not used after this call */
    curl_multi_socket_action(ngx_http_stytch_multi, c->fd,
                             ev->write ? CURL_CSELECT_OUT : CURL_CSELECT_IN,
                             &running);

    ngx_http_stytch_curl_check();
}


static void
ngx_http_stytch_curl_timeout(ngx_event_t *ev)
{
    int  running;

    curl_multi_socket_action(ngx_http_stytch_multi, CURL_SOCKET_TIMEOUT, 0,
                             &running);

    ngx_http_stytch_curl_check();
}


static void
ngx_http_stytch_curl_check(void)
{
    int                       pending;
    CURLMsg                  *msg;
    CURLcode                  code;
    ngx_http_stytch_fetch_t  *fetch;

    while ((msg = curl_multi_info_read(ngx_http_stytch_multi, &pending))) {
        if (msg->msg != CURLMSG_DONE) {
            continue;
        }

        fetch = NULL;
        code = msg->data.result;

        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &fetch);

        if (fetch) {
            ngx_http_stytch_fetch_done(fetch, code);
        }
    }
}
