//! The REST side of search (API-v2 "Search"): `GET /search`. The rules are the domain's
//! (`chat_core::search`).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chat_core::search::SearchRequest;
use chat_core::RoomId;
use utoipa::ToSchema;

use crate::http::{parse_id, ApiError, AppState, Caller, Params};
use crate::openapi::{
    BackendUnavailable, ChatMessageSchema, ErrorBody, Internal, NotAMember, RoomNotFound,
    Unauthorized,
};

/// A page of hits (the wire shape of `chat_core::search::SearchPage`).
#[derive(ToSchema)]
#[allow(dead_code)] // A schema only: the body is `chat_core::search::SearchPage` serialized.
#[schema(example = json!({"messages": [{"id": 981, "roomUUID": "9f1c2a4e-6b0d-4c8e-9a53-2f6d7e8b1c30",
    "sender": "bob", "content": "택배거래 가능해요", "type": "TEXT",
    "createdAt": "2026-11-24T05:48:17.123Z"}], "next": null}))]
pub struct SearchBody {
    /// The hits, newest first.
    pub messages: Vec<ChatMessageSchema>,
    /// Send it back as `before` for older hits; `null` on the last page.
    pub next: Option<i64>,
}

/// Searches the caller's own chats.
///
/// Every word of `q` must occur in a message (in any order) for it to be a hit: as a substring,
/// so a Korean word is found with particles attached and inside longer words (`택배` finds
/// `택배거래`), a word of initial consonants only finds the words whose syllables begin with them in a row (`ㅌㅂ` finds
/// `택배`), Latin letters match in either case, and no character is a wildcard. Only messages
/// of the rooms the caller is a member of now, newest first.
#[utoipa::path(
    get,
    path = "/search",
    tag = "chat",
    security(("gatewayUser" = []), ("bearer" = [])),
    params(
        ("q" = String, Query, max_length = 100, description = "The words (at most 8; at least one of 2 characters or more)"),
        ("roomUUID" = Option<String>, Query, format = Uuid, description = "Only this room (members only)"),
        ("before" = Option<i64>, Query, minimum = 1, description = "Only hits older than this id: the previous page's `next`"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 50, description = "Page size, default 20"),
    ),
    responses(
        (status = 200, description = "The hits, newest first, and the next page's cursor", body = SearchBody),
        (status = 400, description = "`invalid_query` (missing, empty, no word of 2 characters, longer than 100 characters, more than 8 words), `invalid_room_id`, `invalid_cursor`, `invalid_limit`", body = ErrorBody),
        Unauthorized, NotAMember, RoomNotFound, Internal, BackendUnavailable,
    )
)]
pub(crate) async fn search(
    State(st): State<AppState>,
    Caller(user): Caller,
    Params(q): Params,
) -> Result<Response, ApiError> {
    let room = q.get("roomUUID").map(|r| RoomId::parse(r)).transpose()?;
    let limit = q
        .get("limit")
        .map(|v| {
            v.parse::<u32>().map_err(|_| {
                ApiError::BadRequest(
                    "invalid_limit",
                    "'limit' must be an integer from 1 to 50".into(),
                )
            })
        })
        .transpose()?;
    let request = SearchRequest::parse(
        q.get("q").map(String::as_str),
        room,
        parse_id(&q, "before")?,
        limit,
    )?;
    let page = st.service.search(&user, &request).await?;
    Ok(Json(page).into_response())
}
