//! The REST side of safety (API-v2 "Safety"): blocks (`/user/blocks`), reports (`/report`),
//! the operators' list of reports (`/admin/reports`, bearer `--admin-token`), and the
//! per-address rate limit in front of every route.

use std::net::IpAddr;

use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::http::{body_error, ApiError, AppState, Caller};
use crate::openapi::{
    BackendUnavailable, BlockRequest, BlocksBody, ErrorBody, Internal, NotAMember, ReportAccepted,
    ReportRequest, ReportsBody, RoomNotFound, Unauthorized,
};
use crate::rate_limits::Kind;

/// The client's address, as the listener accepted it (set on every request by `serve`).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub IpAddr);

/// Blocks a user.
///
/// While either of two users blocks the other, messages between them are refused (`ERROR`
/// `blocked`), neither can open a room with the other (`403 blocked`), typing and presence stop;
/// history stays readable. Blocking again is no error.
#[utoipa::path(
    post,
    path = "/user/blocks",
    tag = "safety",
    security(("gatewayUser" = []), ("bearer" = [])),
    request_body(content = BlockRequest, content_type = "application/json"),
    responses(
        (status = 204, description = "Blocked (or was already)"),
        (status = 400, description = "`invalid_body`, `invalid_user`, `self_block`", body = ErrorBody),
        (status = 404, description = "`user_not_found`: nobody by that id has used the chat", body = ErrorBody),
        (status = 429, description = "`too_many_blocks` (the most a user may block), or `rate_limited` (with `Retry-After`)", body = ErrorBody),
        Unauthorized, Internal, BackendUnavailable,
    )
)]
pub(crate) async fn block(
    State(st): State<AppState>,
    Caller(user): Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(body_error)?;
    st.limits.check_user_everywhere(Kind::Blocks, &user).await?;
    st.service.block(&user, &body).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Lifts a block.
///
/// Lifting a block that is not there is no error: the end state is the same.
#[utoipa::path(
    delete,
    path = "/user/blocks/{user}",
    tag = "safety",
    security(("gatewayUser" = []), ("bearer" = [])),
    params(("user" = String, Path, description = "The blocked user's id")),
    responses(
        (status = 204, description = "Not blocked (any more)"),
        (status = 400, description = "`invalid_user`", body = ErrorBody),
        Unauthorized, Internal, BackendUnavailable,
    )
)]
pub(crate) async fn unblock(
    State(st): State<AppState>,
    Caller(user): Caller,
    Path(other): Path<String>,
) -> Result<Response, ApiError> {
    st.limits.check_user_everywhere(Kind::Blocks, &user).await?;
    st.service.unblock(&user, &other).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The users the caller blocks, sorted.
#[utoipa::path(
    get,
    path = "/user/blocks",
    tag = "safety",
    security(("gatewayUser" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Whom the caller blocks", body = BlocksBody),
        Unauthorized, Internal, BackendUnavailable,
    )
)]
pub(crate) async fn blocks(
    State(st): State<AppState>,
    Caller(user): Caller,
) -> Result<Response, ApiError> {
    let users = st.service.blocked_users(&user).await?;
    Ok(Json(json!({ "users": users })).into_response())
}

/// Reports a room (or one of its messages) to the operators.
///
/// Members only. The report keeps a copy of the room's last 100 messages as they are now,
/// whatever later becomes of the room, and is mailed to the operators through the inquiry
/// outbox.
#[utoipa::path(
    post,
    path = "/report",
    tag = "safety",
    security(("gatewayUser" = []), ("bearer" = [])),
    request_body(content = ReportRequest, content_type = "application/json"),
    responses(
        (status = 202, description = "Stored; the operators are told", body = ReportAccepted),
        (status = 400, description = "`invalid_body`, `invalid_room`, `invalid_reason`, `invalid_message_id` (not a positive integer, or not a message of the room), `invalid_detail`", body = ErrorBody),
        (status = 413, description = "`detail_too_long`: over 1,000 characters", body = ErrorBody),
        Unauthorized, NotAMember, RoomNotFound, Internal, BackendUnavailable,
    )
)]
pub(crate) async fn report(
    State(st): State<AppState>,
    Caller(user): Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(body_error)?;
    st.limits
        .check_user_everywhere(Kind::Reports, &user)
        .await?;
    let id = st.service.report(&user, &body).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "id": id }))).into_response())
}

/// `?before=&limit=` of the operators' list.
#[derive(Deserialize)]
pub(crate) struct ReportsQuery {
    before: Option<i64>,
    limit: Option<u32>,
}

/// The reports, newest first (operators).
///
/// `Authorization: Bearer <--admin-token>`. Pages go back with `before` = the last page's
/// `next`.
#[utoipa::path(
    get,
    path = "/admin/reports",
    tag = "safety",
    security(("admin" = [])),
    params(
        ("before" = Option<i64>, Query, description = "Only reports with a lower id (the previous page's `next`)"),
        ("limit" = Option<u32>, Query, description = "Page size, 1–50 (default 20)"),
    ),
    responses(
        (status = 200, description = "A page of reports", body = ReportsBody),
        (status = 400, description = "`invalid_cursor`, `invalid_limit`, `invalid_query`", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no admin token, a wrong one, or none configured", body = ErrorBody),
        Internal, BackendUnavailable,
    )
)]
pub(crate) async fn admin_reports(
    State(st): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<ReportsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    check_admin(&st, &headers)?;
    let Query(q) = query.map_err(|_| {
        ApiError::BadRequest(
            "invalid_query",
            "'before' and 'limit' must be positive integers".into(),
        )
    })?;
    let page = st.service.reports(q.before, q.limit).await?;
    Ok(Json(page).into_response())
}

/// The operators' token check.
fn check_admin(st: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    check_bearer(
        st.admin_token.as_deref(),
        headers,
        "the operators' API is off: start the server with --admin-token",
    )
}

/// A bearer token check against `expected` (`None`: the API it guards is off, and says so
/// with `off`). The digests are compared, so the time taken tells nothing of the token.
pub(crate) fn check_bearer(
    expected: Option<&str>,
    headers: &HeaderMap,
    off: &'static str,
) -> Result<(), ApiError> {
    let given = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match (expected, given) {
        (None, _) => Err(ApiError::AdminUnauthorized(off)),
        (Some(_), None) => Err(ApiError::AdminUnauthorized(
            "Authorization: Bearer <token> is required",
        )),
        (Some(token), Some(given)) => {
            if Sha256::digest(token.as_bytes()) == Sha256::digest(given.as_bytes()) {
                Ok(())
            } else {
                Err(ApiError::AdminUnauthorized("wrong token"))
            }
        }
    }
}

/// The per-address limits in front of every route: WebSocket upgrades count as `connects`,
/// other calls as `requests`; health, readiness and metrics are never limited (probes).
pub(crate) async fn limit_addresses(
    State(st): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let kind = match path {
        "/health" | "/ready" | "/metrics" => None,
        "/ws-stomp" => Some(Kind::Connects),
        _ => Some(Kind::Requests),
    };
    if let (Some(kind), Some(ClientAddr(addr))) =
        (kind, request.extensions().get::<ClientAddr>().copied())
    {
        if let Err(e) = st.limits.check_address(kind, addr) {
            return ApiError::Chat(e).into_response();
        }
    }
    next.run(request).await
}
