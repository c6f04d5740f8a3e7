
/*
 * Copyright (C) 2026 The ngx_http_stytch_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * ngx_http_stytch_module: authorization.
 *
 * After a request is authenticated: the organization it must belong to
 * (B2B), the stytch_require rules, and the RBAC permissions of Stytch's
 * policy, evaluated as the Stytch SDKs do.  The policy is fetched by the
 * refresh timer into the zone and parsed once per worker; until it is
 * there, a permission can only be asked of the API: this file then says
 * what to ask, and the handler asks.  It returns a verdict and changes
 * nothing of the request.
 */


#include "ngx_http_stytch.h"


static ngx_uint_t ngx_http_stytch_true(ngx_str_t *value);
static ngx_int_t ngx_http_stytch_scopes(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, stytch_session_t *session,
    ngx_http_stytch_verdict_t *verdict);
static ngx_int_t ngx_http_stytch_check(ngx_http_request_t *r,
    ngx_str_t *resource, ngx_str_t *action, ngx_str_t *org,
    ngx_str_t *check);
static ngx_uint_t ngx_http_stytch_is_id(ngx_str_t *s, ngx_uint_t wildcard);


/*
 * The permissions in verified were granted by the API already; can_ask
 * says whether the request has a token the API can be asked about.
 *
 *   NGX_OK        allowed;
 *   NGX_DECLINED  denied: verdict->status says why, verdict->deny is the
 *                 HTTP status and verdict->scope the scopes missing;
 *   NGX_AGAIN     the permission verdict->checking must be asked of the
 *                 API with the authorization_check verdict->check; when
 *                 the policy denied it, verdict->local says why;
 *   NGX_ERROR     failure.
 */

