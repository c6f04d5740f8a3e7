/*
 * Copyright (C) 2026 The ngx_http_stytch_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The C facade of the C++ core: the only header that the NGINX glue
 * includes.  Every function is noexcept: no C++ exception crosses it.
 *
 * The core never calls NGINX and never reads the clock: the caller passes
 * the current time, the configuration and (where useful) a log callback.
 * Objects are opaque and owned by the caller, who frees each with its
 * *_free function (the glue does so from a pool cleanup).
 */

#ifndef STYTCH_CORE_H
#define STYTCH_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif


/*
 * Every outcome of the core.  stytch_status_action() says what the module
 * does with each one; stytch_status_name() gives its stable name, used in
 * $stytch_auth_result-style variables and in logs.
 */
typedef enum {
    STYTCH_OK = 0,

    /* the request carries nothing to check */
    STYTCH_TOKEN_MISSING,

    /* the token is malformed or forged: 401, never worth an API call */
    STYTCH_TOKEN_TOO_LARGE,
    STYTCH_TOKEN_MALFORMED,           /* not three base64url segments */
    STYTCH_JWT_HEADER_INVALID,        /* header is not a JSON object */
    STYTCH_JWT_ALG_NOT_ALLOWED,       /* alg is not RS256 */
    STYTCH_JWT_KID_MISSING,
    STYTCH_JWT_TYP_INVALID,
    STYTCH_JWT_CRIT_PRESENT,
    STYTCH_JWT_PAYLOAD_INVALID,       /* payload is not a JSON object */
    STYTCH_JWT_SIGNATURE_INVALID,
    STYTCH_CLAIM_ISSUER_MISMATCH,
    STYTCH_CLAIM_AUDIENCE_MISMATCH,
    STYTCH_CLAIM_INVALID,             /* exp/nbf/iat missing or mistyped */
    STYTCH_CLAIM_NOT_YET_VALID,       /* nbf in the future */
    STYTCH_SESSION_CLAIM_INVALID,     /* https://stytch.com/session bad */

    /* only the API can tell: fall back to it */
    STYTCH_JWT_EXPIRED,
    STYTCH_JWT_TOO_OLD,               /* older than the maximum token age */
    STYTCH_JWKS_UNKNOWN_KID,
    STYTCH_JWKS_NO_KEYS,              /* no key set loaded yet */

    /* key set and policy documents */
    STYTCH_JWKS_INVALID,              /* not a JWKS document */
    STYTCH_JWKS_NO_USABLE_KEY,        /* a JWKS, but every key was refused */
    STYTCH_POLICY_INVALID,

    /* Stytch API answers (see stytch_api_parse_authenticate) */
    STYTCH_API_RESPONSE_INVALID,      /* 200 with a body that is no answer */
    STYTCH_API_SESSION_NOT_FOUND,     /* the client's token or session */
    STYTCH_API_UNAUTHORIZED,          /* unauthorized_credentials: ours */
    STYTCH_API_FORBIDDEN,             /* 403: authorization check denied */
    STYTCH_API_UNAVAILABLE,           /* 5xx */

    /* authorization */
    STYTCH_PERMISSION_DENIED,
    STYTCH_TENANCY_MISMATCH,

    STYTCH_NO_MEMORY,
    STYTCH_INTERNAL_ERROR,

    /*
     * Added later, here so that the values above keep their numbers (the
     * shared API-result cache stores them).
     */
    STYTCH_TOKEN_KIND_NOT_ALLOWED,    /* M2M token where sessions are taken,
                                         or the reverse: 401 */
    STYTCH_SCOPE_MISSING,             /* M2M token lacks a required scope */
    STYTCH_API_MISCONFIGURED,         /* the API refused our configuration,
                                         or something else answered: 500 */
    STYTCH_API_RATE_LIMITED,          /* 429 */
    STYTCH_API_CALLS_LIMITED,         /* this worker's own bound: 503 */
    STYTCH_IDENTITY_INVALID,          /* sub, session, client or
                                         organization id with a control
                                         character or a line separator:
                                         401 */
    STYTCH_API_TOKEN_INACTIVE,        /* introspection: {"active": false},
                                         or not an access token: 401 */

    STYTCH_STATUS_MAX
} stytch_status_t;


