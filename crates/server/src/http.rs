//! The REST API of API.md and the WebSocket upgrade at `/ws-stomp`, with every error mapped to
//! the JSON error shape in one place ([`ApiError`]).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use bytes::Bytes;
use chat_core::{ChatError, ChatService, HistoryCursor, OpenRoomRequest, RoomId, UserId};
use futures::StreamExt;
use serde_json::json;
use tokio_util::task::TaskTracker;

use crate::auth::{bearer, AuthError, Authenticator};
use crate::openapi::{
    self, BackendUnavailable, ChatMessageSchema, ClientConfigBody, ErrorBody, HealthBody,
    InquiryAccepted, InquiryRequest, Internal, InvalidRoomId, NotAMember, PresenceBody, ReadyBody,
    ReadyError, RoomNotFound, RoomSchema, Unauthorized,
};
use crate::stomp::context::WsContext;
use crate::stomp::session;
use crate::telemetry;
use crate::websocket;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// The largest request body taken (`POST /inquiry`); a larger one is `413 too_large`, answered
/// from a declared `Content-Length` before the body is read.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The longest request target (path and query) taken; a longer one is `414 uri_too_long`.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// The most bytes of request header fields (names, values and their separators) taken; more is
/// `431 headers_too_large`.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The domain.
    pub service: Arc<ChatService>,
    /// Identity verification.
    pub auth: Arc<Authenticator>,
    /// STOMP sessions' shared context.
    pub ws: Arc<WsContext>,
    /// Tracks session tasks so shutdown can wait for them.
    pub tracker: TaskTracker,
    /// Most concurrent sessions.
    pub max_sessions: usize,
    /// The inquiry mailer's latest status, when `--smtp` is set (for `/ready`).
    pub mail: Option<chat_mail::MailHealth>,
    /// Renders `/metrics` (`None` if another Prometheus recorder owns the process).
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// Photos: uploads and serving.
    pub photos: Arc<crate::http_photos::PhotoDesk>,
    /// Rate limits per user and per client address.
    pub limits: Arc<crate::rate_limits::RateLimits>,
    /// The operators' token (`--admin-token`); `None`: the operators' API is off.
    pub admin_token: Option<Arc<str>>,
    /// The marketplace backend's bearer token (`--service-token`); `None` refuses its calls.
    pub service_token: Option<Arc<str>>,
    /// The VAPID public key browsers subscribe with; `None`: no Web Push.
    pub vapid_public_key: Option<Arc<str>>,
}

