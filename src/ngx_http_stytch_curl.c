
/*
 * Copyright (C) 2026 The ngx_http_stytch_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * ngx_http_stytch_module: libcurl on NGINX's event loop.
 *
 * A worker's GET requests (key sets, policies) go through libcurl's multi
 * socket interface, whose sockets and timeout are registered in NGINX's
 * own event loop, so that a slow or dead Stytch never blocks a worker.
 * Callers give a URL and a handler; the handler gets the status and the
 * body, or the reason of the failure.
 */


#include "ngx_http_stytch.h"

#include <curl/curl.h>
#include <openssl/err.h>


struct ngx_http_stytch_transfer_s {
    CURL                       *easy;
    struct curl_slist          *headers;
    ngx_http_stytch_got_pt      handler;
    void                       *data;
    ngx_log_t                  *log;
    u_char                     *buf;
    size_t                      len;
    size_t                      size;
    size_t                      max;
    unsigned                    overflow:1;
    char                        error[CURL_ERROR_SIZE];
};


static void ngx_http_stytch_curl_done(ngx_http_stytch_transfer_t *t,
    CURLcode code);
static void ngx_http_stytch_curl_free(ngx_http_stytch_transfer_t *t);
static size_t ngx_http_stytch_curl_write(char *ptr, size_t size,
    size_t nmemb, void *userdata);
static int ngx_http_stytch_curl_socket(CURL *easy, curl_socket_t s, int what,
    void *userp, void *socketp);
static int ngx_http_stytch_curl_timer(CURLM *multi, long timeout_ms,
    void *userp);
static void ngx_http_stytch_curl_event(ngx_event_t *ev);
static void ngx_http_stytch_curl_timeout(ngx_event_t *ev);
static void ngx_http_stytch_curl_check(void);
static void ngx_http_stytch_curl_release(ngx_connection_t *c);


static CURLM             *ngx_http_stytch_multi;
static ngx_event_t        ngx_http_stytch_curl_ev;
static ngx_log_t         *ngx_http_stytch_curl_log;

/*
 * Timers that belong to no connection still need ev->data to look like
 * one: NGINX's timer debug log reads its fd.
 */
static ngx_connection_t   ngx_http_stytch_curl_dummy;


ngx_int_t
ngx_http_stytch_curl_init(ngx_cycle_t *cycle)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "stytch: curl_global_init() failed");
        return NGX_ERROR;
    }

    ngx_http_stytch_multi = curl_multi_init();
    if (ngx_http_stytch_multi == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "stytch: curl_multi_init() failed");
        curl_global_cleanup();
        return NGX_ERROR;
    }

    curl_multi_setopt(ngx_http_stytch_multi, CURLMOPT_SOCKETFUNCTION,
                      ngx_http_stytch_curl_socket);
    curl_multi_setopt(ngx_http_stytch_multi, CURLMOPT_TIMERFUNCTION,
                      ngx_http_stytch_curl_timer);

    ngx_http_stytch_curl_log = cycle->log;
    ngx_http_stytch_curl_dummy.fd = (ngx_socket_t) -1;

    ngx_http_stytch_curl_ev.handler = ngx_http_stytch_curl_timeout;
    ngx_http_stytch_curl_ev.data = &ngx_http_stytch_curl_dummy;
    ngx_http_stytch_curl_ev.log = cycle->log;
    ngx_http_stytch_curl_ev.cancelable = 1;

    return NGX_OK;
}


void
ngx_http_stytch_curl_exit(ngx_cycle_t *cycle)
{
    ngx_uint_t         i;
    ngx_connection_t  *c;

    if (ngx_http_stytch_multi == NULL) {
        return;
    }

    curl_multi_cleanup(ngx_http_stytch_multi);
    ngx_http_stytch_multi = NULL;
    curl_global_cleanup();

    if (ngx_http_stytch_curl_ev.timer_set) {
        ngx_del_timer(&ngx_http_stytch_curl_ev);
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
            ngx_http_stytch_curl_release(&c[i]);
        }
    }
}


/*
 * Starts a GET.  The handler is called once, from the event loop, unless
 * the transfer is cancelled first.
 */