/* What the module does with a status. */
typedef enum {
    STYTCH_ACTION_ALLOW = 0,      /* authenticated */
    STYTCH_ACTION_UNAUTHORIZED,   /* 401 */
    STYTCH_ACTION_FALLBACK,       /* ask the Stytch API */
    STYTCH_ACTION_FORBIDDEN,      /* 403 */
    STYTCH_ACTION_UNAVAILABLE,    /* 503 */
    STYTCH_ACTION_ERROR           /* 500: our own misconfiguration or bug */
} stytch_action_t;


/* "ok", "jwt_expired", "jwks_unknown_kid", ...; never NULL */
const char *stytch_status_name(stytch_status_t status);
stytch_action_t stytch_status_action(stytch_status_t status);


/*
 * Log levels of the callback; the glue maps them onto NGINX's.  Messages
 * carry no prefix (the caller adds its own) and no control byte.
 */
enum {
    STYTCH_LOG_ERR = 0,
    STYTCH_LOG_WARN,
    STYTCH_LOG_INFO,
    STYTCH_LOG_DEBUG
};

typedef void (*stytch_log_pt)(void *ctx, int level, const char *msg,
    size_t len);


/* Size limits on every input. */
#define STYTCH_MAX_TOKEN_SIZE     16384
#define STYTCH_MAX_JWKS_SIZE      (1024 * 1024)
#define STYTCH_MAX_POLICY_SIZE    (1024 * 1024)
#define STYTCH_MAX_RESPONSE_SIZE  (1024 * 1024)


/* ------------------------------------------------------------------------ */
/* Sessions: the identity a JWT or an API answer carries.  Reference
 * counted, because the verifier's cache and a request can share one. */

typedef struct stytch_session_s  stytch_session_t;

typedef enum {
    STYTCH_FIELD_SUBJECT = 0,      /* user_id or member_id */
    STYTCH_FIELD_SESSION_ID,
    STYTCH_FIELD_STARTED_AT,       /* RFC 3339, as Stytch wrote it */
    STYTCH_FIELD_LAST_ACCESSED_AT,
    STYTCH_FIELD_EXPIRES_AT,       /* from exp when the claim lacks it */
    STYTCH_FIELD_ROLES,            /* comma-separated */
    STYTCH_FIELD_ORGANIZATION_ID,  /* B2B only, else empty */
    STYTCH_FIELD_ORGANIZATION_SLUG,
    STYTCH_FIELD_CUSTOM_CLAIMS,    /* JSON object text, "{}" when none */
    STYTCH_FIELD_SESSION_JWT,      /* API answers only: the new JWT */
    STYTCH_FIELD_SESSION_TOKEN,    /* API answers only */
    STYTCH_FIELD_ISSUER,           /* JWTs only: iss, as the token wrote it */
    STYTCH_FIELD_CLIENT_ID,        /* M2M tokens: sub; OAuth access
                                      tokens: client_id; else empty */
    STYTCH_FIELD_SCOPES,           /* M2M and OAuth access tokens: scope,
                                      space-separated */
    /* from authentication_factors, distinct, in order, comma-separated */
    STYTCH_FIELD_FACTOR_TYPES,
    STYTCH_FIELD_DELIVERY_METHODS,
    STYTCH_FIELD_SSO_CONNECTION_IDS,    /* provider_id of SSO factors */
    STYTCH_FIELD_LAST_AUTHENTICATED_AT, /* the latest factor's, as written */
    STYTCH_FIELD_AUTH_FACTORS,     /* the factors as compact JSON, "[]" */
    STYTCH_FIELD_IP_ADDRESS,       /* the session's attributes */
    STYTCH_FIELD_USER_AGENT,
    STYTCH_FIELD_MAX
} stytch_field_t;

stytch_session_t *stytch_session_retain(stytch_session_t *session);
void stytch_session_release(stytch_session_t *session);

/*
 * Never NULL: an absent field is the empty string (len 0).  No value of a
 * field or claim holds a control character (below 0x20, DEL, U+0080 to
 * U+009F) or a line or paragraph separator (U+2028, U+2029), so that each
 * can go into a request header as one line: JSON text is escaped, and a
 * string with such a character is given as the empty string.
 */
const char *stytch_session_field(const stytch_session_t *session,
    stytch_field_t field, size_t *len);