/// Every way a REST call can fail, mapped to a status and `{"error","message"}` in one place.
#[derive(Debug)]
pub enum ApiError {
    /// A domain refusal or failure.
    Chat(ChatError),
    /// No or bad identity.
    Unauthorized(AuthError),
    /// Malformed request outside the domain's validation (query string, body framing).
    BadRequest(&'static str, String),
    /// A body over the limit.
    TooLarge(String),
    /// A request target over [`MAX_URI_BYTES`].
    UriTooLong,
    /// Request header fields over [`MAX_HEADER_BYTES`].
    HeadersTooLarge,
    /// No such route.
    NotFound,
    /// Route exists, method does not.
    MethodNotAllowed,
    /// Too many sessions or a backend is down.
    Unavailable(String),
    /// The operators' API without the right `--admin-token`.
    AdminUnauthorized(&'static str),
}

impl From<ChatError> for ApiError {
    fn from(e: ChatError) -> Self {
        ApiError::Chat(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = match self {
            ApiError::Chat(e) => {
                let status = match &e {
                    ChatError::BadInput { .. } => StatusCode::BAD_REQUEST,
                    ChatError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                    ChatError::Unsupported { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    ChatError::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
                    ChatError::NotFound { .. } => StatusCode::NOT_FOUND,
                    ChatError::Forbidden { .. } => StatusCode::FORBIDDEN,
                    ChatError::Conflict { .. } => StatusCode::CONFLICT,
                    ChatError::RoomNotFound => StatusCode::NOT_FOUND,
                    ChatError::NotMember | ChatError::Blocked => StatusCode::FORBIDDEN,
                    ChatError::RateLimited { retry_after_secs } => {
                        let body = json!({"error": e.code(), "message": e.to_string()});
                        return (
                            StatusCode::TOO_MANY_REQUESTS,
                            [(
                                axum::http::header::RETRY_AFTER,
                                retry_after_secs.to_string(),
                            )],
                            Json(body),
                        )
                            .into_response();
                    }
                    ChatError::Unavailable | ChatError::ShuttingDown => {
                        StatusCode::SERVICE_UNAVAILABLE
                    }
                    ChatError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
                };
                (status, e.code(), e.to_string())
            }
            ApiError::Unauthorized(e) => (StatusCode::UNAUTHORIZED, "unauthorized", e.to_string()),
            ApiError::BadRequest(code, m) => (StatusCode::BAD_REQUEST, code, m),
            ApiError::TooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large", m),
            ApiError::UriTooLong => (
                StatusCode::URI_TOO_LONG,
                "uri_too_long",
                format!("the request target is over {MAX_URI_BYTES} bytes"),
            ),
            ApiError::HeadersTooLarge => (
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "headers_too_large",
                format!("the request headers are over {MAX_HEADER_BYTES} bytes or 100 fields"),
            ),
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                "not_found",
                "no such endpoint".to_owned(),
            ),
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this endpoint does not accept that method".to_owned(),
            ),
            ApiError::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", m),
            ApiError::AdminUnauthorized(m) => {
                let body = json!({"error": "unauthorized", "message": m});
                return (
                    StatusCode::UNAUTHORIZED,
                    [(axum::http::header::WWW_AUTHENTICATE, "Bearer")],
                    Json(body),
                )
                    .into_response();
            }
        };
        (status, Json(json!({"error": code, "message": message}))).into_response()
    }
}

/// The authenticated caller of a REST request.
pub struct Caller(pub UserId);

fn identify(auth: &Authenticator, headers: &HeaderMap) -> Result<UserId, AuthError> {
    let header_user = headers
        .get("x-auth-user")
        .map(|v| v.to_str().map_err(|_| AuthError::InvalidUser))
        .transpose()?;
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(bearer);
    auth.identify(header_user, token).map(|i| i.user)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ApiError> {
        identify(&st.auth, &parts.headers)
            .map(Caller)
            .map_err(ApiError::Unauthorized)
    }
}

/// The caller if the request carries an identity; a request without one is anonymous, a bad
/// one is still refused.
pub struct MaybeCaller(pub Option<UserId>);

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ApiError> {
        match identify(&st.auth, &parts.headers) {
            Ok(u) => Ok(MaybeCaller(Some(u))),
            Err(AuthError::Missing(_)) => Ok(MaybeCaller(None)),
            Err(e) => Err(ApiError::Unauthorized(e)),
        }
    }
}

/// A `{roomUUID}` path segment, validated.
pub struct RoomPath(pub RoomId);

impl FromRequestParts<AppState> for RoomPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, st)
            .await
            .map_err(|_| {
                ApiError::BadRequest("invalid_room_id", "a roomUUID must be a UUID".into())
            })?;
        RoomId::parse(&raw).map(RoomPath).map_err(ApiError::Chat)
    }
}

/// The query string as a map, with malformed ones refused as JSON 400s.
pub struct Params(pub HashMap<String, String>);

impl FromRequestParts<AppState> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        parse_query(parts.uri.query().unwrap_or("")).map(Params)
    }
}

/// Decodes `application/x-www-form-urlencoded` query parameters strictly: a value that is not
/// valid UTF-8 once percent-decoded is refused rather than silently mangled (a room named
/// "\u{FFFD}" helps nobody). The first occurrence of a repeated parameter wins.
fn parse_query(query: &str) -> Result<HashMap<String, String>, ApiError> {
    const MAX_PARAMS: usize = 32;
    let mut out = HashMap::new();
    for (n, pair) in query.split('&').filter(|p| !p.is_empty()).enumerate() {
        if n >= MAX_PARAMS {
            return Err(ApiError::BadRequest(
                "invalid_query",
                format!("too many query parameters (at most {MAX_PARAMS})"),
            ));
        }
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| {
            let plus = s.replace('+', " ");
            percent_encoding::percent_decode_str(&plus)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| {
                    ApiError::BadRequest(
                        "invalid_query",
                        "a query parameter is not valid UTF-8".into(),
                    )
                })
        };
        out.entry(decode(k)?).or_insert(decode(v)?);
    }
    Ok(out)
}