ngx_int_t
ngx_http_stytch_authorize(ngx_http_request_t *r,
    ngx_http_stytch_loc_conf_t *slcf, ngx_http_stytch_project_t *project,
    stytch_session_t *session, uint32_t verified, ngx_uint_t can_ask,
    ngx_http_stytch_verdict_t *verdict)
{
    size_t                         len;
    ngx_int_t                      asked, rc;
    ngx_str_t                      org, resource, action, value, *porg;
    ngx_uint_t                     i, j;
    const char                    *session_org;
    stytch_status_t                status;
    stytch_policy_t               *policy;
    ngx_http_complex_value_t      *cv;
    ngx_http_stytch_rule_t        *rule;
    ngx_http_stytch_permission_t  *perm;

    ngx_memzero(verdict, sizeof(ngx_http_stytch_verdict_t));
    verdict->status = STYTCH_PERMISSION_DENIED;
    verdict->deny = NGX_HTTP_FORBIDDEN;
    verdict->checking = -1;
    verdict->local = STYTCH_OK;

    if (session == NULL) {
        /* an accepted request always has its session: never allow blind */
        return NGX_ERROR;
    }

    session_org = stytch_session_field(session,
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
            verdict->status = STYTCH_TENANCY_MISMATCH;
            return NGX_DECLINED;
        }

        porg = &org;

    } else if (stytch_session_is_b2b(session)) {
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

                if (!ngx_http_stytch_true(&value)) {
                    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                                  "stytch: \"stytch_require\" \"%V\" is "
                                  "not satisfied", &cv[j].value);
                    verdict->status = STYTCH_PERMISSION_DENIED;
                    verdict->deny = rule[i].status;
                    return NGX_DECLINED;
                }
            }
        }
    }

    if (slcf->scopes) {
        rc = ngx_http_stytch_scopes(r, slcf, session, verdict);

        if (rc != NGX_OK) {
            return rc;
        }
    }

    if (slcf->permissions == NULL) {
        return NGX_OK;
    }

    /*
     * A Connected Apps token has no roles either: the policy's scopes
     * grant it permissions, and the handler never lets it ask the API.
     */

    if (stytch_session_is_m2m(session)) {
        /* no role to grant it anything, and no session for the API */
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "stytch: an M2M token has no roles for "
                      "\"stytch_require_permission\"");
        verdict->status = STYTCH_PERMISSION_DENIED;
        return NGX_DECLINED;
    }

    policy = NULL;
    perm = slcf->permissions->elts;

    for (i = 0; i < slcf->permissions->nelts; i++) {

        if (verified & ((uint32_t) 1 << i)) {
            continue;
        }

        if (ngx_http_complex_value(r, &perm[i].resource, &resource) != NGX_OK
            || ngx_http_complex_value(r, &perm[i].action, &action) != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (policy == NULL) {
            policy = ngx_http_stytch_project_policy(project,
                                                    org.len ? &org : NULL);
        }

        if (policy == NULL) {
            /* no policy yet: the API decides, never a silent allow */

            if (!slcf->fallback || !can_ask) {
                verdict->status = STYTCH_POLICY_INVALID;
                return NGX_DECLINED;
            }

            asked = ngx_http_stytch_check(r, &resource, &action,
                                          org.len ? &org : NULL,
                                          &verdict->check);

            if (asked == NGX_DECLINED) {
                verdict->status = STYTCH_PERMISSION_DENIED;
            }

            if (asked == NGX_AGAIN) {
                verdict->checking = i;
                ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                              "stytch: no RBAC policy yet, asking the API "
                              "about \"%V\" on \"%V\"", &action, &resource);
            }

            return asked;
        }

        status = stytch_policy_check(policy, session,
                                     (char *) resource.data, resource.len,
                                     (char *) action.data, action.len,
                                     porg ? (char *) porg->data : NULL,
                                     porg ? porg->len : 0);

        if (status == STYTCH_OK) {
            continue;
        }

        verdict->status = status;

        if (!slcf->fallback || slcf->rbac_local_final || !can_ask) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "stytch: no role grants \"%V\" on \"%V\": %s",
                          &action, &resource, stytch_status_name(status));
            return NGX_DECLINED;
        }

        /*
         * As the SDKs' authenticateJwt does: the token's roles may be
         * older than the session's, so the API, with the live roles and
         * policy, decides a local denial.
         */

        asked = ngx_http_stytch_check(r, &resource, &action,
                                      org.len ? &org : NULL, &verdict->check);

        if (asked == NGX_AGAIN) {
            verdict->checking = i;
            verdict->local = status;
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "stytch: no role of the token grants \"%V\" on "
                          "\"%V\": %s, asking the API", &action, &resource,
                          stytch_status_name(status));
        }

        return asked;
    }

    return NGX_OK;
}


/*
 * stytch_require_scope: every scope (a value may hold several, separated
 * by spaces) must be granted, as Stytch's m2m.authenticateToken matches
 * required_scopes (a Connected Apps token's scopes match exactly).
 * verdict->scope gets the scopes asked for, for the 403's challenge: only
 * those made of RFC 6750's scope characters.
 */

