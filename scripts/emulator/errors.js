'use strict';
// Stytch's API errors: the table of error types with their HTTP statuses and
// messages, the error a handler throws, and the body Stytch answers with
// ({status_code, request_id, error_type, error_message, error_url}, as
// stytch-node's lib/shared/errors.ts StytchErrorJSON reads it).

const { requestId, send } = require('./util.js');

const ERRORS = {
  unauthorized_credentials: [401, 'Unauthorized credentials.'],
  no_session_arguments: [400, 'Request must include one of session_token or session_jwt.'],
  too_many_session_arguments: [400, 'Request must include only one of session_token or session_jwt.'],
  unable_to_parse_session_jwt: [400, 'The session_jwt could not be parsed.'],
  invalid_session_jwt: [401, 'The session_jwt is invalid: its signature, key, issuer or audience could not be verified.'],
  session_not_found: [404, 'Session could not be found.'],
  invalid_session_duration_minutes: [400, 'session_duration_minutes must be an integer between 5 and 527040.'],
  invalid_session_custom_claims: [400, 'session_custom_claims must be an object.'],
  invalid_authorization_check: [400, 'authorization_check must have string resource_id and action (and organization_id for B2B).'],
  invalid_request_body: [400, 'The request body is not valid JSON.'],
  invalid_project_id: [400, 'The project_id is invalid.'],
  consumer_session_authorization_error: [403, 'User does not have permission to perform the requested action.'],
  session_authorization_error: [403, 'Member does not have permission to perform the requested action.'],
  session_authorization_tenancy_error: [403, 'Member belongs to a different organization.'],
  route_not_found: [404, 'The requested route does not exist.'],
  method_not_allowed: [405, 'The method is not allowed for this route.'],
  request_too_large: [413, 'The request body is too large.'],
  too_many_requests: [429, 'Too many requests have been made.'],
  internal_server_error: [500, 'Oops, something seems to have gone wrong, please reach out to support@stytch.com to let us know what went wrong.'],
};

// The error type a bare status fault answers with.
const STATUS_ERROR_TYPE = {
  400: 'bad_request', 401: 'unauthorized_credentials', 403: 'forbidden', 404: 'not_found',
  408: 'request_timeout', 429: 'too_many_requests', 500: 'internal_server_error',
  502: 'bad_gateway', 503: 'service_unavailable', 504: 'gateway_timeout',
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

function sendError(res, env, e) {
  send(res, e.status, errorBody(env, e.status, e.type, e.message));
}

module.exports = { ERRORS, STATUS_ERROR_TYPE, ApiError, errorBody, sendError };