pub(crate) fn body_error(e: BytesRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge("the request body is too large".into())
    } else {
        ApiError::BadRequest("invalid_body", e.body_text())
    }
}

/// Refuses, before any handler runs or any body is read, a request whose target, header fields
/// or declared body length (`Content-Length`) is over its limit, and closes the connection
/// after the answer (the unread body makes the rest of the stream meaningless).
async fn request_limits(
    State((max_body, max_upload)): State<(usize, usize)>,
    req: Request,
    next: Next,
) -> Response {
    // A photo upload is the one body allowed to be large.
    let max_body =
        if req.method() == axum::http::Method::POST && req.uri().path().ends_with("/attachments") {
            max_upload
        } else {
            max_body
        };
    let target = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let refusal = if target > MAX_URI_BYTES {
        ApiError::UriTooLong
    } else if header_bytes > MAX_HEADER_BYTES {
        ApiError::HeadersTooLarge
    } else if declared.is_some_and(|n| n > max_body as u64) {
        ApiError::TooLarge(format!("the request body is over {max_body} bytes"))
    } else {
        return next.run(req).await;
    };
    let mut response = refusal.into_response();
    response.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    response
}

/// This API's OpenAPI 3.1 document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "service",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", content_type = "application/json", body = Object))
)]
pub(crate) async fn openapi_json() -> Response {
    static DOCUMENT: std::sync::LazyLock<Bytes> = std::sync::LazyLock::new(|| {
        serde_json::to_vec(&openapi::document_json())
            .map(Bytes::from)
            .unwrap_or_default()
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.clone(),
    )
        .into_response()
}

/// Builds the router.
pub fn router(state: AppState, max_body: usize) -> Router {
    // The multipart envelope around the largest photo: its headers and boundaries.
    let max_upload = (state.photos.max_bytes() as usize).saturating_add(64 * 1024);
    Router::new()
        .route("/room/create", post(create_room))
        .route("/room/list", get(list_rooms))
        .route("/room/enter/{room}", get(enter_room))
        .route("/room/delete/{room}", delete(leave_room))
        .route("/room/{room}/presence", get(room_presence))
        .route("/room/{room}/read", post(crate::http_reads::mark_read))
        .route("/room/unread", get(crate::http_reads::unread))
        .route("/chat/room/{room}", get(history))
        .route("/search", get(crate::http_search::search))
        .route(
            "/room/{room}/attachments",
            post(crate::http_photos::upload)
                .layer(axum::extract::DefaultBodyLimit::max(max_upload)),
        )
        .route(
            "/room/{room}/attachments/{id}",
            get(crate::http_photos::photo),
        )
        .route(
            "/room/{room}/attachments/{id}/thumbnail",
            get(crate::http_photos::thumbnail),
        )
        .route("/inquiry", post(inquiry))
        .route(
            "/user/blocks",
            get(crate::http_safety::blocks).post(crate::http_safety::block),
        )
        .route("/user/blocks/{user}", delete(crate::http_safety::unblock))
        .route("/report", post(crate::http_safety::report))
        .route("/admin/reports", get(crate::http_safety::admin_reports))
        .route(
            "/product/{product}/status",
            put(crate::http_listing::product_status),
        )
        .route(
            "/room/{room}/appointment",
            put(crate::http_listing::set_appointment)
                .delete(crate::http_listing::cancel_appointment),
        )
        .route("/room/{room}/settings", put(crate::http_listing::settings))
        .route("/push/config", get(crate::http_listing::push_config))
        .route(
            "/push/subscriptions",
            post(crate::http_listing::subscribe).delete(crate::http_listing::unsubscribe),
        )
        .route("/health", get(health))
        .route("/client/config", get(client_config))
        .route("/ready", get(ready))
        .route("/ws-stomp", get(ws_stomp))
        .route("/metrics", get(metrics_page))
        .route("/openapi.json", get(openapi_json))
        .merge(crate::web::router())
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn_with_state(
            (max_body, max_upload),
            request_limits,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::http_safety::limit_addresses,
        ))
        .layer(axum::middleware::from_fn(telemetry::track_http))
        .with_state(state)
}

