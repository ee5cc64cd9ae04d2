//! The REST side of the listing and of notifications (API-v2 "The listing", "Notifications"):
//! the marketplace's status reports (bearer `--service-token`), appointments, a member's room
//! settings (mute), and browsers' Web Push subscriptions.

use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use chat_core::listing::{AppointmentRequest, MuteRequest, StatusRequest};
use chat_core::Millis;
use serde_json::json;

use crate::http::{body_error, ApiError, AppState, Caller, RoomPath};
use crate::http_safety::check_bearer;
use crate::openapi::{
    BackendUnavailable, ErrorBody, Internal, NotAMember, RoomNotFound, Unauthorized,
};
use crate::openapi_listing::{
    AppointmentRequest as AppointmentBody, PushConfigBody, PushEndpoint, PushSubscriptionRequest,
    SettingsRequest, StatusRequest as StatusBody,
};

/// The marketplace reports a listing's trade status.
///
/// `Authorization: Bearer <--service-token>`. Every room of the listing gets a `SYSTEM`
/// `PRODUCT_STATUS` notice and the new `productStatus` (rooms opened later start with it);
/// the room whose buyer is `buyer` is told the listing is theirs, the others that it went to
/// someone else. Reporting the status (and buyer) it already has changes nothing.
#[utoipa::path(
    put,
    path = "/product/{productId}/status",
    tag = "listing",
    security(("service" = [])),
    params(("productId" = String, Path, description = "The marketplace's product id, 1-64 characters")),
    request_body(content = StatusBody, content_type = "application/json"),
    responses(
        (status = 204, description = "Recorded; every room of the listing is told"),
        (status = 400, description = "`invalid_body`, `invalid_status`, `invalid_user`, `invalid_product_id`", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no service token, a wrong one, or none configured", body = ErrorBody),
        Internal, BackendUnavailable,
    )
)]
pub(crate) async fn product_status(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(product): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    check_bearer(
        st.service_token.as_deref(),
        &headers,
        "status reports are off: start the server with --service-token",
    )?;
    let body = body.map_err(body_error)?;
    let request = StatusRequest::parse(st.service.limits(), &product, &body)?;
    st.service.set_product_status(request).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Sets (or moves) the room's appointment.
///
/// Members only. Both members get a `SYSTEM` `APPOINTMENT` notice and the room's new
/// `appointment`; a reminder notice follows an hour before (`--reminder-lead-secs`). Setting
/// the same time and place again changes nothing.
#[utoipa::path(
    put,
    path = "/room/{roomUUID}/appointment",
    tag = "listing",
    security(("gatewayUser" = []), ("bearer" = [])),
    params(("roomUUID" = String, Path, format = Uuid, description = "The room")),
    request_body(content = AppointmentBody, content_type = "application/json"),
    responses(
        (status = 204, description = "Set"),
        (status = 400, description = "`invalid_body`, `invalid_time` (unparseable, past, or over 365 days ahead), `invalid_place`, `invalid_room`", body = ErrorBody),
        (status = 403, description = "`not_a_member`, or `blocked`: one member blocks the other", body = ErrorBody),
        Unauthorized, RoomNotFound, Internal, BackendUnavailable,
    )
)]
pub(crate) async fn set_appointment(
    State(st): State<AppState>,
    Caller(user): Caller,
    RoomPath(room): RoomPath,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(body_error)?;
    let request = AppointmentRequest::parse(&body, Millis::now())?;
    st.service.set_appointment(&user, &room, request).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Cancels the room's appointment.
///
/// Members only. Both members get a `SYSTEM` `APPOINTMENT` notice with `"appointment": null`;
/// cancelling when none is set changes nothing.
#[utoipa::path(
    delete,
    path = "/room/{roomUUID}/appointment",
    tag = "listing",
    security(("gatewayUser" = []), ("bearer" = [])),
    params(("roomUUID" = String, Path, format = Uuid, description = "The room")),
    responses(
        (status = 204, description = "No appointment (any more)"),
        (status = 400, description = "`invalid_room`", body = ErrorBody),
        (status = 403, description = "`not_a_member`, or `blocked`", body = ErrorBody),
        Unauthorized, RoomNotFound, Internal, BackendUnavailable,
    )
)]
pub(crate) async fn cancel_appointment(
    State(st): State<AppState>,
    Caller(user): Caller,
    RoomPath(room): RoomPath,
) -> Result<Response, ApiError> {
    st.service.cancel_appointment(&user, &room).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Sets the caller's settings of a room: mute.
///
/// A muted room sends the caller no offline notifications; `mutedUntil` ends the mute at that
/// time. The caller's sessions get `ROOM_UPDATED` with the room's new `muted`.
#[utoipa::path(
    put,
    path = "/room/{roomUUID}/settings",
    tag = "listing",
    security(("gatewayUser" = []), ("bearer" = [])),
    params(("roomUUID" = String, Path, format = Uuid, description = "The room")),
    request_body(content = SettingsRequest, content_type = "application/json"),
    responses(
        (status = 204, description = "Set"),
        (status = 400, description = "`invalid_body`, `invalid_time` (past or unparseable `mutedUntil`), `invalid_room`", body = ErrorBody),
        Unauthorized, NotAMember, RoomNotFound, Internal, BackendUnavailable,
    )
)]
pub(crate) async fn settings(
    State(st): State<AppState>,
    Caller(user): Caller,
    RoomPath(room): RoomPath,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(body_error)?;
    let request = MuteRequest::parse(&body, Millis::now())?;
    st.service.set_mute(&user, &room, request).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Whether this server sends Web Push, and its VAPID public key (`applicationServerKey`).
#[utoipa::path(
    get,
    path = "/push/config",
    tag = "push",
    responses((status = 200, description = "The push settings a browser needs", body = PushConfigBody))
)]
pub(crate) async fn push_config(State(st): State<AppState>) -> Response {
    Json(json!({
        "webPush": st.vapid_public_key.is_some(),
        "vapidPublicKey": st.vapid_public_key.as_deref(),
    }))
    .into_response()
}