static ngx_int_t
ngx_http_stytch_scopes(ngx_http_request_t *r, ngx_http_stytch_loc_conf_t *slcf,
    stytch_session_t *session, ngx_http_stytch_verdict_t *verdict)
{
    u_char                    *p, *q, *start, *last;
    size_t                     len;
    ngx_str_t                 *values;
    ngx_uint_t                 i, missing, valid;
    ngx_http_complex_value_t  *cv;

    cv = slcf->scopes->elts;

    values = ngx_palloc(r->pool, slcf->scopes->nelts * sizeof(ngx_str_t));
    if (values == NULL) {
        return NGX_ERROR;
    }

    len = 0;

    for (i = 0; i < slcf->scopes->nelts; i++) {
        if (ngx_http_complex_value(r, &cv[i], &values[i]) != NGX_OK) {
            return NGX_ERROR;
        }

        for (p = values[i].data; p < values[i].data + values[i].len; p++) {
            if (*p != ' ') {
                break;
            }
        }

        if (p == values[i].data + values[i].len) {
            /*
             * A value that names no scope would require nothing: the
             * configuration asks for a scope it cannot say, so nothing is
             * allowed (500), and the operator is told which value.
             */
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "stytch: \"stytch_require_scope\" \"%V\" is "
                          "empty: the request is refused",
                          &cv[i].value);
            verdict->status = STYTCH_INTERNAL_ERROR;
            return NGX_DECLINED;
        }

        len += values[i].len + 1;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    verdict->scope.data = p;
    missing = 0;

    for (i = 0; i < slcf->scopes->nelts; i++) {
        start = values[i].data;
        last = start + values[i].len;

        while (start < last) {
            while (start < last && *start == ' ') {
                start++;
            }

            q = start;
            valid = 1;

            while (q < last && *q != ' ') {
                if (*q < 0x21 || *q > 0x7e || *q == '"' || *q == '\\') {
                    valid = 0;
                }

                q++;
            }

            if (q == start) {
                break;
            }

            if (!valid
                || stytch_scopes_check(session, (char *) start,
                                       q - start)
                   != STYTCH_OK)
            {
                missing = 1;
            }

            if (valid) {
                if (p != verdict->scope.data) {
                    *p++ = ' ';
                }

                p = ngx_cpymem(p, start, q - start);
            }

            start = q;
        }
    }

    verdict->scope.len = p - verdict->scope.data;

    if (missing) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "stytch: the token lacks a scope of \"%V\"",
                      &verdict->scope);
        verdict->status = STYTCH_SCOPE_MISSING;
        return NGX_DECLINED;
    }

    ngx_str_null(&verdict->scope);

    return NGX_OK;
}


/*
 * A stytch_require value fails when it is empty or "0", as NGINX Plus's
 * auth_jwt_require has it, and when it is JSON's false, null, [] or {}
 * (what $stytch_claim_NAME gives for such claims).
 */

static ngx_uint_t
ngx_http_stytch_true(ngx_str_t *value)
{
    static ngx_str_t  falsy[] = {
        ngx_string("0"), ngx_string("false"), ngx_string("null"),
        ngx_string("[]"), ngx_string("{}")
    };

    ngx_uint_t  i;

    if (value->len == 0) {
        return 0;
    }

    for (i = 0; i < sizeof(falsy) / sizeof(falsy[0]); i++) {
        if (value->len == falsy[i].len
            && ngx_strncmp(value->data, falsy[i].data, value->len) == 0)
        {
            return 0;
        }
    }

    return 1;
}


/* The authorization_check for a permission, as Stytch's API takes it. */

static ngx_int_t
ngx_http_stytch_check(ngx_http_request_t *r, ngx_str_t *resource,
    ngx_str_t *action, ngx_str_t *org, ngx_str_t *check)
{
    u_char  *p;
    size_t   len;

    /* the values go into a JSON body: Stytch's ids, nothing else */
    if (!ngx_http_stytch_is_id(resource, 0) || !ngx_http_stytch_is_id(action, 1)
        || (org && !ngx_http_stytch_is_id(org, 0)))
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "stytch: the permission \"%V\" on \"%V\" is not a "
                      "Stytch action and resource", action, resource);
        return NGX_DECLINED;
    }

    len = sizeof(",\"authorization_check\":{\"resource_id\":\"\","
                 "\"action\":\"\",\"organization_id\":\"\"}") - 1
          + resource->len + action->len + (org ? org->len : 0);

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    check->data = p;

    p = ngx_sprintf(p, ",\"authorization_check\":{\"resource_id\":\"%V\","
                    "\"action\":\"%V\"", resource, action);

    if (org) {
        p = ngx_sprintf(p, ",\"organization_id\":\"%V\"", org);
    }

    *p++ = '}';

    check->len = p - check->data;

    return NGX_AGAIN;
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
