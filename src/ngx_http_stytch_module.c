
/*
 * Copyright (C) 2026 The ngx_http_stytch_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * ngx_http_stytch_module: the module.
 *
 * Its directives, the creation and merging of its configuration (the
 * projects are built by ngx_http_stytch_project.c, the locations checked
 * by ngx_http_stytch_locations.c), and its life cycle: the handlers and
 * filters put in place, the zone, and each worker's start and exit.
 */


#include "ngx_http_stytch.h"


static void *ngx_http_stytch_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_stytch_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_stytch_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_stytch_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_stytch_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_stytch_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_stytch_init_process(ngx_cycle_t *cycle);
static void ngx_http_stytch_exit_process(ngx_cycle_t *cycle);

static char *ngx_http_stytch_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_stytch_secret_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_stytch_api_url(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_stytch_issuer(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_stytch_resource(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_stytch_oauth_client(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_stytch_read_secret(ngx_conf_t *cf, ngx_str_t *directive,
    ngx_str_t *file, ngx_str_t *secret);
static ngx_uint_t ngx_http_stytch_blank(ngx_str_t *value);
static void ngx_http_stytch_scope_parts(ngx_conf_t *cf, ngx_str_t *value);
static char *ngx_http_stytch_require_scope(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_stytch_session_duration(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_stytch_api_rate(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_stytch_parse_rate(ngx_conf_t *cf, ngx_str_t *text,
    ngx_uint_t *result);
static char *ngx_http_stytch_max_token_age(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_stytch_token_source(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_stytch_unavailable_status(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_stytch_check_project_id(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_stytch_check_realm(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_stytch_check_jwt_cache(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_stytch_api_cache_valid(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_stytch_require_permission(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_stytch_require(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_stytch_check_api_location(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_stytch_check_cookie_part(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_stytch_check_cookie_attributes(ngx_conf_t *cf,
    void *post, void *data);
static ngx_int_t ngx_http_stytch_basic_auth(ngx_conf_t *cf,
    ngx_http_stytch_loc_conf_t *slcf);
static char *ngx_http_stytch_check_trusted_certificate(ngx_conf_t *cf,
    ngx_str_t *file);
static ngx_int_t ngx_http_stytch_check_logout(ngx_conf_t *cf,
    ngx_http_stytch_main_conf_t *smcf, ngx_http_stytch_loc_conf_t *slcf);


static ngx_conf_enum_t  ngx_http_stytch_auth_modes[] = {
    { ngx_string("off"), NGX_HTTP_STYTCH_AUTH_OFF },
    { ngx_string("on"), NGX_HTTP_STYTCH_AUTH_ON },
    { ngx_string("strict"), NGX_HTTP_STYTCH_AUTH_STRICT },
    { ngx_string("report"), NGX_HTTP_STYTCH_AUTH_REPORT },
    { ngx_string("m2m"), NGX_HTTP_STYTCH_AUTH_M2M },
    { ngx_string("oauth"), NGX_HTTP_STYTCH_AUTH_OAUTH },
    { ngx_null_string, 0 }
};


static char *ngx_http_stytch_auth(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


static ngx_conf_num_bounds_t  ngx_http_stytch_organizations_bounds = {
    ngx_conf_check_num_bounds, 1, NGX_HTTP_STYTCH_MAX_ORGS
};

static ngx_conf_post_handler_pt  ngx_http_stytch_project_id_post =
    ngx_http_stytch_check_project_id;

static ngx_conf_post_handler_pt  ngx_http_stytch_realm_post =
    ngx_http_stytch_check_realm;

static ngx_conf_post_handler_pt  ngx_http_stytch_jwt_cache_post =
    ngx_http_stytch_check_jwt_cache;

static ngx_conf_post_handler_pt  ngx_http_stytch_api_location_post =
    ngx_http_stytch_check_api_location;

static ngx_conf_post_handler_pt  ngx_http_stytch_cookie_attributes_post =
    ngx_http_stytch_check_cookie_attributes;
static ngx_conf_post_handler_pt  ngx_http_stytch_cookie_part_post =
    ngx_http_stytch_check_cookie_part;


static ngx_command_t  ngx_http_stytch_commands[] = {

    { ngx_string("stytch_auth"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_stytch_auth,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_stytch_loc_conf_t, auth),
      &ngx_http_stytch_auth_modes },

    { ngx_string("stytch_project_id"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_stytch_loc_conf_t, project_id),
      &ngx_http_stytch_project_id_post },

    { ngx_string("stytch_secret"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_stytch_loc_conf_t, secret),
      NULL },

    { ngx_string("stytch_secret_file"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_stytch_secret_file,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("stytch_api_url"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_stytch_api_url,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("stytch_issuer"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_stytch_issuer,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("stytch_b2b"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_stytch_loc_conf_t, b2b),
      NULL },

    { ngx_string("stytch_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_stytch_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("stytch_organizations"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_stytch_main_conf_t, organizations),
      &ngx_http_stytch_organizations_bounds },

    { ngx_string("stytch_jwks_refresh"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_stytch_loc_conf_t, jwks_refresh),
      NULL },

    { ngx_string("stytch_jwks_cooldown"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_stytch_loc_conf_t, jwks_cooldown),
      NULL },

    { ngx_string("stytch_jwks_file"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_stytch_loc_conf_t, jwks_file),
      NULL },

    { ngx_string("stytch_fetch_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_stytch_loc_conf_t, fetch_timeout),
      NULL },

    { ngx_string("stytch_ssl_trusted_certificate"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_stytch_loc_conf_t, ssl_trusted_certificate),
      NULL },

    { ngx_string("stytch_ssl_verify"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_stytch_loc_conf_t, ssl_verify),
      NULL },

    { ngx_string("stytch_leeway"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_stytch_loc_conf_t, leeway),
      NULL },

    { ngx_string("stytch_max_token_age"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_stytch_max_token_age,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("stytch_jwt_cache"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_stytch_loc_conf_t, jwt_cache_size),
      &ngx_http_stytch_jwt_cache_post },

    { ngx_string("stytch_realm"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_stytch_loc_conf_t, realm),
      &ngx_http_stytch_realm_post },

    { ngx_string("stytch_jwt_cookie"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_stytch_token_source,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_stytch_loc_conf_t, jwt_cookie),
      NULL },

    { ngx_string("stytch_jwt_header"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_stytch_token_source,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_stytch_loc_conf_t, jwt_header),
      NULL },

    { ngx_string("stytch_token"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_stytch_loc_conf_t, token),
      NULL },

    { ngx_string("stytch_unavailable_status"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_stytch_unavailable_status,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("stytch_session_cookie"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_stytch_token_source,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_stytch_loc_conf_t, session_cookie),
      NULL },

    { ngx_string("stytch_fallback"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_stytch_loc_conf_t, fallback),
      NULL },

    { ngx_string("stytch_rbac_local_final"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_stytch_loc_conf_t, rbac_local_final),
      NULL },

    { ngx_string("stytch_api_location"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_stytch_loc_conf_t, api_location),
      &ngx_http_stytch_api_location_post },

    { ngx_string("stytch_api_deadline"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_stytch_loc_conf_t, api_deadline),
      NULL },

    { ngx_string("stytch_api_cache"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_stytch_loc_conf_t, api_cache),
      NULL },

    { ngx_string("stytch_api_cache_valid"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_stytch_api_cache_valid,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("stytch_refresh_cookie"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_stytch_loc_conf_t, refresh_cookie),
      NULL },

    { ngx_string("stytch_cookie_attributes"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_stytch_loc_conf_t, cookie_attributes),
      &ngx_http_stytch_cookie_attributes_post },

    { ngx_string("stytch_cookie_domain"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_stytch_loc_conf_t, cookie_domain),
      &ngx_http_stytch_cookie_part_post },

    { ngx_string("stytch_cookie_path"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_stytch_loc_conf_t, cookie_path),
      &ngx_http_stytch_cookie_part_post },

    { ngx_string("stytch_require_permission"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_stytch_require_permission,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("stytch_require_scope"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_stytch_require_scope,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("stytch_accept_m2m"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_stytch_loc_conf_t, accept_m2m),
      NULL },

    { ngx_string("stytch_accept_oauth"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_stytch_loc_conf_t, accept_oauth),
      NULL },

    { ngx_string("stytch_resource"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_stytch_resource,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("stytch_resource_metadata"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_stytch_resource_metadata,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("stytch_oauth_introspect"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_stytch_loc_conf_t, oauth_introspect),
      NULL },

    { ngx_string("stytch_oauth_client"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_stytch_oauth_client,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("stytch_resource_audience"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_stytch_loc_conf_t, resource_audience),
      NULL },

    { ngx_string("stytch_logout_cross_site"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_stytch_loc_conf_t, logout_cross_site),
      NULL },

    { ngx_string("stytch_cors_preflight"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_stytch_loc_conf_t, cors_preflight),
      NULL },

    { ngx_string("stytch_session_duration"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_stytch_session_duration,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("stytch_api_rate"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_stytch_api_rate,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("stytch_api_client"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_stytch_loc_conf_t, api_client),
      NULL },

    { ngx_string("stytch_require_organization"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_stytch_loc_conf_t, organization),
      NULL },

    { ngx_string("stytch_require"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_stytch_require,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("stytch_policy_refresh"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_stytch_loc_conf_t, policy_refresh),
      NULL },

    { ngx_string("stytch_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_stytch_status,
      0,
      0,
      NULL },

    { ngx_string("stytch_logout"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_stytch_logout,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("stytch_retry_after"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_stytch_loc_conf_t, retry_after),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_stytch_module_ctx = {
    ngx_http_stytch_preconfiguration,      /* preconfiguration */
    ngx_http_stytch_postconfiguration,     /* postconfiguration */

    ngx_http_stytch_create_main_conf,      /* create main configuration */
    ngx_http_stytch_init_main_conf,        /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_stytch_create_loc_conf,       /* create location configuration */
    ngx_http_stytch_merge_loc_conf         /* merge location configuration */
};


ngx_module_t  ngx_http_stytch_module = {
    NGX_MODULE_V1,
    &ngx_http_stytch_module_ctx,           /* module context */
    ngx_http_stytch_commands,              /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_stytch_init_process,          /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_stytch_exit_process,          /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_str_t  ngx_http_stytch_default_zone = ngx_string("stytch");

/* the loc conf index of auth_request, when NGINX has that module */
static ngx_int_t  ngx_http_stytch_auth_request_index = -1;


static void *
ngx_http_stytch_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_stytch_main_conf_t  *smcf;

    smcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_stytch_main_conf_t));
    if (smcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     smcf->shm_zone = NULL;
     *     smcf->zone_set = 0;
     */

    smcf->organizations = NGX_CONF_UNSET_UINT;

    /* never grows: locations keep pointers to its elements */

    if (ngx_array_init(&smcf->projects, cf->pool,
                       NGX_HTTP_STYTCH_MAX_PROJECTS,
                       sizeof(ngx_http_stytch_project_t))
        != NGX_OK)
    {
        return NULL;
    }

    if (ngx_array_init(&smcf->locations, cf->pool, 16,
                       sizeof(ngx_http_stytch_location_t))
        != NGX_OK)
    {
        return NULL;
    }

    if (ngx_array_init(&smcf->api_uses, cf->pool, 4,
                       sizeof(ngx_http_stytch_use_t))
        != NGX_OK)
    {
        return NULL;
    }

    if (ngx_array_init(&smcf->auth_requests, cf->pool, 4,
                       sizeof(ngx_http_stytch_use_t))
        != NGX_OK)
    {
        return NULL;
    }

    return smcf;
}


static char *
ngx_http_stytch_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_stytch_main_conf_t *smcf = conf;

    ngx_conf_init_uint_value(smcf->organizations,
                             NGX_HTTP_STYTCH_DEFAULT_ORGS);

    return NGX_CONF_OK;
}


static void *
ngx_http_stytch_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_stytch_loc_conf_t  *slcf;

    slcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_stytch_loc_conf_t));
    if (slcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     slcf->project_id = { 0, NULL };
     *     slcf->secret = { 0, NULL };
     *     slcf->api_url = { 0, NULL };
     *     slcf->jwks_file = { 0, NULL };
     *     slcf->ssl_trusted_certificate = { 0, NULL };
     *     slcf->realm = { 0, NULL };
     *     slcf->jwt_cookie = { 0, NULL };
     *     slcf->jwt_header = { 0, NULL };
     *     slcf->max_token_age_set = 0;
     *     slcf->project = NULL;
     */

    slcf->auth = NGX_CONF_UNSET_UINT;
    slcf->ssl_verify = NGX_CONF_UNSET;
    slcf->b2b = NGX_CONF_UNSET;
    slcf->jwks_refresh = NGX_CONF_UNSET;
    slcf->jwks_cooldown = NGX_CONF_UNSET;
    slcf->fetch_timeout = NGX_CONF_UNSET_MSEC;
    slcf->leeway = NGX_CONF_UNSET;
    slcf->max_token_age = NGX_CONF_UNSET;
    slcf->jwt_cache_size = NGX_CONF_UNSET_SIZE;
    slcf->unavailable_status = NGX_CONF_UNSET_UINT;
    slcf->retry_after = NGX_CONF_UNSET;
    slcf->fallback = NGX_CONF_UNSET;
    slcf->rbac_local_final = NGX_CONF_UNSET;
    slcf->api_deadline = NGX_CONF_UNSET_MSEC;
    slcf->api_cache = NGX_CONF_UNSET;
    slcf->api_cache_valid = NGX_CONF_UNSET;
    slcf->api_cache_reject = NGX_CONF_UNSET;
    slcf->refresh_cookie = NGX_CONF_UNSET;
    slcf->policy_refresh = NGX_CONF_UNSET;
    slcf->issuers = NGX_CONF_UNSET_PTR;
    slcf->permissions = NGX_CONF_UNSET_PTR;
    slcf->scopes = NGX_CONF_UNSET_PTR;
    slcf->accept_m2m = NGX_CONF_UNSET;
    slcf->accept_oauth = NGX_CONF_UNSET;
    slcf->resource_audience = NGX_CONF_UNSET;
    slcf->oauth_introspect = NGX_CONF_UNSET;
    slcf->oauth_clients = NGX_CONF_UNSET_PTR;
    slcf->cors_preflight = NGX_CONF_UNSET;
    slcf->logout_cross_site = NGX_CONF_UNSET;
    slcf->session_duration = NGX_CONF_UNSET;
    slcf->api_rate = NGX_CONF_UNSET_UINT;
    slcf->api_client_rate = NGX_CONF_UNSET_UINT;
    slcf->api_client = NGX_CONF_UNSET_PTR;
    slcf->token = NGX_CONF_UNSET_PTR;
    slcf->organization = NGX_CONF_UNSET_PTR;
    slcf->rules = NGX_CONF_UNSET_PTR;

    return slcf;
}


static char *
ngx_http_stytch_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_stytch_loc_conf_t *prev = parent;
    ngx_http_stytch_loc_conf_t *conf = child;

    ngx_str_t                    *uri;
    ngx_http_stytch_main_conf_t  *smcf;

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_stytch_module);

    if (ngx_http_stytch_locations_add(cf, prev, conf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    ngx_conf_merge_uint_value(conf->auth, prev->auth,
                              NGX_HTTP_STYTCH_AUTH_OFF);
    ngx_conf_merge_str_value(conf->project_id, prev->project_id, "");
    if (conf->secret.data == NULL) {
        conf->secret_file = prev->secret_file;
    }

    ngx_conf_merge_str_value(conf->secret, prev->secret, "");
    ngx_conf_merge_str_value(conf->api_url, prev->api_url, "");
    ngx_conf_merge_str_value(conf->jwks_file, prev->jwks_file, "");
    ngx_conf_merge_str_value(conf->ssl_trusted_certificate,
                             prev->ssl_trusted_certificate, "");
    ngx_conf_merge_value(conf->ssl_verify, prev->ssl_verify, 1);
    ngx_conf_merge_value(conf->b2b, prev->b2b, 0);
    ngx_conf_merge_sec_value(conf->jwks_refresh, prev->jwks_refresh, 600);
    ngx_conf_merge_sec_value(conf->jwks_cooldown, prev->jwks_cooldown, 30);
    ngx_conf_merge_msec_value(conf->fetch_timeout, prev->fetch_timeout, 5000);
    ngx_conf_merge_sec_value(conf->leeway, prev->leeway, 0);

    if (!conf->max_token_age_set) {
        conf->max_token_age_set = prev->max_token_age_set;
        conf->max_token_age = prev->max_token_age;
    }

    ngx_conf_merge_size_value(conf->jwt_cache_size, prev->jwt_cache_size,
                              4096);
    ngx_conf_merge_str_value(conf->realm, prev->realm, "stytch");
    ngx_conf_merge_str_value(conf->jwt_cookie, prev->jwt_cookie,
                             "stytch_session_jwt");
    ngx_conf_merge_ptr_value(conf->token, prev->token, NULL);
    ngx_conf_merge_str_value(conf->jwt_header, prev->jwt_header,
                             "Authorization");
    ngx_conf_merge_uint_value(conf->unavailable_status,
                              prev->unavailable_status,
                              NGX_HTTP_SERVICE_UNAVAILABLE);
    ngx_conf_merge_sec_value(conf->retry_after, prev->retry_after, 5);
    ngx_conf_merge_str_value(conf->session_cookie, prev->session_cookie,
                             "stytch_session");
    ngx_conf_merge_value(conf->fallback, prev->fallback, 1);
    ngx_conf_merge_value(conf->rbac_local_final, prev->rbac_local_final, 0);
    ngx_conf_merge_str_value(conf->api_location, prev->api_location,
                             "/_stytch_api");
    ngx_conf_merge_msec_value(conf->api_deadline, prev->api_deadline, 5000);
    ngx_conf_merge_value(conf->api_cache, prev->api_cache, 1);

    if (conf->api_cache_valid == NGX_CONF_UNSET) {
        conf->api_cache_valid = prev->api_cache_valid;
        conf->api_cache_reject = prev->api_cache_reject;
    }

    ngx_conf_merge_sec_value(conf->api_cache_valid, prev->api_cache_valid, 5);
    ngx_conf_merge_sec_value(conf->api_cache_reject, prev->api_cache_reject,
                             1);
    ngx_conf_merge_value(conf->refresh_cookie, prev->refresh_cookie, 1);
    /* unset: the frontend SDK's attributes, see ngx_http_stytch_response.c */
    if (conf->cookie_attributes.data == NULL) {
        conf->cookie_attributes = prev->cookie_attributes;
    }

    ngx_conf_merge_str_value(conf->cookie_domain, prev->cookie_domain, "");
    ngx_conf_merge_str_value(conf->cookie_path, prev->cookie_path, "/");
    ngx_conf_merge_sec_value(conf->policy_refresh, prev->policy_refresh, 300);
    ngx_conf_merge_ptr_value(conf->issuers, prev->issuers, NULL);
    ngx_conf_merge_ptr_value(conf->scopes, prev->scopes, NULL);
    ngx_conf_merge_value(conf->accept_m2m, prev->accept_m2m, 0);
    ngx_conf_merge_value(conf->accept_oauth, prev->accept_oauth, 0);
    ngx_conf_merge_value(conf->resource_audience, prev->resource_audience,
                         0);
    ngx_conf_merge_value(conf->oauth_introspect, prev->oauth_introspect, 0);
    ngx_conf_merge_ptr_value(conf->oauth_clients, prev->oauth_clients, NULL);

    if (conf->resource.data == NULL) {
        conf->resource = prev->resource;
        conf->resource_metadata = prev->resource_metadata;
    }
    ngx_conf_merge_value(conf->cors_preflight, prev->cors_preflight, 0);
    ngx_conf_merge_value(conf->logout_cross_site, prev->logout_cross_site, 0);
    ngx_conf_merge_value(conf->session_duration, prev->session_duration, 0);
    if (conf->api_rate == NGX_CONF_UNSET_UINT) {
        conf->api_rate = prev->api_rate;
        conf->api_client_rate = prev->api_client_rate;
    }

    ngx_conf_merge_uint_value(conf->api_rate, prev->api_rate, 0);

    if (conf->api_client_rate == NGX_CONF_UNSET_UINT) {
        /* a tenth of the rate, at least one call a minute */
        conf->api_client_rate = conf->api_rate
                                ? ngx_max(conf->api_rate / 10, 1000 / 60)
                                : 0;
    }

    ngx_conf_merge_ptr_value(conf->api_client, prev->api_client, NULL);
    ngx_conf_merge_ptr_value(conf->permissions, prev->permissions, NULL);
    ngx_conf_merge_ptr_value(conf->organization, prev->organization, NULL);
    ngx_conf_merge_ptr_value(conf->rules, prev->rules, NULL);

    if (conf->policy_refresh == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"stytch_policy_refresh\" must be more than 0");
        return NGX_CONF_ERROR;
    }

    if (conf->jwks_refresh == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"stytch_jwks_refresh\" must be more than 0");
        return NGX_CONF_ERROR;
    }

    if (ngx_http_stytch_auth_request_index >= 0) {
        /* ngx_http_auth_request_conf_t starts with the subrequest's URI */
        uri = ((ngx_http_conf_ctx_t *) cf->ctx)
                  ->loc_conf[ngx_http_stytch_auth_request_index];

        if (uri->len
            && ngx_http_stytch_locations_use(cf, &smcf->auth_requests, uri,
                                             NULL)
               != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    if (conf->logout.len
        && ngx_http_stytch_check_logout(cf, smcf, conf) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (conf->metadata.data) {
        /* RFC 9728, section 3: the document is public */
        conf->auth = NGX_HTTP_STYTCH_AUTH_OFF;

        if (conf->authorization_server.len == 0) {
            if (conf->api_url.len == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"stytch_resource_metadata\" needs "
                                   "the authorization server, your Stytch "
                                   "project's domain, as its second "
                                   "argument, or \"stytch_api_url\"");
                return NGX_CONF_ERROR;
            }

            conf->authorization_server = conf->api_url;
        }
    }

    if (conf->auth == NGX_HTTP_STYTCH_AUTH_OFF) {
        return NGX_CONF_OK;
    }

    if (conf->project_id.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"stytch_auth\" is on but no \"stytch_project_id\" "
                           "is set");
        return NGX_CONF_ERROR;
    }

    if (conf->api_url.len == 0) {
        /* Stytch's SDKs pick the API host from the project id's prefix */
        if (ngx_strncmp(conf->project_id.data, "project-live-", 13) == 0) {
            ngx_str_set(&conf->api_url, "https://api.stytch.com");

        } else {
            ngx_str_set(&conf->api_url, "https://test.stytch.com");
        }
    }

    /* the kinds of token the location takes */

    switch (conf->auth) {

    case NGX_HTTP_STYTCH_AUTH_M2M:
        conf->kinds = STYTCH_KIND_M2M;
        break;

    case NGX_HTTP_STYTCH_AUTH_OAUTH:
        conf->kinds = STYTCH_KIND_OAUTH;
        break;

    default:
        conf->kinds = STYTCH_KIND_SESSION;
    }

    if (conf->accept_m2m) {
        conf->kinds |= STYTCH_KIND_M2M;
    }

    if (conf->accept_oauth) {
        conf->kinds |= STYTCH_KIND_OAUTH;
    }

    if (conf->resource_audience && conf->resource.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"stytch_resource_audience\" is on but no "
                           "\"stytch_resource\" names the resource");
        return NGX_CONF_ERROR;
    }

    if (!(conf->kinds & STYTCH_KIND_SESSION)) {
        /* an access token has no session for the API to look at */
        conf->fallback = 0;
    }

    if (conf->auth == NGX_HTTP_STYTCH_AUTH_M2M && !conf->accept_oauth) {

        if (conf->permissions || conf->organization) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%s\" cannot be used with \"stytch_auth "
                               "m2m\": an M2M token has no roles and no "
                               "organization; require scopes with "
                               "\"stytch_require_scope\"",
                               conf->permissions
                               ? "stytch_require_permission"
                               : "stytch_require_organization");
            return NGX_CONF_ERROR;
        }
    }

    if (conf->ssl_trusted_certificate.len
        && ngx_http_stytch_check_trusted_certificate(cf,
                                              &conf->ssl_trusted_certificate)
           != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (conf->auth == NGX_HTTP_STYTCH_AUTH_STRICT && !conf->fallback) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"stytch_auth strict\" asks the Stytch API about "
                           "every request and cannot be used with "
                           "\"stytch_fallback off\"");
        return NGX_CONF_ERROR;
    }

    if (conf->permissions && conf->secret.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"stytch_require_permission\" needs "
                           "\"stytch_secret\" or \"stytch_secret_file\" "
                           "to fetch the RBAC policy");
        return NGX_CONF_ERROR;
    }

    if (conf->secret.len && conf->basic_auth.len == 0
        && ngx_http_stytch_basic_auth(cf, conf) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (conf->fallback) {
        if (conf->secret.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"stytch_fallback\" is on but no "
                               "\"stytch_secret\" or \"stytch_secret_file\" "
                               "is set");
            return NGX_CONF_ERROR;
        }

        if (conf->basic_auth.len == 0
            && ngx_http_stytch_basic_auth(cf, conf) != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    if (ngx_http_stytch_project_add(cf, conf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (conf->oauth_introspect && !(conf->kinds & STYTCH_KIND_OAUTH)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"stytch_oauth_introspect\" is on but the "
                           "location takes no Connected Apps token: use "
                           "\"stytch_auth oauth\" or \"stytch_accept_oauth "
                           "on\"");
        return NGX_CONF_ERROR;
    }

    if ((conf->fallback || conf->oauth_introspect)
        && ngx_http_stytch_locations_use(cf, &smcf->api_uses,
                                         &conf->api_location, &conf->api_url)
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* "Basic base64(project_id:secret)", built once */

static ngx_int_t
ngx_http_stytch_basic_auth(ngx_conf_t *cf, ngx_http_stytch_loc_conf_t *slcf)
{
    u_char     *p;
    ngx_str_t   plain, encoded;

    plain.len = slcf->project_id.len + 1 + slcf->secret.len;
    plain.data = ngx_pnalloc(cf->pool, plain.len);
    if (plain.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(plain.data, slcf->project_id.data, slcf->project_id.len);
    *p++ = ':';
    ngx_memcpy(p, slcf->secret.data, slcf->secret.len);

    slcf->basic_auth.data = ngx_pnalloc(cf->pool, sizeof("Basic ") - 1
                                        + ngx_base64_encoded_length(plain.len));
    if (slcf->basic_auth.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(slcf->basic_auth.data, "Basic ", sizeof("Basic ") - 1);

    encoded.data = p;
    ngx_encode_base64(&encoded, &plain);

    slcf->basic_auth.len = sizeof("Basic ") - 1 + encoded.len;

    ngx_explicit_memzero(plain.data, plain.len);

    return NGX_OK;
}


/*
 * stytch_logout revokes through the API location with the project's
 * credentials, and answers requests whose session is gone: the access
 * phase must not refuse them first.
 */

static ngx_int_t
ngx_http_stytch_check_logout(ngx_conf_t *cf, ngx_http_stytch_main_conf_t *smcf,
    ngx_http_stytch_loc_conf_t *slcf)
{
    if (slcf->auth != NGX_HTTP_STYTCH_AUTH_OFF) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"stytch_logout\" needs \"stytch_auth off\" in "
                           "its location: a sign-out must answer requests "
                           "whose session is gone");
        return NGX_ERROR;
    }

    if (slcf->project_id.len == 0 || slcf->secret.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"stytch_logout\" needs \"stytch_project_id\" "
                           "and \"stytch_secret\" or \"stytch_secret_file\" "
                           "to revoke sessions");
        return NGX_ERROR;
    }

    if (slcf->basic_auth.len == 0
        && ngx_http_stytch_basic_auth(cf, slcf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_stytch_locations_use(cf, &smcf->api_uses,
                                         &slcf->api_location, &slcf->api_url);
}


static ngx_int_t
ngx_http_stytch_preconfiguration(ngx_conf_t *cf)
{
    ngx_uint_t  i;

    /* by name: a build without auth_request has no such symbol */

    ngx_http_stytch_auth_request_index = -1;

    for (i = 0; cf->cycle->modules[i]; i++) {
        if (cf->cycle->modules[i]->type == NGX_HTTP_MODULE
            && ngx_strcmp(cf->cycle->modules[i]->name,
                          "ngx_http_auth_request_module")
               == 0)
        {
            ngx_http_stytch_auth_request_index =
                                          cf->cycle->modules[i]->ctx_index;
        }
    }

    if (ngx_http_stytch_logout_add_variables(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_stytch_add_variables(cf);
}


static ngx_int_t
ngx_http_stytch_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_handler_pt          *h;
    ngx_http_core_main_conf_t    *cmcf;
    ngx_http_stytch_main_conf_t  *smcf;

    /* stytch_logout calls the API in a configuration without projects */
    if (ngx_http_stytch_api_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_stytch_module);

    if (ngx_http_stytch_metadata_init(cf, smcf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (smcf->projects.nelts == 0) {
        return NGX_OK;
    }

    if (smcf->shm_zone == NULL) {
        smcf->shm_zone = ngx_shared_memory_add(cf,
                                         &ngx_http_stytch_default_zone,
                                         NGX_HTTP_STYTCH_DEFAULT_ZONE_SIZE,
                                         &ngx_http_stytch_module);
        if (smcf->shm_zone == NULL) {
            return NGX_ERROR;
        }

        smcf->shm_zone->init = ngx_http_stytch_init_zone;
    }

    smcf->shm_zone->data = smcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_stytch_handler;

    if (ngx_http_stytch_locations_check(cf, smcf) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_stytch_handler_init(cf);
}


static ngx_int_t
ngx_http_stytch_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                    i;
    ngx_http_stytch_project_t    *project;
    ngx_http_stytch_main_conf_t  *smcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    smcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_stytch_module);

    if (smcf == NULL || smcf->projects.nelts == 0) {
        return NGX_OK;
    }

    project = smcf->projects.elts;

    for (i = 0; i < smcf->projects.nelts; i++) {
        if (ngx_http_stytch_project_init(&project[i], cycle->log) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (ngx_http_stytch_curl_init(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_stytch_refresh_init(cycle, smcf);
}


static void
ngx_http_stytch_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                    i;
    ngx_http_stytch_project_t    *project;
    ngx_http_stytch_main_conf_t  *smcf;

    smcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_stytch_module);

    if (smcf == NULL || smcf->projects.nelts == 0) {
        return;
    }

    ngx_http_stytch_refresh_exit(cycle, smcf);
    ngx_http_stytch_curl_exit(cycle);
    ngx_http_stytch_cache_exit();

    project = smcf->projects.elts;

    for (i = 0; i < smcf->projects.nelts; i++) {
        ngx_http_stytch_project_exit(&project[i]);
    }
}


static char *
ngx_http_stytch_auth(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_stytch_loc_conf_t *slcf = conf;

    ngx_str_t        *value;
    ngx_conf_enum_t  *e;

    if (slcf->auth != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (e = ngx_http_stytch_auth_modes; e->name.len; e++) {
        if (e->name.len == value[1].len
            && ngx_strcmp(e->name.data, value[1].data) == 0)
        {
            slcf->auth = e->value;
            return NGX_CONF_OK;
        }
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"%V\" in \"%V\" directive, "
                       "it must be \"on\", \"off\", \"strict\", "
                       "\"report\", \"m2m\" or \"oauth\"",
                       &value[1], &cmd->name);

    return NGX_CONF_ERROR;
}


static char *
ngx_http_stytch_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_stytch_main_conf_t *smcf = conf;

    ssize_t     size;
    ngx_str_t  *value;

    if (smcf->shm_zone) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone name \"%V\" in \"stytch_zone\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    size = ngx_parse_size(&value[2]);

    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\" in \"stytch_zone\"",
                           &value[2]);
        return NGX_CONF_ERROR;
    }

    if (size < (ssize_t) (8 * ngx_pagesize)
        || (size_t) size < 2 * sizeof(ngx_http_stytch_shm_t))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is too small in \"stytch_zone\": "
                           "\"%V\"", &value[1], &value[2]);
        return NGX_CONF_ERROR;
    }

    smcf->shm_zone = ngx_shared_memory_add(cf, &value[1], size,
                                           &ngx_http_stytch_module);
    if (smcf->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (smcf->shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is already used", &value[1]);
        return NGX_CONF_ERROR;
    }

    smcf->shm_zone->init = ngx_http_stytch_init_zone;
    smcf->shm_zone->data = smcf;
    smcf->zone_set = 1;

    return NGX_CONF_OK;
}


static char *
ngx_http_stytch_secret_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_stytch_loc_conf_t *slcf = conf;

    ngx_str_t  *value;

    if (slcf->secret.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_http_stytch_read_secret(cf, &cmd->name, &value[1], &slcf->secret)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    slcf->secret_file = 1;

    return NGX_CONF_OK;
}


static char *
ngx_http_stytch_api_url(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_stytch_loc_conf_t *slcf = conf;

    ngx_str_t  *value, url;

    if (slcf->api_url.data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    url = value[1];

    if (!((url.len > 8 && ngx_strncasecmp(url.data, (u_char *) "https://", 8)
                          == 0)
          || (url.len > 7
              && ngx_strncasecmp(url.data, (u_char *) "http://", 7) == 0)))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid URL \"%V\" in \"stytch_api_url\": "
                           "it must start with \"https://\" or \"http://\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    /* the issuer of custom-domain tokens is the URL without trailing "/" */
    while (url.len && url.data[url.len - 1] == '/') {
        url.len--;
    }

    if (ngx_strlchr(url.data, url.data + url.len, ' ') != NULL
        || ngx_strlchr(url.data, url.data + url.len, '?') != NULL
        || ngx_strlchr(url.data, url.data + url.len, '#') != NULL)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid URL \"%V\" in \"stytch_api_url\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    /*
     * The module adds /v1/... to the URL, as Stytch's Go and Java SDKs do
     * (a path before it is kept, for a gateway): a URL that already has
     * the API's version in its path would ask for /v1/v1/...
     */
    if ((url.len >= 3
         && ngx_strncasecmp(url.data + url.len - 3, (u_char *) "/v1", 3) == 0)
        || ngx_strlcasestrn(url.data, url.data + url.len,
                            (u_char *) "/v1/", 4 - 1)
           != NULL)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid URL \"%V\" in \"stytch_api_url\": "
                           "it must not include the API's \"/v1\", which "
                           "the module adds", &value[1]);
        return NGX_CONF_ERROR;
    }

    slcf->api_url = url;

    return NGX_CONF_OK;
}


/* stytch_issuer issuer ...: the JWT issuers a custom domain brings */

static char *
ngx_http_stytch_issuer(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_stytch_loc_conf_t *slcf = conf;

    u_char      *c;
    ngx_str_t   *value, *issuer;
    ngx_uint_t   i;

    if (slcf->issuers != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    slcf->issuers = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                     sizeof(ngx_str_t));
    if (slcf->issuers == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        /* compared as the SDKs compare, without trailing slashes */
        while (value[i].len && value[i].data[value[i].len - 1] == '/') {
            value[i].len--;
        }

        for (c = value[i].data; c < value[i].data + value[i].len; c++) {
            if (*c <= ' ' || *c >= 0x7f || *c == '"') {
                break;
            }
        }

        if (value[i].len == 0 || c != value[i].data + value[i].len) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid issuer \"%V\" in \"stytch_issuer\"",
                               &value[i]);
            return NGX_CONF_ERROR;
        }

        issuer = ngx_array_push(slcf->issuers);
        if (issuer == NULL) {
            return NGX_CONF_ERROR;
        }

        *issuer = value[i];
    }

    return NGX_CONF_OK;
}


/* A secret from a file, read at start by the master */

static char *
ngx_http_stytch_read_secret(ngx_conf_t *cf, ngx_str_t *directive,
    ngx_str_t *file, ngx_str_t *secret)
{
    u_char           *p, *last;
    ssize_t           n;
    ngx_fd_t          fd;
    ngx_str_t         name;
    ngx_file_info_t   fi;

    name = *file;

    if (ngx_conf_full_name(cf->cycle, &name, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    fd = ngx_open_file(name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"%V\" cannot open \"%V\"", directive,
                           file);
        return NGX_CONF_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR || ngx_file_size(&fi) > 4096) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" \"%V\" is not a secret file of at "
                           "most 4096 bytes", directive, file);
        (void) ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    p = ngx_pnalloc(cf->pool, 4096);
    if (p == NULL) {
        (void) ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    n = ngx_read_fd(fd, p, 4096);
    (void) ngx_close_file(fd);

    if (n == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"%V\" cannot read \"%V\"", directive,
                           file);
        return NGX_CONF_ERROR;
    }

    last = p + n;

    while (last > p && (last[-1] == '\n' || last[-1] == '\r'
                        || last[-1] == ' ' || last[-1] == '\t'))
    {
        last--;
    }

    if (last == p) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" \"%V\" is empty", directive, file);
        return NGX_CONF_ERROR;
    }

    secret->data = p;
    secret->len = last - p;

    return NGX_CONF_OK;
}


/* stytch_oauth_client client_id secret_file: a confidential Connected App */

static char *
ngx_http_stytch_oauth_client(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_stytch_loc_conf_t *slcf = conf;

    u_char                          *p;
    ngx_str_t                       *value, secret, plain, encoded;
    ngx_http_stytch_oauth_client_t  *client;

    value = cf->args->elts;

    for (p = value[1].data; p < value[1].data + value[1].len; p++) {
        if (*p <= ' ' || *p >= 0x7f || *p == ':') {
            break;
        }
    }

    if (value[1].len == 0 || p != value[1].data + value[1].len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid client id \"%V\" in \"%V\"",
                           &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_stytch_read_secret(cf, &cmd->name, &value[2], &secret)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (slcf->oauth_clients == NGX_CONF_UNSET_PTR) {
        slcf->oauth_clients = ngx_array_create(cf->pool, 2,
                                     sizeof(ngx_http_stytch_oauth_client_t));
        if (slcf->oauth_clients == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    client = ngx_array_push(slcf->oauth_clients);
    if (client == NULL) {
        return NGX_CONF_ERROR;
    }

    client->client_id = value[1];

    /* RFC 6749, section 2.3.1: HTTP Basic of the client's credentials */

    plain.len = value[1].len + 1 + secret.len;
    plain.data = ngx_pnalloc(cf->pool, plain.len);
    if (plain.data == NULL) {
        return NGX_CONF_ERROR;
    }

    p = ngx_cpymem(plain.data, value[1].data, value[1].len);
    *p++ = ':';
    ngx_memcpy(p, secret.data, secret.len);

    client->basic_auth.data = ngx_pnalloc(cf->pool, sizeof("Basic ") - 1
                                     + ngx_base64_encoded_length(plain.len));
    if (client->basic_auth.data == NULL) {
        return NGX_CONF_ERROR;
    }

    p = ngx_cpymem(client->basic_auth.data, "Basic ", sizeof("Basic ") - 1);

    encoded.data = p;
    ngx_encode_base64(&encoded, &plain);

    client->basic_auth.len = sizeof("Basic ") - 1 + encoded.len;

    ngx_explicit_memzero(plain.data, plain.len);
    ngx_explicit_memzero(secret.data, secret.len);

    return NGX_CONF_OK;
}


/* stytch_resource url: the RFC 9728 resource a location is part of */

static char *
ngx_http_stytch_resource(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_stytch_loc_conf_t *slcf = conf;

    ngx_str_t  *value;

    if (slcf->resource.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_http_stytch_metadata_url(cf, &cmd->name, &value[1],
                                     &slcf->resource_metadata)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    slcf->resource = value[1];

    return NGX_CONF_OK;
}


/*
 * The workers, not the master, read the CA file at each fetch: it must be
 * a full path to a file they can read, which is checked where it can be,
 * here and again in each worker at start.
 */

static char *
ngx_http_stytch_check_trusted_certificate(ngx_conf_t *cf, ngx_str_t *file)
{
    ngx_file_info_t  fi;

    if (ngx_conf_full_name(cf->cycle, file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_file_info(file->data, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"stytch_ssl_trusted_certificate\" \"%V\" "
                           "cannot be read", file);
        return NGX_CONF_ERROR;
    }

    if (!ngx_is_file(&fi)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"stytch_ssl_trusted_certificate\" \"%V\" "
                           "is not a file", file);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_stytch_max_token_age(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_stytch_loc_conf_t *slcf = conf;

    ngx_str_t  *value;

    if (slcf->max_token_age_set) {
        return "is duplicate";
    }

    value = cf->args->elts;
    slcf->max_token_age_set = 1;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        slcf->max_token_age = NGX_CONF_UNSET;
        return NGX_CONF_OK;
    }

    slcf->max_token_age = ngx_parse_time(&value[1], 1);

    if (slcf->max_token_age == (time_t) NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"stytch_max_token_age\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_stytch_token_source(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_str_t  *field, *value;
    u_char     *c;

    field = (ngx_str_t *) (p + cmd->offset);

    if (field->data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        ngx_str_set(field, "");
        return NGX_CONF_OK;
    }

    for (c = value[1].data; c < value[1].data + value[1].len; c++) {
        if (*c <= ' ' || *c == '=' || *c == ';' || *c == ':' || *c >= 0x7f) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid name \"%V\" in \"%V\"",
                               &value[1], &cmd->name);
            return NGX_CONF_ERROR;
        }
    }

    *field = value[1];

    return NGX_CONF_OK;
}


static char *
ngx_http_stytch_unavailable_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_stytch_loc_conf_t *slcf = conf;

    ngx_int_t   n;
    ngx_str_t  *value;

    if (slcf->unavailable_status != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    n = ngx_atoi(value[1].data, value[1].len);

    if (n < 400 || n > 599) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid status \"%V\" in "
                           "\"stytch_unavailable_status\": it must be "
                           "between 400 and 599", &value[1]);
        return NGX_CONF_ERROR;
    }

    slcf->unavailable_status = n;

    return NGX_CONF_OK;
}


static char *
ngx_http_stytch_api_cache_valid(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_stytch_loc_conf_t *slcf = conf;

    time_t      t[2];
    ngx_str_t  *value;
    ngx_uint_t  i;

    if (slcf->api_cache_valid != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    t[0] = 0;
    t[1] = 1;

    for (i = 1; i < cf->args->nelts; i++) {
        t[i - 1] = ngx_parse_time(&value[i], 1);

        if (t[i - 1] == (time_t) NGX_ERROR) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid time \"%V\" in "
                               "\"stytch_api_cache_valid\"", &value[i]);
            return NGX_CONF_ERROR;
        }
    }

    if (cf->args->nelts == 2 && t[1] > t[0]) {
        t[1] = t[0];
    }

    slcf->api_cache_valid = t[0];
    slcf->api_cache_reject = t[1];

    return NGX_CONF_OK;
}


static char *
ngx_http_stytch_require_permission(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_stytch_loc_conf_t *slcf = conf;

    ngx_str_t                         *value;
    ngx_http_stytch_permission_t      *perm;
    ngx_http_compile_complex_value_t   ccv;

    if (slcf->permissions == NGX_CONF_UNSET_PTR) {
        slcf->permissions = ngx_array_create(cf->pool, 2,
                                       sizeof(ngx_http_stytch_permission_t));
        if (slcf->permissions == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    if (slcf->permissions->nelts == NGX_HTTP_STYTCH_MAX_PERMISSIONS) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "too many \"stytch_require_permission\", "
                           "at most %d", NGX_HTTP_STYTCH_MAX_PERMISSIONS);
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    if (value[1].len == 0 || value[2].len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "empty resource or action in "
                           "\"stytch_require_permission\"");
        return NGX_CONF_ERROR;
    }

    perm = ngx_array_push(slcf->permissions);
    if (perm == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));
    ccv.cf = cf;
    ccv.value = &value[1];
    ccv.complex_value = &perm->resource;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));
    ccv.cf = cf;
    ccv.value = &value[2];
    ccv.complex_value = &perm->action;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* stytch_require_scope scope ...: every scope is required */

static char *
ngx_http_stytch_require_scope(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_stytch_loc_conf_t *slcf = conf;

    ngx_str_t                         *value;
    ngx_uint_t                         i;
    ngx_http_complex_value_t          *cv;
    ngx_http_compile_complex_value_t   ccv;

    if (slcf->scopes == NGX_CONF_UNSET_PTR) {
        slcf->scopes = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                        sizeof(ngx_http_complex_value_t));
        if (slcf->scopes == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_http_stytch_blank(&value[i])) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "empty scope in \"stytch_require_scope\"");
            return NGX_CONF_ERROR;
        }

        if (ngx_http_script_variables_count(&value[i]) == 0) {
            ngx_http_stytch_scope_parts(cf, &value[i]);
        }

        cv = ngx_array_push(slcf->scopes);
        if (cv == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));
        ccv.cf = cf;
        ccv.value = &value[i];
        ccv.complex_value = cv;

        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static ngx_uint_t
ngx_http_stytch_blank(ngx_str_t *value)
{
    u_char  *p;

    for (p = value->data; p < value->data + value->len; p++) {
        if (*p != ' ') {
            return 0;
        }
    }

    return 1;
}


/*
 * Stytch's SDKs read a scope as "action" or "action:resource" and ignore
 * what follows a second colon, and the module matches as they do: a
 * required "read:users:extra" is met by "read:users".  Said at start.
 */

static void
ngx_http_stytch_scope_parts(ngx_conf_t *cf, ngx_str_t *value)
{
    u_char      *p, *start, *last, *colon;
    ngx_str_t    scope, used;
    ngx_uint_t   colons;

    start = value->data;
    last = start + value->len;

    while (start < last) {
        while (start < last && *start == ' ') {
            start++;
        }

        colons = 0;
        colon = NULL;

        for (p = start; p < last && *p != ' '; p++) {
            if (*p == ':' && ++colons == 2) {
                colon = p;
            }
        }

        if (colon) {
            scope.data = start;
            scope.len = p - start;
            used.data = start;
            used.len = colon - start;

            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "\"stytch_require_scope\" \"%V\": Stytch "
                               "matches a scope on its first two parts, "
                               "so a token with \"%V\" has it",
                               &scope, &used);
        }

        start = p;
    }
}


/* stytch_session_duration time | off: Stytch's session_duration_minutes */

static char *
ngx_http_stytch_session_duration(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_stytch_loc_conf_t *slcf = conf;

    time_t      t;
    ngx_str_t  *value;

    if (slcf->session_duration != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        slcf->session_duration = 0;
        return NGX_CONF_OK;
    }

    t = ngx_parse_time(&value[1], 1);

    /* Stytch takes 5 to 527040 minutes (366 days) */
    if (t == (time_t) NGX_ERROR || t % 60 || t < 5 * 60
        || t > 527040 * 60)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in "
                           "\"stytch_session_duration\": it must be whole "
                           "minutes from 5m to 366d, or \"off\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    slcf->session_duration = t / 60;

    return NGX_CONF_OK;
}


/*
 * stytch_api_rate RATE [client=RATE|off] | off, each RATE as limit_req's:
 * NUMBERr/s or NUMBERr/m, kept in thousandths of a call per second.
 */

static char *
ngx_http_stytch_api_rate(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_stytch_loc_conf_t *slcf = conf;

    ngx_str_t  *value, client;

    if (slcf->api_rate != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        if (cf->args->nelts > 2) {
            return "takes no client rate with \"off\"";
        }

        slcf->api_rate = 0;
        slcf->api_client_rate = 0;
        return NGX_CONF_OK;
    }

    if (ngx_http_stytch_parse_rate(cf, &value[1], &slcf->api_rate)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (cf->args->nelts == 2) {
        return NGX_CONF_OK;
    }

    if (value[2].len <= sizeof("client=") - 1
        || ngx_strncmp(value[2].data, "client=", sizeof("client=") - 1)
           != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" in \"stytch_api_rate\": "
                           "it must be \"client=\" and a rate, or "
                           "\"client=off\"", &value[2]);
        return NGX_CONF_ERROR;
    }

    client.data = value[2].data + sizeof("client=") - 1;
    client.len = value[2].len - (sizeof("client=") - 1);

    if (client.len == 3 && ngx_strncmp(client.data, "off", 3) == 0) {
        slcf->api_client_rate = 0;
        return NGX_CONF_OK;
    }

    if (ngx_http_stytch_parse_rate(cf, &client, &slcf->api_client_rate)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (slcf->api_client_rate > slcf->api_rate) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "the client rate \"%V\" in \"stytch_api_rate\" "
                           "is above the rate \"%V\"", &client, &value[1]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_stytch_parse_rate(ngx_conf_t *cf, ngx_str_t *text,
    ngx_uint_t *result)
{
    size_t     len;
    ngx_int_t  rate, scale;

    len = text->len;
    scale = 1;

    if (len > 3 && ngx_strncmp(text->data + len - 3, "r/s", 3) == 0) {
        len -= 3;

    } else if (len > 3
               && ngx_strncmp(text->data + len - 3, "r/m", 3) == 0)
    {
        len -= 3;
        scale = 60;

    } else {
        len = 0;
    }

    rate = len ? ngx_atoi(text->data, len) : NGX_ERROR;

    if (rate <= 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid rate \"%V\" in \"stytch_api_rate\": "
                           "it must be like \"10r/s\" or \"60r/m\", or "
                           "\"off\"", text);
        return NGX_ERROR;
    }

    *result = rate * 1000 / scale;

    if (*result == 0) {
        *result = 1;
    }

    return NGX_OK;
}


/* stytch_require VALUE ... [error=401|403], as NGINX Plus's auth_jwt_require */

static char *
ngx_http_stytch_require(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_stytch_loc_conf_t *slcf = conf;

    ngx_str_t                         *value;
    ngx_uint_t                         i, n;
    ngx_http_stytch_rule_t            *rule;
    ngx_http_complex_value_t          *cv;
    ngx_http_compile_complex_value_t   ccv;

    if (slcf->rules == NGX_CONF_UNSET_PTR) {
        slcf->rules = ngx_array_create(cf->pool, 1,
                                       sizeof(ngx_http_stytch_rule_t));
        if (slcf->rules == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    rule = ngx_array_push(slcf->rules);
    if (rule == NULL) {
        return NGX_CONF_ERROR;
    }

    rule->status = NGX_HTTP_FORBIDDEN;

    value = cf->args->elts;
    n = cf->args->nelts - 1;

    if (ngx_strncmp(value[n].data, "error=", 6) == 0) {
        if (value[n].len == 9
            && ngx_strncmp(value[n].data, "error=401", 9) == 0)
        {
            rule->status = NGX_HTTP_UNAUTHORIZED;

        } else if (value[n].len != 9
                   || ngx_strncmp(value[n].data, "error=403", 9) != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid \"%V\" in \"stytch_require\": "
                               "it must be \"error=401\" or \"error=403\"",
                               &value[n]);
            return NGX_CONF_ERROR;
        }

        n--;
    }

    if (n == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "no value in \"stytch_require\"");
        return NGX_CONF_ERROR;
    }

    rule->values = ngx_array_create(cf->pool, n,
                                    sizeof(ngx_http_complex_value_t));
    if (rule->values == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 1; i <= n; i++) {
        cv = ngx_array_push(rule->values);
        if (cv == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));
        ccv.cf = cf;
        ccv.value = &value[i];
        ccv.complex_value = cv;

        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_stytch_check_api_location(ngx_conf_t *cf, void *post, void *data)
{
    ngx_str_t  *uri = data;

    if (uri->len == 0 || uri->data[0] != '/'
        || ngx_strlchr(uri->data, uri->data + uri->len, '?') != NULL
        || ngx_strlchr(uri->data, uri->data + uri->len, ' ') != NULL)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid URI \"%V\" in \"stytch_api_location\": "
                           "it must start with \"/\"", uri);
        return NGX_CONF_ERROR;
    }

    while (uri->len > 1 && uri->data[uri->len - 1] == '/') {
        uri->len--;
    }

    return NGX_CONF_OK;
}


/*
 * A Domain or a Path of the cookies: what cookieOptions.domain and
 * cookieOptions.path hold, one attribute value.  "off" is no domain.
 */

static char *
ngx_http_stytch_check_cookie_part(ngx_conf_t *cf, void *post, void *data)
{
    ngx_str_t  *value = data;

    u_char      *c;
    ngx_str_t   *args;
    ngx_uint_t   path;

    args = cf->args->elts;
    path = (args[0].len == sizeof("stytch_cookie_path") - 1);

    if (!path && value->len == 3 && ngx_strncmp(value->data, "off", 3) == 0)
    {
        ngx_str_set(value, "");
        return NGX_CONF_OK;
    }

    if (value->len == 0 || (path && value->data[0] != '/')) {
        goto invalid;
    }

    for (c = value->data; c < value->data + value->len; c++) {
        if (*c <= ' ' || *c == 0x7f || *c == ';' || *c == ',' || *c == '"'
            || *c == '\\')
        {
            goto invalid;
        }
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"%V\" in \"%V\" directive, it must "
                       "be %s without spaces, \";\", \",\", quotes or "
                       "control characters", value, &args[0],
                       path ? "a path that starts with \"/\"" : "a domain");

    return NGX_CONF_ERROR;
}


static char *
ngx_http_stytch_check_cookie_attributes(ngx_conf_t *cf, void *post,
    void *data)
{
    ngx_str_t  *attrs = data;

    u_char  *c;

    /* one header line: no control characters */
    for (c = attrs->data; c < attrs->data + attrs->len; c++) {
        if (*c < ' ' || *c == 0x7f) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid attributes \"%V\" in "
                               "\"stytch_cookie_attributes\"", attrs);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_stytch_check_project_id(ngx_conf_t *cf, void *post, void *data)
{
    ngx_str_t  *id = data;

    u_char  *c;

    for (c = id->data; c < id->data + id->len; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')
              || (*c >= '0' && *c <= '9') || *c == '-' || *c == '_'))
        {
            break;
        }
    }

    if (c != id->data + id->len
        || !((id->len > 13 && ngx_strncmp(id->data, "project-test-", 13) == 0)
             || (id->len > 13
                 && ngx_strncmp(id->data, "project-live-", 13) == 0)))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid project id \"%V\" in "
                           "\"stytch_project_id\": expected "
                           "\"project-test-...\" or \"project-live-...\"",
                           id);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_stytch_check_jwt_cache(ngx_conf_t *cf, void *post, void *data)
{
    size_t  *size = data;

    ngx_str_t  *value;

    /*
     * each worker allocates the cache's table, about 100 bytes an entry,
     * and a copy of each token it holds
     */
    if (*size > NGX_HTTP_STYTCH_MAX_JWT_CACHE) {
        value = cf->args->elts;
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"stytch_jwt_cache\", "
                           "it must be at most %uz", &value[1],
                           (size_t) NGX_HTTP_STYTCH_MAX_JWT_CACHE);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_stytch_check_realm(ngx_conf_t *cf, void *post, void *data)
{
    ngx_str_t  *realm = data;

    u_char  *c;

    /* the realm is sent in a quoted-string: keep it plain */
    for (c = realm->data; c < realm->data + realm->len; c++) {
        if (*c == '"' || *c == '\\' || *c < ' ' || *c >= 0x7f) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid realm \"%V\" in \"stytch_realm\"",
                               realm);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}