/// Opens a 1:1 room with `user`, or finds it again.
///
/// The caller is the buyer. The same two users (in either role) and the same product (`productId` if given, else
/// `name`) always get the same room. A caller who had left it rejoins it.
#[utoipa::path(
    post,
    path = "/room/create",
    tag = "rooms",
    security(("gatewayUser" = []), ("bearer" = [])),
    params(
        ("user" = String, Query, pattern = "^[A-Za-z0-9._@:-]{1,128}$", description = "The seller: a user id (1-128 of `A-Za-z0-9-_.@:`)"),
        ("name" = String, Query, min_length = 1, max_length = 100, description = "The product's name, trimmed, 1-100 printable characters"),
        ("productId" = Option<String>, Query, max_length = 64, description = "The product's id, at most 64 printable characters"),
    ),
    responses(
        (status = 201, description = "A new room", body = RoomSchema, links(
            ("enter" = (operation_id = "enter_room", parameters(("roomUUID" = "$response.body#/roomUUID")))),
            ("history" = (operation_id = "history", parameters(("roomUUID" = "$response.body#/roomUUID")))),
            ("presence" = (operation_id = "room_presence", parameters(("roomUUID" = "$response.body#/roomUUID")))),
            ("leave" = (operation_id = "leave_room", parameters(("roomUUID" = "$response.body#/roomUUID")))),
        )),
        (status = 200, description = "The existing room of this pair and product", body = RoomSchema, links(
            ("enter" = (operation_id = "enter_room", parameters(("roomUUID" = "$response.body#/roomUUID")))),
            ("history" = (operation_id = "history", parameters(("roomUUID" = "$response.body#/roomUUID")))),
            ("presence" = (operation_id = "room_presence", parameters(("roomUUID" = "$response.body#/roomUUID")))),
            ("leave" = (operation_id = "leave_room", parameters(("roomUUID" = "$response.body#/roomUUID")))),
        )),
        (status = 400, description = "`missing_user`, `missing_name`, `self_chat`, `invalid_user`, `invalid_name`, `invalid_product_id`, `invalid_query` (a value not UTF-8, over 32 parameters)", body = ErrorBody),
        Unauthorized, Internal, BackendUnavailable,
    )
)]
pub(crate) async fn create_room(
    State(st): State<AppState>,
    Caller(user): Caller,
    Params(q): Params,
) -> Result<Response, ApiError> {
    let req = OpenRoomRequest {
        seller: q.get("user").cloned(),
        name: q.get("name").cloned(),
        product_id: q.get("productId").cloned(),
    };
    st.limits
        .check_user_everywhere(crate::rate_limits::Kind::Rooms, &user)
        .await?;
    let (room, created) = st.service.open_room(&user, req).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(room.seen_by(&user))).into_response())
}

/// The caller's rooms (not left), most recent activity first, at most 1,000.
#[utoipa::path(
    get,
    path = "/room/list",
    tag = "rooms",
    security(("gatewayUser" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The rooms, each with its newest message", body = Vec<RoomSchema>),
        Unauthorized, Internal, BackendUnavailable,
    )
)]
pub(crate) async fn list_rooms(
    State(st): State<AppState>,
    Caller(user): Caller,
) -> Result<Response, ApiError> {
    let rooms = st.service.list_rooms(&user).await?;
    let views: Vec<_> = rooms.iter().map(|r| r.seen_by(&user)).collect();
    Ok(Json(views).into_response())
}

/// One room, for its members.
#[utoipa::path(
    get,
    path = "/room/enter/{roomUUID}",
    tag = "rooms",
    security(("gatewayUser" = []), ("bearer" = [])),
    params(("roomUUID" = String, Path, format = Uuid, description = "The room's id")),
    responses(
        (status = 200, description = "The room", body = RoomSchema),
        InvalidRoomId, Unauthorized, NotAMember, RoomNotFound, Internal, BackendUnavailable,
    )
)]
pub(crate) async fn enter_room(
    State(st): State<AppState>,
    Caller(user): Caller,
    RoomPath(room): RoomPath,
) -> Result<Response, ApiError> {
    let room = st.service.enter(&user, &room).await?;
    Ok(Json(room.seen_by(&user)).into_response())
}