/*
 * A top-level custom claim: a string claim as its value, anything else as
 * compact JSON text.  NULL when the claim is absent or reserved.  (An M2M
 * token's scope is reserved.)
 */
const char *stytch_session_claim(const stytch_session_t *session,
    const char *name, size_t name_len, size_t *len);

/*
 * 1 when the JWT's "aud" (a string or an array of strings) holds
 * audience, else 0 (and for a session that did not come from a JWT).
 */
int stytch_session_has_audience(const stytch_session_t *session,
    const char *audience, size_t len);

/* 1 when roles holds role, else 0 */
int stytch_session_has_role(const stytch_session_t *session,
    const char *role, size_t len);

/*
 * The identity as compact JSON, without session_jwt and session_token, for
 * the shared API-result cache: returns the length needed, and writes the
 * bytes only when size is enough.  0 on failure, and for a session larger
 * than stytch_session_deserialize reads (64 KB).
 */
size_t stytch_session_serialize(const stytch_session_t *session, char *buf,
    size_t size);

/* The inverse; *session gets a new reference. */
stytch_status_t stytch_session_deserialize(const char *buf, size_t len,
    stytch_session_t **session);

/* Seconds since the epoch; 0 when unknown. */
int64_t stytch_session_expires_at(const stytch_session_t *session);
int64_t stytch_session_last_authenticated_at(
    const stytch_session_t *session);
int64_t stytch_session_jwt_exp(const stytch_session_t *session);
int stytch_session_is_b2b(const stytch_session_t *session);

/*
 * 1 for an M2M access token (client-credentials grant): no
 * https://stytch.com/session claim, a string scope claim and no client_id
 * claim.  Its subject and client id are sub, its custom claims the
 * top-level claims other than the registered ones and scope.
 */
int stytch_session_is_m2m(const stytch_session_t *session);

/*
 * The kind of token the session came from: STYTCH_KIND_SESSION (session
 * JWTs and sessions/authenticate answers), STYTCH_KIND_M2M, or
 * STYTCH_KIND_OAUTH (a Connected Apps access token: no session claim, a
 * string scope claim and a client_id claim; or an introspection answer).
 * An OAuth token's subject is sub, the user or member who granted access,
 * its client id the client_id claim, its organization (B2B) that of the
 * https://stytch.com/organization claim.  0 for NULL.
 */
int stytch_session_kind(const stytch_session_t *session);

/*
 * 1 when the session's identity, its subject (user, member or client id),
 * session id, client id and organization id, holds none of the characters
 * that
 * stytch_session_field() never gives: such an identity would reach a
 * header empty, and the caller refuses it (STYTCH_IDENTITY_INVALID).
 */
int stytch_session_identity_safe(const stytch_session_t *session);

/*
 * Whether the session's scopes meet every scope of `required` (space-
 * separated; empty means none), as Stytch's SDKs match them.  M2M tokens:
 * a scope is "action" or "action:resource", and a required
 * "action:resource" is met by that action with that resource or with "*".
 * OAuth access tokens: a required scope is met by the same string.
 * STYTCH_OK or STYTCH_SCOPE_MISSING; a session token has no scopes.
 */
stytch_status_t stytch_scopes_check(const stytch_session_t *session,
    const char *required, size_t len);


/* ------------------------------------------------------------------------ */
/* The verifier: one per Stytch project in each worker.  It holds the parsed
 * key set and a bounded cache of verified tokens (sets of 8, each evicting
 * its least recently used) keyed by SHA-256 of the whole token; a new key
 * set empties the cache. */

typedef struct stytch_verifier_s  stytch_verifier_t;

/* Bytes and their length; need not be NUL-terminated. */
typedef struct {
    const char  *data;
    size_t       len;
} stytch_str_t;

typedef struct {
    const char  *project_id;
    size_t       project_id_len;
    /* the API base URL; without trailing slash it is a second valid iss
     * unless issuers are given */
    const char  *api_url;
    size_t       api_url_len;
    size_t       cache_size;      /* entries, rounded up to whole sets;
                                     0 disables the cache */
    stytch_log_pt  log;           /* may be NULL */
    void        *log_ctx;
    /*
     * The accepted iss values, copied by stytch_verifier_create.  With
     * nissuers 0: "stytch.com/<project_id>" and api_url without trailing
     * slashes, compared with the token's iss as Stytch's SDKs do.
     * Otherwise exactly these, with trailing slashes trimmed on both sides
     * (entries that trim to nothing accept nothing).
     */
    const stytch_str_t  *issuers;
    size_t       nissuers;
} stytch_verifier_conf_t;

