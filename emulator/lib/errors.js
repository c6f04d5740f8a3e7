'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// Stytch's API errors: the table of error types with their HTTP statuses and
// messages, the error a handler throws, and the body Stytch answers with
// ({status_code, request_id, error_type, error_message, error_url}, as
// stytch-node's lib/shared/errors.ts StytchErrorJSON reads it).

const http = require('node:http');
const { requestId, send } = require('./util.js');

// type: [status, message].  Where the status or message was read:
//   node   stytch-node test/b2c/sandbox.test.ts (answers of the real API)
//   docs   stytch.com/docs/api/errors/<status> and the error object page
//   ios    stytch-ios LocalizationManager.swift (Stytch's own messages)
//   openapi Stytch's OpenAPI as republished by api-evangelist/stytch
// "chosen": the type exists in Stytch's SDK error lists (stytch-browser
// StytchAPIErrorType.ts, stytch-java StytchAPIErrorType.kt) but its status
// or message was found nowhere; the emulator's choice is the plausible one.
const ERRORS = {
  // credentials and project
  unauthorized_credentials: [401, 'Unauthorized credentials.'], // openapi, ios
  unauthorized_project_id_test: [401, 'Test project IDs must be used with the test API: https://test.stytch.com.'], // chosen
  unauthorized_project_id_live: [401, 'Live project IDs must be used with the live API: https://api.stytch.com.'], // chosen
  use_https: [403, 'Please use https instead of http.'], // docs (error object)
  invalid_b2b_endpoint: [400, 'This endpoint is only enabled for B2B projects.'], // chosen, as the next
  invalid_consumer_endpoint: [400, 'This endpoint is only enabled for consumer projects.'], // ios; status chosen
  invalid_project_id: [400, 'The project_id is invalid.'], // chosen
  // sessions/authenticate and revoke
  no_session_arguments: [400, 'Request must include one of session_token or session_jwt.'], // chosen
  too_many_session_arguments: [400, 'Request must include only one of session_token or session_jwt.'], // chosen
  invalid_session_token: [400, 'Session token format is invalid.'], // chosen
  unable_to_parse_session_jwt: [400, 'The session_jwt could not be parsed or its signature could not be verified.'], // chosen
  jwt_invalid_issuer: [401, 'The JWT issuer is invalid.'], // chosen
  jwt_invalid_audience: [401, 'The JWT audience is invalid.'], // chosen
  jwt_invalid_claims: [401, 'The JWT claims are invalid.'], // chosen
  session_not_found: [404, 'Session could not be found.'], // node, docs, ios
  invalid_session_duration_minutes: [400, 'session_duration_minutes is invalid, should be between 5 to 527040 minutes.'], // ios
  invalid_session_custom_claims: [400, 'session_custom_claims must be an object.'], // chosen
  invalid_authorization_check: [400, 'authorization_check must have string resource_id and action (and organization_id for B2B).'], // chosen
  consumer_session_authorization_error: [403, 'User does not have permission to perform the requested action.'], // chosen
  session_authorization_error: [403, 'Member does not have permission to perform the requested action.'], // stytch-go stytcherror.go
  session_authorization_tenancy_error: [403, 'Member belongs to a different organization.'], // stytch-go stytcherror.go
  // sign-in: magic links and one-time passcodes
  invalid_email: [400, 'Email format is invalid.'], // ios
  email_not_found: [404, 'Email could not be found.'], // ios; docs (react-native, 404)
  magic_link_not_found: [404, 'The magic link could not be authenticated, try sending another magic link to the user.'], // node
  unable_to_auth_magic_link: [401, 'The magic link could not be authenticated because it was either already used or expired. Send another magic link to this user.'], // node
  invalid_method_id: [400, 'method_id format is invalid.'], // ios; status chosen
  invalid_code: [400, 'Code format is invalid.'], // ios; status chosen
  otp_code_not_found: [404, 'The passcode was incorrect and could not be authenticated, encourage the user to try inputting the passcode again or send another passcode.'], // ios; status chosen
  unable_to_auth_otp_code: [401, 'The passcode could not be authenticated because it was either already used or expired. Send another passcode to this user.'], // ios; status chosen
  // M2M clients (the token endpoint answers RFC 6749 errors: m2m.js)
  invalid_client_id: [400, 'client_id is invalid.'], // chosen
  invalid_client_secret: [400, 'client_secret must be at least 8 characters long and pass entropy requirements.'], // chosen
  duplicate_client_id: [400, 'A client with the specified client_id already exists for this project.'], // chosen
  m2m_client_not_found: [404, 'M2M client could not be found.'], // chosen
  next_client_secret_not_found: [404, 'The client has no next_client_secret: start a secret rotation first.'], // chosen
  // requests
  bad_request: [400, 'The submitted request is invalid.'], // docs
  invalid_request_body: [400, 'The request body is not valid JSON.'], // chosen
  route_not_found: [404, 'The requested route does not exist.'], // chosen message
  method_not_allowed: [405, 'The method is not allowed for this route.'], // chosen
  request_too_large: [413, 'The request body is too large.'], // chosen
  too_many_requests: [429, 'Too many requests have been made.'], // openapi, ios
  internal_server_error: [500, 'Oops, something seems to have gone wrong. If this issue persists, please reach out to support.'], // docs, ios
  server_unavailable: [503, 'Oops, something seems to have gone wrong. Please retry the request. If this issue persists, please reach out to support.'], // docs, ios
};

// The error type a bare status fault answers with.
const STATUS_ERROR_TYPE = {
  400: 'bad_request', 401: 'unauthorized_credentials', 403: 'forbidden', 404: 'route_not_found',
  408: 'request_timeout', 429: 'too_many_requests', 500: 'internal_server_error',
  502: 'bad_gateway', 503: 'server_unavailable', 504: 'gateway_timeout',
};

function errorBody(env, status, type, message) {
  return JSON.stringify({
    status_code: status, request_id: requestId(env), error_type: type,
    error_message: message, error_url: `https://stytch.com/docs/api/errors/${status}#${type}`,
  });
}

class ApiError extends Error {
  constructor(type, message) {
    const [status, msg] = ERRORS[type] || [500, 'error'];
    super(message || msg);
    this.status = status;
    this.type = type;
  }
}

// What a CDN in front of Stytch answers when it cannot reach its origin:
// an HTML page, not Stytch's JSON.
function htmlErrorPage(status) {
  const reason = http.STATUS_CODES[status] || 'Error';
  return '<!DOCTYPE html>\n<html><head><title>' + `${status} ${reason}` + '</title></head>\n' +
    `<body><center><h1>${status} ${reason}</h1></center>\n<hr><center>cloudflare</center>\n</body></html>\n`;
}

function sendError(res, env, e) {
  send(res, e.status, errorBody(env, e.status, e.type, e.message));
}

module.exports = { ERRORS, STATUS_ERROR_TYPE, ApiError, errorBody, htmlErrorPage, sendError };