ngx_http_stytch_transfer_t *
ngx_http_stytch_curl_get(ngx_http_stytch_get_t *get,
    ngx_http_stytch_got_pt handler, void *data, ngx_log_t *log)
{
    u_char                      *p;
    size_t                       len;
    CURL                        *easy;
    CURLMcode                    mc;
    ngx_http_stytch_transfer_t  *t;

    if (ngx_http_stytch_multi == NULL) {
        return NULL;
    }

    t = ngx_calloc(sizeof(ngx_http_stytch_transfer_t), log);
    if (t == NULL) {
        return NULL;
    }

    t->handler = handler;
    t->data = data;
    t->log = log;
    t->max = get->max;

    easy = curl_easy_init();
    if (easy == NULL) {
        ngx_free(t);
        return NULL;
    }

    t->easy = easy;

    if (get->authorization.len) {
        len = sizeof("Authorization: ") + get->authorization.len;

        p = ngx_alloc(len, log);
        if (p == NULL) {
            ngx_http_stytch_curl_free(t);
            return NULL;
        }

        ngx_sprintf(p, "Authorization: %V%Z", &get->authorization);

        t->headers = curl_slist_append(NULL, (char *) p);

        /* the header holds the project's secret */
        ngx_explicit_memzero(p, len);
        ngx_free(p);

        if (t->headers == NULL) {
            ngx_http_stytch_curl_free(t);
            return NULL;
        }

        curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t->headers);
    }

    curl_easy_setopt(easy, CURLOPT_URL, get->url);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, t);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, ngx_http_stytch_curl_write);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t->error);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long) get->timeout);
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_MAXFILESIZE, (long) get->max);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "ngx_http_stytch_module");
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS,
                     (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER,
                     (long) (get->verify ? 1 : 0));
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST,
                     (long) (get->verify ? 2 : 0));

    if (get->ca_file.len) {
        curl_easy_setopt(easy, CURLOPT_CAINFO, get->ca_file.data);
    }

    mc = curl_multi_add_handle(ngx_http_stytch_multi, easy);
    if (mc != CURLM_OK) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "stytch: curl_multi_add_handle() failed: %s",
                      curl_multi_strerror(mc));
        ngx_http_stytch_curl_free(t);
        return NULL;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, log, 0, "stytch: fetching \"%s\"",
                   get->url);

    return t;
}


void
ngx_http_stytch_curl_cancel(ngx_http_stytch_transfer_t *t)
{
    ngx_http_stytch_curl_free(t);
}


static void
ngx_http_stytch_curl_done(ngx_http_stytch_transfer_t *t, CURLcode code)
{
    long         status;
    u_char       reason[CURL_ERROR_SIZE + 64];
    const char  *error;

    status = 0;
    error = NULL;

    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);

    if (t->overflow || code == CURLE_FILESIZE_EXCEEDED) {
        ngx_sprintf(reason, "the response exceeds %uz bytes%Z", t->max);
        error = (char *) reason;

    } else if (code != CURLE_OK) {
        ngx_sprintf(reason, "%s%Z",
                    t->error[0] ? t->error : curl_easy_strerror(code));
        error = (char *) reason;
    }

    /*
     * libcurl leaves what OpenSSL queued on a failed handshake: the next
     * TLS handshake of this worker, NGINX's own included, would find it
     * and log it as a stale error.
     */
    ERR_clear_error();

    t->handler(t->data, error ? 0 : (ngx_uint_t) status, t->buf, t->len,
               error);

    ngx_http_stytch_curl_free(t);
}


static void
ngx_http_stytch_curl_free(ngx_http_stytch_transfer_t *t)
{
    if (t->easy) {
        if (ngx_http_stytch_multi) {
            curl_multi_remove_handle(ngx_http_stytch_multi, t->easy);
        }

        curl_easy_cleanup(t->easy);
    }

    if (t->headers) {
        curl_slist_free_all(t->headers);
    }

    if (t->buf) {
        ngx_free(t->buf);
    }

    ngx_free(t);

    ERR_clear_error();
}


static size_t
ngx_http_stytch_curl_write(char *ptr, size_t size, size_t nmemb,
    void *userdata)
{
    ngx_http_stytch_transfer_t  *t = userdata;

    u_char  *p;
    size_t   n, want;

    n = size * nmemb;

    if (n > t->max - t->len) {
        t->overflow = 1;
        return 0;
    }

    if (t->len + n > t->size) {
        want = ngx_max(t->size * 2, t->len + n);
        want = ngx_max(want, 4096);
        want = ngx_min(want, t->max);

        p = ngx_alloc(want, t->log);
        if (p == NULL) {
            return 0;
        }

        if (t->buf) {
            ngx_memcpy(p, t->buf, t->len);
            ngx_free(t->buf);
        }

        t->buf = p;
        t->size = want;
    }

    ngx_memcpy(t->buf + t->len, ptr, n);
    t->len += n;

    return n;
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
        ngx_http_stytch_curl_release(c);

        return 0;
    }

    if (c == NULL) {
        c = ngx_get_connection(s, ngx_http_stytch_curl_log);
        if (c == NULL) {
            return -1;
        }

        c->read->handler = ngx_http_stytch_curl_event;
        c->write->handler = ngx_http_stytch_curl_event;
        c->read->log = ngx_http_stytch_curl_log;
        c->write->log = ngx_http_stytch_curl_log;

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
ngx_http_stytch_curl_release(ngx_connection_t *c)
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
    int                          pending;
    CURLMsg                     *msg;
    CURLcode                     code;
    ngx_http_stytch_transfer_t  *t;

    while ((msg = curl_multi_info_read(ngx_http_stytch_multi, &pending))) {
        if (msg->msg != CURLMSG_DONE) {
            continue;
        }

        t = NULL;
        code = msg->data.result;

        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &t);

        if (t) {
            ngx_http_stytch_curl_done(t, code);
        }
    }
}
