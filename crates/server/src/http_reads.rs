//! The REST side of read marks (API-v2 "Read marks and unread counts"): `POST
//! /room/{roomUUID}/read` and `GET /room/unread`. The rules are the domain's (`chat_core::reads`).

use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use chat_core::ReadCommand;

use crate::http::{body_error, ApiError, AppState, Caller, RoomPath};
use crate::openapi::{
    BackendUnavailable, ErrorBody, Internal, NotAMember, ReadRequest, RoomNotFound, Unauthorized,
    UnreadBody,
};

/// Marks the room read up to a message id.
///
/// A mark never moves back: a lower `upTo` changes nothing. An `upTo` past the room's newest
/// message is taken as the newest. When the mark moves, every session of both members gets a
/// `READ` event.
#[utoipa::path(
    post,
    path = "/room/{roomUUID}/read",
    tag = "rooms",
    security(("gatewayUser" = []), ("bearer" = [])),
    params(("roomUUID" = String, Path, format = Uuid, description = "The room's id")),
    request_body(content = ReadRequest, content_type = "application/json"),
    responses(
        (status = 204, description = "Marked (or the mark was there already)"),
        (status = 400, description = "`invalid_room_id`, or `invalid_body` (not a JSON object whose `upTo` is a positive integer)", body = ErrorBody),
        Unauthorized, NotAMember, RoomNotFound, Internal, BackendUnavailable,
    )
)]
pub(crate) async fn mark_read(
    State(st): State<AppState>,
    Caller(user): Caller,
    RoomPath(room): RoomPath,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(body_error)?;
    let cmd = ReadCommand::parse(&body)?;
    st.service.mark_read(&user, &room, cmd).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The caller's unread messages and the rooms they are in.
#[utoipa::path(
    get,
    path = "/room/unread",
    tag = "rooms",
    security(("gatewayUser" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Unread messages (`total`) in how many rooms (`rooms`)", body = UnreadBody),
        Unauthorized, Internal, BackendUnavailable,
    )
)]
pub(crate) async fn unread(
    State(st): State<AppState>,
    Caller(user): Caller,
) -> Result<Response, ApiError> {
    Ok(Json(st.service.unread(&user).await?).into_response())
}
