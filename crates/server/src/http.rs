//! The REST API of API.md and the WebSocket upgrade at `/ws-stomp`, with every error mapped to
//! the JSON error shape in one place ([`ApiError`]).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use bytes::Bytes;
use chat_core::{ChatError, ChatService, HistoryCursor, OpenRoomRequest, RoomId, UserId};
use futures::StreamExt;
use serde_json::json;
use tokio_util::task::TaskTracker;

use crate::auth::{bearer, AuthError, Authenticator};
use crate::stomp::context::WsContext;
use crate::stomp::session;
use crate::telemetry;
use crate::websocket;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

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
    /// Largest WebSocket message accepted (twice the frame limit: a frame plus heart-beats).
    pub max_ws_message: usize,
    /// Most concurrent sessions.
    pub max_sessions: usize,
    /// The inquiry mailer's latest status, when `--smtp` is set (for `/ready`).
    pub mail: Option<chat_mail::MailHealth>,
    /// Renders `/metrics` (`None` if another Prometheus recorder owns the process).
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
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
    /// No such route.
    NotFound,
    /// Route exists, method does not.
    MethodNotAllowed,
    /// Too many sessions or a backend is down.
    Unavailable(String),
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
                    ChatError::RoomNotFound => StatusCode::NOT_FOUND,
                    ChatError::NotMember => StatusCode::FORBIDDEN,
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

fn body_error(e: BytesRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge("the request body is too large".into())
    } else {
        ApiError::BadRequest("invalid_body", e.body_text())
    }
}

/// Builds the router.
pub fn router(state: AppState, max_body: usize) -> Router {
    Router::new()
        .route("/room/create", post(create_room))
        .route("/room/list", get(list_rooms))
        .route("/room/enter/{room}", get(enter_room))
        .route("/room/delete/{room}", delete(leave_room))
        .route("/room/{room}/presence", get(room_presence))
        .route("/chat/room/{room}", get(history))
        .route("/inquiry", post(inquiry))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/ws-stomp", get(ws_stomp))
        .route("/metrics", get(metrics_page))
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn(telemetry::track_http))
        .with_state(state)
}

async fn create_room(
    State(st): State<AppState>,
    Caller(user): Caller,
    Params(q): Params,
) -> Result<Response, ApiError> {
    let req = OpenRoomRequest {
        seller: q.get("user").cloned(),
        name: q.get("name").cloned(),
        product_id: q.get("productId").cloned(),
    };
    let (room, created) = st.service.open_room(&user, req).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(room)).into_response())
}

async fn list_rooms(
    State(st): State<AppState>,
    Caller(user): Caller,
) -> Result<Response, ApiError> {
    Ok(Json(st.service.list_rooms(&user).await?).into_response())
}

async fn enter_room(
    State(st): State<AppState>,
    Caller(user): Caller,
    RoomPath(room): RoomPath,
) -> Result<Response, ApiError> {
    Ok(Json(st.service.enter(&user, &room).await?).into_response())
}

async fn leave_room(
    State(st): State<AppState>,
    Caller(user): Caller,
    RoomPath(room): RoomPath,
) -> Result<Response, ApiError> {
    st.service.leave(&user, &room).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn room_presence(
    State(st): State<AppState>,
    Caller(user): Caller,
    RoomPath(room): RoomPath,
) -> Result<Response, ApiError> {
    let p = st.service.room_presence(&user, &room).await?;
    Ok(Json(json!({"online": p.online, "inRoom": p.in_room})).into_response())
}

fn parse_id(q: &HashMap<String, String>, key: &str) -> Result<Option<i64>, ApiError> {
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

async fn history(
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

async fn inquiry(
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

/// Prometheus text exposition of this node's metrics.
async fn metrics_page(State(st): State<AppState>) -> Result<Response, ApiError> {
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
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response())
}

async fn health() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

async fn ready(State(st): State<AppState>) -> Response {
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

async fn ws_stomp(
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
    let max = st.max_ws_message;
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