/// The caller leaves the room.
///
/// The other member gets a `SYSTEM` message. The last member leaving deletes the room and its
/// messages.
#[utoipa::path(
    delete,
    path = "/room/delete/{roomUUID}",
    tag = "rooms",
    security(("gatewayUser" = []), ("bearer" = [])),
    params(("roomUUID" = String, Path, format = Uuid, description = "The room's id")),
    responses(
        (status = 204, description = "Left"),
        InvalidRoomId, Unauthorized, NotAMember, RoomNotFound, Internal, BackendUnavailable,
    )
)]
pub(crate) async fn leave_room(
    State(st): State<AppState>,
    Caller(user): Caller,
    RoomPath(room): RoomPath,
) -> Result<Response, ApiError> {
    st.service.leave(&user, &room).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Who of the room's members is online, and who is subscribed to the room now.
#[utoipa::path(
    get,
    path = "/room/{roomUUID}/presence",
    tag = "rooms",
    security(("gatewayUser" = []), ("bearer" = [])),
    params(("roomUUID" = String, Path, format = Uuid, description = "The room's id")),
    responses(
        (status = 200, description = "Presence", body = PresenceBody),
        (status = 503, description = "`backend_unavailable` (storage or presence unreachable; chat itself keeps working) or `shutting_down`", body = ErrorBody),
        InvalidRoomId, Unauthorized, NotAMember, RoomNotFound, Internal,
    )
)]
pub(crate) async fn room_presence(
    State(st): State<AppState>,
    Caller(user): Caller,
    RoomPath(room): RoomPath,
) -> Result<Response, ApiError> {
    let p = st.service.room_presence(&user, &room).await?;
    Ok(
        Json(json!({"online": p.online, "inRoom": p.in_room, "lastSeenAt": p.last_seen}))
            .into_response(),
    )
}

pub(crate) fn parse_id(q: &HashMap<String, String>, key: &str) -> Result<Option<i64>, ApiError> {
    q.get(key)
        .map(|v| {
            v.parse::<i64>().map_err(|_| {
                ApiError::BadRequest(
                    "invalid_cursor",
                    format!("'{key}' must be a message id (an integer)"),
                )
            })
        })
        .transpose()
}

/// A page of a room's history, ascending by id.
///
/// The newest `limit` messages, or the `limit` just before `before`, or just after `after`
/// (catch-up after a reconnect).
#[utoipa::path(
    get,
    path = "/chat/room/{roomUUID}",
    tag = "chat",
    security(("gatewayUser" = []), ("bearer" = [])),
    params(
        ("roomUUID" = String, Path, format = Uuid, description = "The room's id"),
        ("before" = Option<i64>, Query, minimum = 0, description = "The messages just before this id"),
        ("after" = Option<i64>, Query, minimum = 0, description = "The messages just after this id (not with `before`)"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 200, description = "Page size, default 50, at most `--history-max` (200 by default)"),
    ),
    responses(
        (status = 200, description = "The messages, ascending by id", body = Vec<ChatMessageSchema>),
        (status = 400, description = "`invalid_room_id`, `invalid_limit` (not 1 to the maximum), `invalid_cursor` (not an id, or both cursors), `invalid_query`", body = ErrorBody),
        Unauthorized, NotAMember, RoomNotFound, Internal, BackendUnavailable,
    )
)]
pub(crate) async fn history(
    State(st): State<AppState>,
    Caller(user): Caller,
    RoomPath(room): RoomPath,
    Params(q): Params,
) -> Result<Response, ApiError> {
    let cursor = match (parse_id(&q, "before")?, parse_id(&q, "after")?) {
        (Some(_), Some(_)) => {
            return Err(ApiError::BadRequest(
                "invalid_cursor",
                "give 'before' or 'after', not both".into(),
            ))
        }
        (Some(b), None) => HistoryCursor::Before(b),
        (None, Some(a)) => HistoryCursor::After(a),
        (None, None) => HistoryCursor::Latest,
    };
    let limit = q
        .get("limit")
        .map(|v| {
            v.parse::<u32>().map_err(|_| {
                ApiError::BadRequest("invalid_limit", "'limit' must be a positive integer".into())
            })
        })
        .transpose()?;
    let page = st.service.history(&user, &room, cursor, limit).await?;
    Ok(Json(page).into_response())
}

