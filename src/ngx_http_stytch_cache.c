
/*
 * Copyright (C) 2026 The ngx_http_stytch_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * ngx_http_stytch_module: the API-result cache.
 *
 * What Stytch answered about a token, in the shared zone (a red-black tree
 * and an LRU queue, made like limit_req's), keyed by SHA-256 of the
 * project, the token and what was asked, never by the token itself; and
 * this worker's parsed copies of recent entries, so that a hit neither
 * takes the zone's lock nor parses JSON.  An entry records when Stytch
 * answered: each reader decides with its own validity whether the answer
 * is still young enough.
 */


#include "ngx_http_stytch.h"


#define NGX_HTTP_STYTCH_MAX_CACHED   8192
#define NGX_HTTP_STYTCH_MEMO_SIZE    1024


typedef struct {
    ngx_http_stytch_keyed_t     keyed;
    ngx_queue_t                 queue;
    time_t                      answered;
    time_t                      expires;     /* no reader goes past it */
    ngx_uint_t                  status;      /* stytch_status_t */
    size_t                      len;
    u_char                      data[1];     /* the identity, serialized */
} ngx_http_stytch_cache_node_t;


typedef struct {
    u_char                      key[NGX_HTTP_STYTCH_KEY_LEN];
    time_t                      answered;
    time_t                      expires;
    stytch_status_t             status;
    stytch_session_t           *session;
    ngx_atomic_uint_t           drops;       /* the zone's, when copied */
} ngx_http_stytch_memo_t;


static ngx_uint_t ngx_http_stytch_cache_fresh(time_t answered,
    time_t expires, stytch_status_t status, time_t valid,
    time_t reject_valid);
static void ngx_http_stytch_cache_free_locked(ngx_slab_pool_t *shpool,
    ngx_http_stytch_shm_t *sh, ngx_http_stytch_cache_node_t *cn);
static ngx_http_stytch_memo_t *ngx_http_stytch_memo_slot(u_char *key);
static void ngx_http_stytch_memo_put(u_char *key,
    ngx_http_stytch_answer_t *answer, time_t expires,
    ngx_atomic_uint_t drops);


static ngx_http_stytch_memo_t  ngx_http_stytch_memo[NGX_HTTP_STYTCH_MEMO_SIZE];


void
ngx_http_stytch_cache_init(ngx_http_stytch_shm_t *sh)
{
    ngx_rbtree_init(&sh->rbtree, &sh->sentinel,
                    ngx_http_stytch_keyed_insert);
    ngx_queue_init(&sh->queue);
}


/*
 * NGX_OK: *answer holds an answer given no longer than valid (or
 * reject_valid, for a refusal) seconds ago; its session is a new reference.
 */

ngx_int_t
ngx_http_stytch_cache_get(ngx_shm_zone_t *shm_zone, u_char *key,
    time_t valid, time_t reject_valid, ngx_http_stytch_answer_t *answer,
    ngx_log_t *log)
{
    u_char                        *copy;
    size_t                         len;
    ngx_slab_pool_t               *shpool;
    stytch_session_t              *session;
    ngx_http_stytch_shm_t         *sh;
    ngx_http_stytch_memo_t        *memo;
    ngx_http_stytch_answer_t       found;
    ngx_http_stytch_cache_node_t  *cn;
    time_t                         expires;
    ngx_atomic_uint_t              drops;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;
    sh = shpool->data;

    memo = ngx_http_stytch_memo_slot(key);

    /* a copy made before an answer was forgotten may be of that answer */
    if (memo->expires > ngx_time() && memo->drops == sh->cache_drops
        && ngx_memcmp(memo->key, key, NGX_HTTP_STYTCH_KEY_LEN) == 0)
    {
        if (!ngx_http_stytch_cache_fresh(memo->answered, memo->expires,
                                         memo->status, valid, reject_valid))
        {
            return NGX_DECLINED;
        }

        answer->status = memo->status;
        answer->answered = memo->answered;
        answer->session = memo->session
                          ? stytch_session_retain(memo->session) : NULL;
        return NGX_OK;
    }

    copy = NULL;
    len = 0;

    ngx_shmtx_lock(&shpool->mutex);

    drops = sh->cache_drops;

    cn = (ngx_http_stytch_cache_node_t *)
             ngx_http_stytch_keyed_find(&sh->rbtree, key);

    if (cn == NULL || cn->expires <= ngx_time()) {
        ngx_shmtx_unlock(&shpool->mutex);
        return NGX_DECLINED;
    }

    ngx_queue_remove(&cn->queue);
    ngx_queue_insert_head(&sh->queue, &cn->queue);

    found.status = (stytch_status_t) cn->status;
    found.answered = cn->answered;
    found.session = NULL;
    expires = cn->expires;

    if (cn->len) {
        copy = ngx_alloc(cn->len, log);
        if (copy) {
            len = cn->len;
            ngx_memcpy(copy, cn->data, len);
        }
    }

    ngx_shmtx_unlock(&shpool->mutex);

    session = NULL;

    if (found.status == STYTCH_OK) {
        if (copy == NULL) {
            return NGX_DECLINED;
        }

        if (stytch_session_deserialize((char *) copy, len, &session)
            != STYTCH_OK)
        {
            ngx_free(copy);
            return NGX_DECLINED;
        }
    }

    if (copy) {
        ngx_free(copy);
    }

    found.session = session;

    ngx_http_stytch_memo_put(key, &found, expires, drops);

    if (!ngx_http_stytch_cache_fresh(found.answered, expires, found.status,
                                     valid, reject_valid))
    {
        if (session) {
            stytch_session_release(session);
        }

        return NGX_DECLINED;
    }

    *answer = found;

    return NGX_OK;
}