/// Keeps the caller's browser push subscription.
///
/// The body is the browser's `PushSubscription.toJSON()`. A browser (endpoint) belongs to the
/// user who subscribed last; a user keeps 20, the oldest going first. Offline notifications
/// of the caller's rooms go to every subscription they keep.
#[utoipa::path(
    post,
    path = "/push/subscriptions",
    tag = "push",
    security(("gatewayUser" = []), ("bearer" = [])),
    request_body(content = PushSubscriptionRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Kept"),
        (status = 400, description = "`invalid_body`, `invalid_endpoint` (not `https://` on a public host name), `invalid_key`", body = ErrorBody),
        (status = 409, description = "`push_disabled`: the server has no VAPID key", body = ErrorBody),
        Unauthorized, Internal, BackendUnavailable,
    )
)]
pub(crate) async fn subscribe(
    State(st): State<AppState>,
    Caller(user): Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(body_error)?;
    st.service.save_push_subscription(&user, &body).await?;
    Ok(StatusCode::CREATED.into_response())
}

/// Removes the caller's subscription with this endpoint (none is no error).
#[utoipa::path(
    delete,
    path = "/push/subscriptions",
    tag = "push",
    security(("gatewayUser" = []), ("bearer" = [])),
    request_body(content = PushEndpoint, content_type = "application/json"),
    responses(
        (status = 204, description = "Not kept (any more)"),
        (status = 400, description = "`invalid_body`, `invalid_endpoint`", body = ErrorBody),
        Unauthorized, Internal, BackendUnavailable,
    )
)]
pub(crate) async fn unsubscribe(
    State(st): State<AppState>,
    Caller(user): Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(body_error)?;
    st.service.delete_push_subscription(&user, &body).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