/* Kinds of token, for stytch_verify_params_t.kinds. */
enum {
    STYTCH_KIND_SESSION = 1,      /* session JWTs */
    STYTCH_KIND_M2M = 2,          /* M2M access tokens */
    STYTCH_KIND_OAUTH = 4         /* Connected Apps access tokens */
};

typedef struct {
    int64_t      now;             /* seconds since the epoch */
    int64_t      leeway;          /* seconds, >= 0 */
    int64_t      max_token_age;   /* seconds; < 0 means no limit */
    /* STYTCH_KIND_* bits the caller takes; 0 means STYTCH_KIND_SESSION,
     * other bits are ignored.  Another kind is
     * STYTCH_TOKEN_KIND_NOT_ALLOWED, checked right after the signature.
     * max_token_age applies to session JWTs only. */
    unsigned     kinds;
} stytch_verify_params_t;

stytch_verifier_t *stytch_verifier_create(const stytch_verifier_conf_t *conf);
void stytch_verifier_free(stytch_verifier_t *verifier);

/*
 * Parses a JWKS document and, when at least one key is usable, makes it the
 * verifier's key set; otherwise the old set stays.  Refused keys are logged
 * through the callback.  *nkeys (may be NULL) gets the usable key count.
 */
stytch_status_t stytch_verifier_set_jwks(stytch_verifier_t *verifier,
    const char *json, size_t len, size_t *nkeys);

int stytch_verifier_has_keys(const stytch_verifier_t *verifier);

/*
 * Verifies a compact JWS.  On STYTCH_OK, *session gets a new reference that
 * the caller releases, and *cached (may be NULL) says whether the token was
 * found in the cache.
 *
 * Failures before and at the signature (size, segments, header, alg, kid,
 * signature, payload not a JSON object) are UNAUTHORIZED, or FALLBACK for
 * an unknown kid and no keys: nobody's token, never worth an API call.
 * Every failure after it (iss, aud, time claims, nbf or iat in the future,
 * session claim, exp, maximum age) is of a token Stytch signed and falls
 * back to the API as Stytch's SDKs do; *session is then set too, with what
 * the payload holds (STYTCH_FIELD_ISSUER names an unaccepted issuer), so
 * that the caller can log who it was.  It must not be trusted.
 */
stytch_status_t stytch_verifier_verify(stytch_verifier_t *verifier,
    const char *token, size_t len, const stytch_verify_params_t *params,
    stytch_session_t **session, int *cached);

/*
 * The RS256 signature checks the verifier has made since it was created:
 * tokens that reached the signature step, valid or not.  A cache hit, and
 * a token refused or sent to the API before that step, make none.
 */
uint64_t stytch_verifier_signature_checks(const stytch_verifier_t *verifier);


/* ------------------------------------------------------------------------ */
/* Stytch API answers. */

typedef struct {
    int          status_code;
    char         error_type[64];
    char         error_message[256];
} stytch_api_error_t;

/*
 * Parses the body of POST /v1[/b2b]/sessions/authenticate given its HTTP
 * status.  200 gives STYTCH_OK and a session (with session_jwt and
 * session_token), or STYTCH_API_RESPONSE_INVALID.  Other answers are
 * mapped as stytch_api_parse_error maps them.
 */
stytch_status_t stytch_api_parse_authenticate(int http_status,
    const char *body, size_t len, stytch_session_t **session,
    stytch_api_error_t *error);