/*
 * Forgets the answer of a key (a revoked session's); no worker uses its
 * copies of answers made before without looking at the zone again.
 */

void
ngx_http_stytch_cache_drop(ngx_shm_zone_t *shm_zone, u_char *key)
{
    ngx_slab_pool_t               *shpool;
    ngx_http_stytch_shm_t         *sh;
    ngx_http_stytch_memo_t        *memo;
    ngx_http_stytch_cache_node_t  *cn;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;
    sh = shpool->data;

    ngx_shmtx_lock(&shpool->mutex);

    cn = (ngx_http_stytch_cache_node_t *)
             ngx_http_stytch_keyed_find(&sh->rbtree, key);

    if (cn) {
        ngx_http_stytch_cache_free_locked(shpool, sh, cn);
    }

    sh->cache_drops++;

    ngx_shmtx_unlock(&shpool->mutex);

    memo = ngx_http_stytch_memo_slot(key);

    if (ngx_memcmp(memo->key, key, NGX_HTTP_STYTCH_KEY_LEN) == 0) {
        memo->expires = 0;
    }
}


static ngx_uint_t
ngx_http_stytch_cache_fresh(time_t answered, time_t expires,
    stytch_status_t status, time_t valid, time_t reject_valid)
{
    time_t  now, ttl;

    now = ngx_time();
    ttl = (status == STYTCH_OK) ? valid : reject_valid;

    return now < expires && now < answered + ttl;
}


/* Remembers an answer for ttl seconds; outages are never remembered. */

void
ngx_http_stytch_cache_put(ngx_shm_zone_t *shm_zone, u_char *key,
    ngx_http_stytch_answer_t *answer, time_t ttl)
{
    char                          *data;
    size_t                         len, n;
    time_t                         expires, end;
    ngx_slab_pool_t               *shpool;
    ngx_atomic_uint_t              drops;
    ngx_http_stytch_shm_t         *sh;
    ngx_http_stytch_cache_node_t  *cn;

    data = NULL;
    len = 0;

    switch (stytch_status_action(answer->status)) {

    case STYTCH_ACTION_ALLOW:
        if (answer->session == NULL) {
            return;
        }

        /* never past the session's own end */
        end = stytch_session_expires_at(answer->session);

        if (end && end - answer->answered < ttl) {
            ttl = end - answer->answered;
        }

        if (ttl <= 0) {
            return;
        }

        n = stytch_session_serialize(answer->session, NULL, 0);

        if (n == 0 || n > NGX_HTTP_STYTCH_MAX_CACHED) {
            return;
        }

        data = ngx_alloc(n, ngx_cycle->log);
        if (data == NULL) {
            return;
        }

        len = stytch_session_serialize(answer->session, data, n);

        if (len != n) {
            ngx_free(data);
            return;
        }

        break;

    case STYTCH_ACTION_UNAUTHORIZED:
    case STYTCH_ACTION_FORBIDDEN:
        break;

    default:
        /* the next request may succeed */
        return;
    }

    if (ttl <= 0) {
        if (data) {
            ngx_free(data);
        }
        return;
    }

    expires = answer->answered + ttl;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;
    sh = shpool->data;

    n = offsetof(ngx_http_stytch_cache_node_t, data) + len;

    ngx_shmtx_lock(&shpool->mutex);

    cn = (ngx_http_stytch_cache_node_t *)
             ngx_http_stytch_keyed_find(&sh->rbtree, key);

    if (cn) {
        ngx_http_stytch_cache_free_locked(shpool, sh, cn);
    }

    cn = ngx_slab_alloc_locked(shpool, n);

    /* a full zone loses its least recently used answers */
    while (cn == NULL && ngx_http_stytch_cache_evict_locked(shpool, sh)) {
        cn = ngx_slab_alloc_locked(shpool, n);
    }

    if (cn == NULL) {
        ngx_shmtx_unlock(&shpool->mutex);

        if (data) {
            ngx_free(data);
        }

        return;
    }

    ngx_memcpy(&cn->keyed.node.key, key, sizeof(ngx_rbtree_key_t));
    ngx_memcpy(cn->keyed.key, key, NGX_HTTP_STYTCH_KEY_LEN);
    cn->len = len;
    cn->status = answer->status;
    cn->answered = answer->answered;
    cn->expires = expires;

    if (len) {
        ngx_memcpy(cn->data, data, len);
    }

    /*
     * The tree lives on across reloads, which may load another build of
     * the module at another address: each process inserts with its own.
     */
    sh->rbtree.insert = ngx_http_stytch_keyed_insert;
    ngx_rbtree_insert(&sh->rbtree, &cn->keyed.node);
    ngx_queue_insert_head(&sh->queue, &cn->queue);
    sh->cache_entries++;
    drops = sh->cache_drops;

    ngx_shmtx_unlock(&shpool->mutex);

    ngx_http_stytch_memo_put(key, answer, expires, drops);

    if (data) {
        ngx_free(data);
    }
}


