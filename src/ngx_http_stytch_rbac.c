
/*
 * ngx_http_stytch_module: authorization.
 *
 * After a request is authenticated: the organization it must belong to
 * (B2B), the stytch_require rules, and the RBAC permissions of Stytch's
 * policy, evaluated as the Stytch SDKs do.  The policy is fetched by the
 * refresh timer into the zone and parsed once per worker; until it is
 * there, each permission is asked of the API as an authorization_check.
 */


#include "ngx_http_stytch_module.h"


static ngx_int_t ngx_http_stytch_api_check(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx,
    ngx_uint_t i, ngx_str_t *resource, ngx_str_t *action, ngx_str_t *org);
static ngx_uint_t ngx_http_stytch_is_id(ngx_str_t *s, ngx_uint_t wildcard);
static stytch_policy_t *ngx_http_stytch_org_policy(
    ngx_http_stytch_project_t *project, ngx_shm_zone_t *shm_zone,
    ngx_str_t *org_id);
static u_char *ngx_http_stytch_copy_doc(ngx_http_stytch_shm_doc_t *doc,
    size_t *len, ngx_log_t *log);


/*
 * NGX_OK: allowed.  NGX_AGAIN: the API is asked.  NGX_DECLINED: denied,
 * ctx->status says why (the caller answers).  NGX_ERROR: failure.
 */

ngx_int_t
ngx_http_stytch_authorize(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx,
    ngx_uint_t *status)
{
    size_t                         len;
    ngx_str_t                      org, resource, action, value, *porg;
    ngx_uint_t                     i, j;
    const char                    *session_org;
    stytch_status_t                rc;
    stytch_policy_t               *policy;
    ngx_http_complex_value_t      *cv;
    ngx_http_stytch_rule_t        *rule;
    ngx_http_stytch_permission_t  *perm;
    ngx_http_stytch_main_conf_t   *smcf;

    *status = NGX_HTTP_FORBIDDEN;

    if (ctx->session == NULL) {
        /* an accepted request always has its session: never allow blind */
        return NGX_ERROR;
    }

    if (ctx->authorized_for != slcf) {
        /* permissions granted for another location do not count here */
        ctx->authorized_for = slcf;
        ctx->verified = 0;
    }

    session_org = stytch_session_field(ctx->session,
                                       STYTCH_FIELD_ORGANIZATION_ID, &len);

    ngx_str_null(&org);
    porg = NULL;

    if (slcf->organization) {
        if (ngx_http_complex_value(r, slcf->organization, &org) != NGX_OK) {
            return NGX_ERROR;
        }

        /* the tenancy check comes first, as in the SDKs */
        if (org.len == 0 || org.len != len
            || ngx_strncmp(org.data, session_org, len) != 0)
        {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "stytch: the session's organization is not "
                          "\"%V\"", &org);
            ctx->status = STYTCH_TENANCY_MISMATCH;
            return NGX_DECLINED;
        }

        porg = &org;

    } else if (stytch_session_is_b2b(ctx->session)) {
        org.data = (u_char *) session_org;
        org.len = len;
    }

    if (slcf->rules) {
        rule = slcf->rules->elts;

        for (i = 0; i < slcf->rules->nelts; i++) {
            cv = rule[i].values->elts;

            for (j = 0; j < rule[i].values->nelts; j++) {
                if (ngx_http_complex_value(r, &cv[j], &value) != NGX_OK) {
                    return NGX_ERROR;
                }

                if (value.len == 0
                    || (value.len == 1 && value.data[0] == '0'))
                {
                    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                                  "stytch: \"stytch_require\" \"%V\" is "
                                  "not satisfied", &cv[j].value);
                    ctx->status = STYTCH_PERMISSION_DENIED;
                    *status = rule[i].status;
                    return NGX_DECLINED;
                }
            }
        }
    }

    if (slcf->permissions == NULL) {
        return NGX_OK;
    }

    smcf = ngx_http_get_module_main_conf(r, ngx_http_stytch_module);

    policy = NULL;
    perm = slcf->permissions->elts;

    for (i = 0; i < slcf->permissions->nelts; i++) {

        if (ctx->verified & ((uint32_t) 1 << i)) {
            continue;
        }

        if (ngx_http_complex_value(r, &perm[i].resource, &resource) != NGX_OK
            || ngx_http_complex_value(r, &perm[i].action, &action) != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (policy == NULL) {
            policy = ngx_http_stytch_policy(ctx->project, smcf->shm_zone,
                                            org.len ? &org : NULL);
        }

        if (policy == NULL) {
            /* no policy yet: the API decides, never a silent allow */
            return ngx_http_stytch_api_check(r, slcf, ctx, i, &resource,
                                             &action, org.len ? &org : NULL);
        }

        rc = stytch_policy_check(policy, ctx->session,
                                 (char *) resource.data, resource.len,
                                 (char *) action.data, action.len,
                                 porg ? (char *) porg->data : NULL,
                                 porg ? porg->len : 0);

        if (rc != STYTCH_OK) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "stytch: no role grants \"%V\" on \"%V\": %s",
                          &action, &resource, stytch_status_name(rc));
            ctx->status = rc;
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_stytch_api_check(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_ctx_t *ctx,
    ngx_uint_t i, ngx_str_t *resource, ngx_str_t *action, ngx_str_t *org)
{
    u_char     *p;
    size_t      len;
    ngx_int_t   rc;

    if (!slcf->fallback || ctx->token.len == 0) {
        ctx->status = STYTCH_POLICY_INVALID;
        return NGX_DECLINED;
    }

    /* the values go into a JSON body: Stytch's ids, nothing else */
    if (!ngx_http_stytch_is_id(resource, 0) || !ngx_http_stytch_is_id(action, 1)
        || (org && !ngx_http_stytch_is_id(org, 0)))
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "stytch: the permission \"%V\" on \"%V\" is not a "
                      "Stytch action and resource", action, resource);
        ctx->status = STYTCH_PERMISSION_DENIED;
        return NGX_DECLINED;
    }

    len = sizeof(",\"authorization_check\":{\"resource_id\":\"\","
                 "\"action\":\"\",\"organization_id\":\"\"}") - 1
          + resource->len + action->len + (org ? org->len : 0);

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->check.data = p;

    p = ngx_sprintf(p, ",\"authorization_check\":{\"resource_id\":\"%V\","
                    "\"action\":\"%V\"", resource, action);

    if (org) {
        p = ngx_sprintf(p, ",\"organization_id\":\"%V\"", org);
    }

    *p++ = '}';

    ctx->check.len = p - ctx->check.data;
    ctx->checking = i;
    ctx->done = 0;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "stytch: no RBAC policy yet, asking the API about \"%V\" "
                  "on \"%V\"", action, resource);

    rc = ngx_http_stytch_api(r, slcf, ctx);

    if (rc == NGX_OK) {
        /* answered from the cache: the caller decides on ctx->status */
        return NGX_DONE;
    }

    return rc;
}