/// Stores an inquiry for the operators.
///
/// Stored durably, then mailed when `--smtp` is set. Needs no identity; one that is sent must
/// be valid.
#[utoipa::path(
    post,
    path = "/inquiry",
    tag = "inquiry",
    security((), ("gatewayUser" = []), ("bearer" = [])),
    request_body(content = InquiryRequest, content_type = "application/json"),
    responses(
        (status = 202, description = "Stored (and queued for mail)", body = InquiryAccepted),
        (status = 400, description = "`invalid_body` (not a JSON object), `missing_field` (a field absent, empty or not a string), `invalid_email`, `invalid_title` (not one line of printable characters), `invalid_field` (a NUL character)", body = ErrorBody),
        (status = 413, description = "`too_large` (the body is over 64 KiB; answered from `Content-Length` before the body is read) or `field_too_long` (email over 254, title over 200, content over 10,000 characters)", body = ErrorBody),
        Unauthorized, Internal, BackendUnavailable,
    )
)]
pub(crate) async fn inquiry(
    State(st): State<AppState>,
    MaybeCaller(user): MaybeCaller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(body_error)?;
    let id = st.service.submit_inquiry(user, &body).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"id": id, "status": "queued"})),
    )
        .into_response())
}

/// Prometheus metrics of this node.
///
/// The text exposition format (version 0.0.4): sessions open, STOMP frames in and out by
/// command, messages stored, group-commit batch sizes and latency, bus publish and Kafka lags,
/// fan-out deliveries, slow-consumer closes, outbox depth, HTTP requests by route and status.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "service",
    responses(
        (status = 200, description = "Prometheus text exposition", content_type = "text/plain", body = String),
        (status = 503, description = "`unavailable`: this process records no metrics", body = ErrorBody),
    )
)]
pub(crate) async fn metrics_page(State(st): State<AppState>) -> Result<Response, ApiError> {
    let Some(handle) = &st.metrics else {
        return Err(ApiError::Unavailable(
            "metrics are not recorded by this process".into(),
        ));
    };
    // Read at scrape time: it is a database count, not something worth updating per send.
    match st.service.outbox_depth().await {
        Ok(n) => metrics::gauge!(telemetry::OUTBOX_DEPTH).set(n as f64),
        Err(e) => tracing::debug!(error = %e, "outbox depth unavailable for /metrics"),
    }
    match st.service.notifications_pending().await {
        Ok(n) => metrics::gauge!(telemetry::NOTIFICATIONS_PENDING).set(n as f64),
        Err(e) => tracing::debug!(error = %e, "notifications pending unavailable for /metrics"),
    }
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response())
}

/// Liveness: the process runs.
#[utoipa::path(
    get,
    path = "/health",
    tag = "service",
    responses((status = 200, description = "Always, while the process runs", body = HealthBody))
)]
pub(crate) async fn health() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

/// What the web client needs before signing in: the identity mode and the limits.
#[utoipa::path(
    get,
    path = "/client/config",
    tag = "service",
    responses((status = 200, description = "The identity mode and the client-facing limits", body = ClientConfigBody))
)]
pub(crate) async fn client_config(State(st): State<AppState>) -> Response {
    let auth = match *st.auth {
        Authenticator::Header => "header",
        Authenticator::Jwt { .. } => "jwt",
    };
    let limits = st.service.limits();
    let heartbeat_ms = u64::try_from(st.ws.limits.heartbeat.as_millis()).unwrap_or(u64::MAX);
    Json(json!({
        "auth": auth,
        "heartbeatMs": heartbeat_ms,
        "limits": {
            "contentChars": limits.max_content_chars,
            "historyPage": limits.history_max,
            "subscriptions": st.ws.limits.max_subscriptions,
            "attachmentBytes": st.photos.max_bytes(),
            "attachmentsPerMessage": limits.max_attachments_per_message,
        },
    }))
    .into_response()
}

/// Readiness: whether every configured backend answers.
#[utoipa::path(
    get,
    path = "/ready",
    tag = "service",
    responses(
        (status = 200, description = "Every backend answers", body = ReadyBody),
        (status = 503, description = "`backend_unavailable`: `backends` names which is `unavailable`", body = ReadyError),
    )
)]
pub(crate) async fn ready(State(st): State<AppState>) -> Response {
    let checks = st.service.readiness().await;
    let all_ok = checks.iter().all(|(_, r)| r.is_ok());
    let mut backends: serde_json::Map<String, serde_json::Value> = checks
        .into_iter()
        .map(|(name, r)| {
            let v = match r {
                Ok(()) => json!("ok"),
                Err(e) => {
                    tracing::warn!(backend = name, error = %e, "not ready");
                    json!("unavailable")
                }
            };
            (name.to_owned(), v)
        })
        .collect();
    // Mail is asynchronous (inquiries wait in the outbox), so it never makes the node unready.
    let mail = st.mail.as_ref().map_or("disabled", |h| h.status().as_str());
    backends.insert("mail".to_owned(), json!(mail));
    if all_ok {
        Json(json!({"status": "ready", "backends": backends})).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error": "backend_unavailable",
                "message": "a configured backend is unreachable", "backends": backends})),
        )
            .into_response()
    }
}