/*
 * Frees the least recently used entry, to make room for another entry or
 * for a document.  0 when the cache is empty.  The zone's mutex is held.
 */

ngx_uint_t
ngx_http_stytch_cache_evict_locked(ngx_slab_pool_t *shpool,
    ngx_http_stytch_shm_t *sh)
{
    ngx_queue_t                   *q;
    ngx_http_stytch_cache_node_t  *cn;

    if (ngx_queue_empty(&sh->queue)) {
        return 0;
    }

    q = ngx_queue_last(&sh->queue);
    cn = ngx_queue_data(q, ngx_http_stytch_cache_node_t, queue);

    ngx_http_stytch_cache_free_locked(shpool, sh, cn);
    sh->cache_evictions++;

    return 1;
}


static void
ngx_http_stytch_cache_free_locked(ngx_slab_pool_t *shpool,
    ngx_http_stytch_shm_t *sh, ngx_http_stytch_cache_node_t *cn)
{
    ngx_queue_remove(&cn->queue);
    ngx_rbtree_delete(&sh->rbtree, &cn->keyed.node);
    ngx_slab_free_locked(shpool, cn);
    sh->cache_entries--;
}


/*
 * The key tree, for the zone's answers and for the flights in a worker
 * alike: ordered by the rbtree key (the key's first bytes), then by the
 * whole key.
 */

void
ngx_http_stytch_keyed_insert(ngx_rbtree_node_t *temp, ngx_rbtree_node_t *node,
    ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t       **p;
    ngx_http_stytch_keyed_t  *k, *kt;

    for ( ;; ) {

        if (node->key < temp->key) {
            p = &temp->left;

        } else if (node->key > temp->key) {
            p = &temp->right;

        } else {
            k = (ngx_http_stytch_keyed_t *) node;
            kt = (ngx_http_stytch_keyed_t *) temp;

            p = (ngx_memcmp(k->key, kt->key, NGX_HTTP_STYTCH_KEY_LEN) < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


ngx_http_stytch_keyed_t *
ngx_http_stytch_keyed_find(ngx_rbtree_t *tree, u_char *key)
{
    ngx_int_t                 rc;
    ngx_rbtree_key_t          k;
    ngx_rbtree_node_t        *node, *sentinel;
    ngx_http_stytch_keyed_t  *keyed;

    ngx_memcpy(&k, key, sizeof(ngx_rbtree_key_t));

    node = tree->root;
    sentinel = tree->sentinel;

    while (node != sentinel) {

        if (k < node->key) {
            node = node->left;
            continue;
        }

        if (k > node->key) {
            node = node->right;
            continue;
        }

        keyed = (ngx_http_stytch_keyed_t *) node;

        rc = ngx_memcmp(key, keyed->key, NGX_HTTP_STYTCH_KEY_LEN);

        if (rc == 0) {
            return keyed;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


static ngx_http_stytch_memo_t *
ngx_http_stytch_memo_slot(u_char *key)
{
    ngx_uint_t  i;

    /* the key is a SHA-256: any of its bytes are uniform */
    i = ((ngx_uint_t) key[0] | (ngx_uint_t) key[1] << 8)
        % NGX_HTTP_STYTCH_MEMO_SIZE;

    return &ngx_http_stytch_memo[i];
}


static void
ngx_http_stytch_memo_put(u_char *key, ngx_http_stytch_answer_t *answer,
    time_t expires, ngx_atomic_uint_t drops)
{
    ngx_http_stytch_memo_t  *memo;

    memo = ngx_http_stytch_memo_slot(key);

    if (memo->session) {
        stytch_session_release(memo->session);
    }

    ngx_memcpy(memo->key, key, NGX_HTTP_STYTCH_KEY_LEN);
    memo->answered = answer->answered;
    memo->expires = expires;
    memo->status = answer->status;
    memo->drops = drops;
    memo->session = answer->session
                    ? stytch_session_retain(answer->session) : NULL;
}


void
ngx_http_stytch_cache_exit(void)
{
    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_STYTCH_MEMO_SIZE; i++) {
        if (ngx_http_stytch_memo[i].session) {
            stytch_session_release(ngx_http_stytch_memo[i].session);
            ngx_http_stytch_memo[i].session = NULL;
        }

        ngx_http_stytch_memo[i].expires = 0;
    }
}