static ngx_uint_t
ngx_http_stytch_is_id(ngx_str_t *s, ngx_uint_t wildcard)
{
    u_char  *p;

    if (s->len == 0 || s->len > 256) {
        return 0;
    }

    for (p = s->data; p < s->data + s->len; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'
              || *p == '.' || *p == ':' || (wildcard && *p == '*')))
        {
            return 0;
        }
    }

    return 1;
}


/*
 * The policy for a check: the project's, plus the organization's roles for
 * B2B.  NULL while the zone has none yet (the fetch is asked for).
 */

stytch_policy_t *
ngx_http_stytch_policy(ngx_http_stytch_project_t *project,
    ngx_shm_zone_t *shm_zone, ngx_str_t *org_id)
{
    u_char                     *bytes;
    size_t                      len;
    ngx_uint_t                  generation;
    stytch_status_t             rc;
    stytch_policy_t            *policy;
    ngx_slab_pool_t            *shpool;
    ngx_http_stytch_shm_doc_t  *sd;

    sd = &project->shm->docs[NGX_HTTP_STYTCH_DOC_POLICY];

    if (sd->generation == 0) {
        ngx_http_stytch_want_refresh(project, NGX_HTTP_STYTCH_DOC_POLICY);
        return NULL;
    }

    if (project->policy_generation != sd->generation) {
        shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

        ngx_shmtx_lock(&shpool->mutex);
        generation = sd->generation;
        bytes = ngx_http_stytch_copy_doc(sd, &len, project->log);
        ngx_shmtx_unlock(&shpool->mutex);

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

    return ngx_http_stytch_org_policy(project, shm_zone, org_id);
}


static stytch_policy_t *
ngx_http_stytch_org_policy(ngx_http_stytch_project_t *project,
    ngx_shm_zone_t *shm_zone, ngx_str_t *org_id)
{
    u_char                        *bytes;
    size_t                         len;
    time_t                         oldest;
    ngx_uint_t                     i, slot, epoch, generation;
    stytch_status_t                rc;
    stytch_policy_t               *policy;
    ngx_slab_pool_t               *shpool;
    ngx_http_stytch_shm_doc_t     *sd, *docs;
    ngx_http_stytch_org_policy_t  *op;

    if (org_id->len > NGX_HTTP_STYTCH_ORG_ID_LEN
        || !ngx_http_stytch_is_id(org_id, 0))
    {
        return NULL;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;
    docs = &project->shm->docs[NGX_HTTP_STYTCH_DOC_ORG];

    ngx_shmtx_lock(&shpool->mutex);

    slot = NGX_HTTP_STYTCH_MAX_ORGS;

    for (i = 0; i < NGX_HTTP_STYTCH_MAX_ORGS; i++) {
        if (docs[i].org_id_len == org_id->len
            && ngx_memcmp(docs[i].org_id, org_id->data, org_id->len) == 0)
        {
            slot = i;
            break;
        }
    }

    if (slot == NGX_HTTP_STYTCH_MAX_ORGS) {
        /* a new organization takes a free slot or the least used one */

        oldest = NGX_MAX_TIME_T_VALUE;

        for (i = 0; i < NGX_HTTP_STYTCH_MAX_ORGS; i++) {
            if (docs[i].org_id_len == 0) {
                slot = i;
                break;
            }

            if (docs[i].used < oldest && docs[i].lease_pid == 0) {
                oldest = docs[i].used;
                slot = i;
            }
        }

        if (slot == NGX_HTTP_STYTCH_MAX_ORGS) {
            ngx_shmtx_unlock(&shpool->mutex);
            return NULL;
        }

        sd = &docs[slot];
        epoch = sd->epoch + 1;

        if (sd->data) {
            ngx_slab_free_locked(shpool, sd->data);
        }

        ngx_memzero(sd, sizeof(ngx_http_stytch_shm_doc_t));
        sd->epoch = epoch;
        sd->used = ngx_time();
        sd->org_id_len = org_id->len;
        ngx_memcpy(sd->org_id, org_id->data, org_id->len);

        ngx_shmtx_unlock(&shpool->mutex);

        ngx_http_stytch_want_refresh(project, NGX_HTTP_STYTCH_DOC_ORG + slot);

        return NULL;
    }

    sd = &docs[slot];
    sd->used = ngx_time();
    epoch = sd->epoch;
    generation = sd->generation;

    if (generation == 0) {
        ngx_shmtx_unlock(&shpool->mutex);
        return NULL;
    }

    op = &project->orgs[slot];

    if (op->policy && op->epoch == epoch && op->generation == generation
        && op->project_generation == project->policy_generation)
    {
        ngx_shmtx_unlock(&shpool->mutex);
        return op->policy;
    }

    bytes = ngx_http_stytch_copy_doc(sd, &len, project->log);

    ngx_shmtx_unlock(&shpool->mutex);

    if (bytes == NULL) {
        return NULL;
    }

    policy = stytch_policy_parse((char *) project->policy_bytes.data,
                                 project->policy_bytes.len, &rc);

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


static u_char *
ngx_http_stytch_copy_doc(ngx_http_stytch_shm_doc_t *doc, size_t *len,
    ngx_log_t *log)
{
    u_char  *copy;

    if (doc->data == NULL) {
        return NULL;
    }

    copy = ngx_alloc(doc->len ? doc->len : 1, log);
    if (copy == NULL) {
        return NULL;
    }

    ngx_memcpy(copy, doc->data, doc->len);
    *len = doc->len;

    return copy;
}