/// The STOMP endpoint: a WebSocket upgrade.
///
/// An RFC 6455 upgrade (`GET` with `Connection: Upgrade`,
/// `Upgrade: websocket`, `Sec-WebSocket-Version: 13`, `Sec-WebSocket-Key`, and
/// `Sec-WebSocket-Protocol` offering `v12.stomp`, `v11.stomp` and/or `v10.stomp`). After the
/// `101` the connection speaks STOMP frames in WebSocket messages (see API.md): identity comes in
/// the `CONNECT` frame, or from a gateway's `X-Auth-User` on this request in header mode. No
/// HTTP timeout applies to an upgraded connection.
#[utoipa::path(
    get,
    path = "/ws-stomp",
    tag = "websocket",
    responses(
        (status = 101, description = "Switched to WebSocket; the STOMP session begins", headers(
            ("Upgrade" = String, description = "`websocket`"),
            ("Connection" = String, description = "`upgrade`"),
            ("Sec-WebSocket-Accept" = String, description = "The RFC 6455 answer to the key"),
            ("Sec-WebSocket-Protocol" = String, description = "The chosen subprotocol, the highest offered of `v12.stomp`, `v11.stomp`, `v10.stomp`"),
        )),
        (status = 400, description = "`not_a_websocket`: not a WebSocket upgrade request", body = ErrorBody),
        (status = 503, description = "`unavailable` (the node has `--max-sessions` sessions) or `shutting_down`", body = ErrorBody),
    )
)]
pub(crate) async fn ws_stomp(
    State(st): State<AppState>,
    mut req: axum::extract::Request,
) -> Result<Response, ApiError> {
    let on_upgrade = req.extensions_mut().remove::<hyper::upgrade::OnUpgrade>();
    let headers = req.headers();
    let accepted = websocket::accept(headers, on_upgrade).map_err(|e| {
        ApiError::BadRequest("not_a_websocket", format!("{e}: connect with a WebSocket"))
    })?;
    if st.ws.shutdown.is_cancelled() {
        return Err(ApiError::Chat(ChatError::ShuttingDown));
    }
    // Reserve a slot before upgrading, so the limit holds under a connection storm. The slot
    // is freed when the session ends, also if its upgrade fails or its task panics.
    let Some(slot) = st.ws.reserve(st.max_sessions) else {
        return Err(ApiError::Unavailable(
            "too many connections, retry later".into(),
        ));
    };
    // Only meaningful in header mode, where a gateway authenticates the upgrade request.
    let gateway_user = headers
        .get("x-auth-user")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .filter(|_| st.auth.is_header_mode());
    let ctx = st.ws.clone();
    let max = ctx.limits.max_message_bytes;
    let config = WebSocketConfig::default()
        // Allocated up front for every session and never shrunk: most sessions idle, chat
        // frames are a few hundred bytes, and a larger frame is read in more steps.
        .read_buffer_size(1024)
        // Queued frames are written in bursts (see the session loop): up to 4 KiB gathered
        // per system call, a bound small enough for what a busy session keeps allocated.
        .write_buffer_size(4 * 1024)
        .max_write_buffer_size(max * 4)
        .max_message_size(Some(max))
        .max_frame_size(Some(max));
    st.tracker.spawn(async move {
        let socket = match websocket::upgraded(accepted.on_upgrade, config).await {
            Ok(socket) => socket,
            Err(e) => {
                tracing::debug!(error = %e, "websocket upgrade failed");
                return;
            }
        };
        let (writer, reader) = socket.split();
        let ended = session::run(reader, writer, ctx, gateway_user).await;
        if ended.unread_input {
            if let Ok(mut socket) = ended.reader.reunite(ended.writer) {
                websocket::drain(&mut socket).await;
            }
        }
        drop(slot);
    });
    Ok(accepted.response)
}