/*
 * What an answer of Stytch's API other than a success means, for any
 * endpoint (the refresh timer's key set and policies too).  *error (may be
 * NULL) is zeroed, then gets the status and, from a Stytch error body
 * ({"error_type", "error_message"} or the OAuth2 form {"error",
 * "error_description"}), its type and message with control bytes replaced.
 *   200: STYTCH_OK.
 *   429: STYTCH_API_RATE_LIMITED; 5xx: STYTCH_API_UNAVAILABLE.
 *   A body that is no Stytch error (a CDN's page, JSON without an
 *   error_type, an oversized body): STYTCH_API_MISCONFIGURED.
 *   By error_type: unauthorized_credentials STYTCH_API_UNAUTHORIZED; the
 *   project's own misconfigurations (use_https, unauthorized_project_id_*,
 *   invalid_b2b_endpoint, invalid_consumer_endpoint, route_not_found,
 *   invalid_request_body, too_many_session_arguments, ...)
 *   STYTCH_API_MISCONFIGURED; the client's token or session
 *   (session_not_found, invalid_session_token, unable_to_parse_session_jwt,
 *   jwt_invalid_*, ...) STYTCH_API_SESSION_NOT_FOUND; authorization denials
 *   STYTCH_API_FORBIDDEN; too_many_requests STYTCH_API_RATE_LIMITED.
 *   Another error_type by status: 403 STYTCH_API_FORBIDDEN, other 4xx
 *   STYTCH_API_SESSION_NOT_FOUND, else STYTCH_API_RESPONSE_INVALID.
 */
stytch_status_t stytch_api_parse_error(int http_status, const char *body,
    size_t len, stytch_api_error_t *error);

/*
 * For an error that is the project's misconfiguration (a status whose
 * action is STYTCH_ACTION_ERROR), the module directive(s) to check, to be
 * quoted: "stytch_b2b", or "stytch_project_id\" and \"stytch_secret";
 * NULL otherwise.
 */
const char *stytch_api_error_directive(const stytch_api_error_t *error);

/*
 * Parses the body of an RFC 7662 introspection answer of Stytch's
 * Connected Apps (POST .../oauth2/introspect) given its HTTP status.
 * 200 with "active": true gives STYTCH_OK and a session of kind
 * STYTCH_KIND_OAUTH: subject sub, client id client_id (both non-empty
 * strings), scopes scope (a string), expiry exp (an integer), iat and nbf
 * (integers when present), iss, aud (a string or an array of strings),
 * organization from https://stytch.com/organization (B2B), custom claims
 * the other members but request_id, status_code, active and token_type.
 * No string may be longer than STYTCH_MAX_TOKEN_SIZE (what no token
 * could carry).  "active": false, or a token_type other than
 * "access_token" (a refresh token), is STYTCH_API_TOKEN_INACTIVE; an
 * identity that fails stytch_session_identity_safe()
 * STYTCH_IDENTITY_INVALID; any other 200 STYTCH_API_RESPONSE_INVALID.
 * Only STYTCH_OK sets *session.  Other statuses are mapped as
 * stytch_api_parse_error maps them.
 */
stytch_status_t stytch_api_parse_introspection(int http_status,
    const char *body, size_t len, stytch_session_t **session,
    stytch_api_error_t *error);

/*
 * SHA-256 of what a fetched document (a key set, a policy) says, without
 * the members that change with every answer (request_id, status_code):
 * two fetches of the same keys give the same digest.
 * STYTCH_API_RESPONSE_INVALID when the text is no JSON object.
 */
#define STYTCH_DOC_DIGEST_SIZE  32

stytch_status_t stytch_doc_digest(const char *json, size_t len,
    unsigned char digest[STYTCH_DOC_DIGEST_SIZE]);


/* ------------------------------------------------------------------------ */
/* RBAC. */

typedef struct stytch_policy_s  stytch_policy_t;

/* GET /v1/rbac/policy or /v1/b2b/rbac/policy */
stytch_policy_t *stytch_policy_parse(const char *json, size_t len,
    stytch_status_t *status);

/* Appends the roles of GET /v1/b2b/rbac/organizations/{id} */
stytch_status_t stytch_policy_add_org(stytch_policy_t *policy,
    const char *json, size_t len);

void stytch_policy_free(stytch_policy_t *policy);

/*
 * STYTCH_OK when one of the session's roles grants action on resource;
 * for organization_id non-NULL (B2B), the session's organization must be
 * that one first (STYTCH_TENANCY_MISMATCH).  An OAuth access token has no
 * roles: its scopes grant, through the project policy's "scopes" (each
 * scope of the token, compared exactly, gives the permissions of the
 * policy scope of that name).  M2M tokens are granted nothing.
 */
stytch_status_t stytch_policy_check(const stytch_policy_t *policy,
    const stytch_session_t *session, const char *resource,
    size_t resource_len, const char *action, size_t action_len,
    const char *organization_id, size_t organization_id_len);


#ifdef __cplusplus
}
#endif

#endif /* STYTCH_CORE_H */
