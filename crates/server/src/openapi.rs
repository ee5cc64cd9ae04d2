//! The OpenAPI 3.1 document of the HTTP API, served at `GET /openapi.json`. The operations come
//! from the `#[utoipa::path]` annotations on the handlers in [`crate::http`]; the wire shapes
//! from the schema types here (the domain crate knows nothing of OpenAPI, so its JSON shapes are
//! described here and a test holds them to what the domain serializes); the security schemes
//! and the answers every operation shares (the request limits) are added by [`Shared`]; the
//! error answers several operations share ([`Unauthorized`], [`Internal`] …) are declared once
//! here and named in each handler's `responses`.
//!
//! A new route is documented by annotating its handler and naming it in [`ApiDoc`]'s `paths`.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{IntoResponses, Modify, OpenApi, ToSchema};

use crate::http;

/// The whole document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "reuse-chat",
        description = "The REST API of reuse-chat, the Re:Use marketplace chat, and the upgrade to \
            its STOMP-over-WebSocket endpoint. Every error is JSON `{\"error\": code, \"message\": \
            sentence}`. Besides the answers listed with each operation: an unknown path is `404` \
            `not_found`, a known path with another method `405` `method_not_allowed`, a request \
            that is not valid HTTP/1.1 `400` `invalid_request`, and a connection over the \
            connection limits is answered `503` `unavailable` before any request is read. A \
            request head must arrive within the header timeout (5 s by default), which is also \
            how long an idle keep-alive connection stays open.",
        license(name = "MIT")
    ),
    paths(
        http::create_room,
        http::list_rooms,
        http::enter_room,
        http::leave_room,
        http::room_presence,
        crate::http_reads::mark_read,
        crate::http_reads::unread,
        crate::http_safety::block,
        crate::http_safety::unblock,
        crate::http_safety::blocks,
        crate::http_safety::report,
        crate::http_safety::admin_reports,
        crate::http_listing::product_status,
        crate::http_listing::set_appointment,
        crate::http_listing::cancel_appointment,
        crate::http_listing::settings,
        crate::http_listing::push_config,
        crate::http_listing::subscribe,
        crate::http_listing::unsubscribe,
        http::history,
        crate::http_search::search,
        crate::http_photos::upload,
        crate::http_photos::photo,
        crate::http_photos::thumbnail,
        http::inquiry,
        http::health,
        http::client_config,
        http::ready,
        http::ws_stomp,
        http::openapi_json,
        http::metrics_page,
    ),
    components(schemas(
        ErrorBody,
        ChatMessageSchema,
        crate::http_search::SearchBody,
        AttachmentSchema,
        UploadForm,
        RoomSchema,
        PresenceBody,
        ReadRequest,
        UnreadBody,
        InquiryRequest,
        InquiryAccepted,
        WarningSchema,
        BlockRequest,
        BlocksBody,
        ReportReasonSchema,
        ReportRequest,
        ReportAccepted,
        StoredReportSchema,
        ReportsBody,
        crate::openapi_listing::ProductStatusSchema,
        crate::openapi_listing::StatusRequest,
        crate::openapi_listing::AppointmentSchema,
        crate::openapi_listing::AppointmentRequest,
        crate::openapi_listing::SettingsRequest,
        crate::openapi_listing::PushConfigBody,
        crate::openapi_listing::PushSubscriptionRequest,
        crate::openapi_listing::PushKeys,
        crate::openapi_listing::PushEndpoint,
        HealthBody,
        ClientConfigBody,
        ClientLimits,
        ReadyBody,
        ReadyError,
        Backends,
    )),
    modifiers(&Shared),
    tags(
        (name = "rooms", description = "Opening, listing, entering and leaving 1:1 rooms"),
        (name = "chat", description = "Message history"),
        (name = "photos", description = "Photos: upload, and their signed addresses"),
        (name = "inquiry", description = "Inquiries to the operators"),
        (name = "safety", description = "Blocks, reports, and the operators' list of reports"),
        (name = "listing", description = "The listing's trade status, appointments and mutes"),
        (name = "push", description = "Web Push subscriptions for offline notifications"),
        (name = "service", description = "Liveness, readiness and this document"),
        (name = "websocket", description = "STOMP 1.0-1.2 over WebSocket (see API.md)"),
    )
)]
pub struct ApiDoc;

/// The document as built by utoipa.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document as served: [`document`] as JSON, with the Link Objects' field names put right
/// (utoipa 5 writes `operation_id`, `operation_ref` and `request_body` where OpenAPI names them
/// `operationId`, `operationRef` and `requestBody`; utoipa 6 fixes it).
pub fn document_json() -> serde_json::Value {
    let mut doc = serde_json::to_value(document()).unwrap_or_default();
    fix_links(&mut doc);
    doc
}

fn fix_links(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::Object(links)) = map.get_mut("links") {
                for link in links.values_mut() {
                    if let serde_json::Value::Object(link) = link {
                        for (from, to) in [
                            ("operation_id", "operationId"),
                            ("operation_ref", "operationRef"),
                            ("request_body", "requestBody"),
                        ] {
                            if let Some(x) = link.remove(from) {
                                link.insert(to.to_owned(), x);
                            }
                        }
                    }
                }
            }
            map.values_mut().for_each(fix_links);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(fix_links),
        _ => {}
    }
}

/// The name of the security scheme of `--auth header`.
pub const GATEWAY_USER: &str = "gatewayUser";
/// The name of the security scheme of `--auth jwt`.
pub const BEARER: &str = "bearer";
/// The name of the security scheme of the operators' API.
pub const ADMIN: &str = "admin";
/// The name of the security scheme of the marketplace backend's calls.
pub const SERVICE: &str = "service";

/// Adds the security schemes and, to every operation, the answers of the request limits.
pub struct Shared;

impl Modify for Shared {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            GATEWAY_USER,
            utoipa::openapi::security::SecurityScheme::ApiKey(ApiKey::Header(
                ApiKeyValue::with_description(
                    "X-Auth-User",
                    "`--auth header` (default): the user id, set by a gateway that authenticated \
                     the user (1-128 of `A-Za-z0-9-_.@:`)",
                ),
            )),
        );
        components.add_security_scheme(
            BEARER,
            utoipa::openapi::security::SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "`--auth jwt`: a JWT (HS256, RS256 or ES256 as configured) whose `sub` \
                         is the user id and whose `exp` is enforced",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            ADMIN,
            utoipa::openapi::security::SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The operators' token, `--admin-token`"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            SERVICE,
            utoipa::openapi::security::SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The marketplace backend's token, `--service-token`"))
                    .build(),
            ),
        );
        let shared = [
            (
                "413",
                "TooLarge",
                format!(
                    "`too_large`: the declared body length (`Content-Length`) is over {} bytes; \
                     answered before the body is read",
                    http::MAX_BODY_BYTES
                ),
            ),
            (
                "414",
                "UriTooLong",
                format!(
                    "`uri_too_long`: the request target is over {} bytes",
                    http::MAX_URI_BYTES
                ),
            ),
            (
                "429",
                "RateLimited",
                "`rate_limited`: over a rate limit of the caller or of its address (API-v2 \
                 \"Safety\"); `Retry-After` says in how many seconds to try again"
                    .to_owned(),
            ),
            (
                "431",
                "HeadersTooLarge",
                format!(
                    "`headers_too_large`: the header fields are over {} bytes or 100 fields",
                    http::MAX_HEADER_BYTES
                ),
            ),
        ];
        for (_, name, description) in &shared {
            components.responses.insert(
                (*name).to_owned(),
                RefOr::T(
                    ResponseBuilder::new()
                        .description(description)
                        .content(
                            "application/json",
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name("Error")))
                                .build(),
                        )
                        .build(),
                ),
            );
        }
        for (path, item) in doc.paths.paths.iter_mut() {
            // Probes are never limited.
            let probe = matches!(path.as_str(), "/health" | "/ready" | "/metrics");
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                for (status, name, _) in &shared {
                    if probe && *status == "429" {
                        continue;
                    }
                    operation
                        .responses
                        .responses
                        .entry((*status).to_owned())
                        .or_insert_with(|| RefOr::Ref(Ref::from_response_name(*name)));
                }
            }
        }
    }
}

/// Every REST error.
#[derive(ToSchema)]
#[schema(
    as = Error,
    example = json!({"error": "room_not_found", "message": "unknown room"})
)]
pub struct ErrorBody {
    /// A stable machine-readable code; each response lists the codes it can carry.
    pub error: String,
    /// What went wrong, for people.
    pub message: String,
}

// The error answers that several operations share, each declared once here and named in the
// `responses(...)` of every handler that can give it (an operation whose answer says more, such
// as a `400` with its own codes, keeps its own tuple instead). Never built: they only describe.

/// `400 invalid_room_id`, of the operations on `{roomUUID}`.
#[derive(IntoResponses)]
#[response(
    status = 400,
    description = "`invalid_room_id`: the roomUUID is not a UUID"
)]
pub struct InvalidRoomId(pub ErrorBody);

/// `401 unauthorized`, of the operations that take an identity.
#[derive(IntoResponses)]
#[response(
    status = 401,
    description = "`unauthorized`: no identity, or an invalid one"
)]
pub struct Unauthorized(pub ErrorBody);

/// `403 not_a_member`, of the operations on one room.
#[derive(IntoResponses)]
#[response(
    status = 403,
    description = "`not_a_member`: the caller is not (or no longer) a member"
)]
pub struct NotAMember(pub ErrorBody);

/// `404 room_not_found`, of the operations on one room.
#[derive(IntoResponses)]
#[response(
    status = 404,
    description = "`room_not_found`: no such room (or it was deleted when its last member left)"
)]
pub struct RoomNotFound(pub ErrorBody);

/// `500 internal`, of the operations that reach a backend.
#[derive(IntoResponses)]
#[response(
    status = 500,
    description = "`internal`: a backend answered something unexpected (logged, never shown)"
)]
pub struct Internal(pub ErrorBody);

/// `503 backend_unavailable` or `shutting_down`, of the operations that reach a backend.
#[derive(IntoResponses)]
#[response(
    status = 503,
    description = "`backend_unavailable` (a backend is unreachable; retry later) or `shutting_down`"
)]
pub struct BackendUnavailable(pub ErrorBody);

/// Whether a message was written by a member or is the server's own notice.
#[derive(ToSchema)]
#[schema(as = MessageType)]
pub enum MessageTypeSchema {
    /// A member's message.
    #[serde(rename = "TEXT")]
    Text,
    /// A member's message with photos (`attachments`); `content` is the caption, maybe empty.
    #[serde(rename = "IMAGE")]
    Image,
    /// The server's notice: today only a member leaving (`sender` is who left).
    #[serde(rename = "SYSTEM")]
    System,
}

/// A photo: what an upload answers and what an `IMAGE` message carries.
#[derive(ToSchema)]
#[schema(
    as = Attachment,
    example = json!({"id": "9f1c2b3a4d5e6f708192a3b4c5d6e7f8", "contentType": "image/jpeg",
        "size": 2480133, "width": 3024, "height": 4032,
        "url": "/room/0b8e0000-0000-4000-8000-000000000000/attachments/9f1c2b3a4d5e6f708192a3b4c5d6e7f8?exp=1796000000&sig=…",
        "thumbnailUrl": "/room/0b8e0000-0000-4000-8000-000000000000/attachments/9f1c2b3a4d5e6f708192a3b4c5d6e7f8/thumbnail?exp=1796000000&sig=…"})
)]
pub struct AttachmentSchema {
    /// The upload's id: 32 lowercase hex digits.
    pub id: String,
    /// `image/jpeg`, `image/png`, `image/webp` or `image/gif`, read from the bytes.
    #[serde(rename = "contentType")]
    pub content_type: String,
    /// The stored image's size in bytes (metadata removed).
    pub size: u64,
    /// Width in pixels, orientation applied.
    pub width: u32,
    /// Height in pixels, orientation applied.
    pub height: u32,
    /// Signed address of the photo, valid for `--attachment-url-ttl-secs` (1 h by default).
    pub url: String,
    /// Signed address of its thumbnail (at most 320 px on its longer side).
    #[serde(rename = "thumbnailUrl")]
    pub thumbnail_url: String,
}

/// The upload's form: one part `file`.
#[derive(ToSchema)]
#[schema(as = UploadForm)]
pub struct UploadForm {
    /// The photo: JPEG, PNG, WebP or GIF, at most `--max-attachment-bytes` (10 MiB by default)
    /// and 40 megapixels.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// A stored chat message, as every reader sees it.
#[derive(ToSchema)]
#[schema(
    as = ChatMessage,
    example = json!({"id": 42, "roomUUID": "0b8e0000-0000-4000-8000-000000000000",
        "sender": "alice", "content": "안녕하세요, 아직 판매중인가요?", "type": "TEXT",
        "createdAt": "2026-11-24T05:48:17.123Z", "clientMessageId": "c-17"})
)]
pub struct ChatMessageSchema {
    /// Unique in the service, strictly increasing within a room: the order every reader sees.
    pub id: i64,
    /// The room.
    #[serde(rename = "roomUUID")]
    #[schema(format = Uuid)]
    pub room: String,
    /// Who wrote it (for a `SYSTEM` notice: whom it is about).
    pub sender: String,
    /// The text (at most `--max-content-chars`, 4,000 by default).
    pub content: String,
    /// `TEXT`, `IMAGE` or `SYSTEM`.
    #[serde(rename = "type")]
    pub kind: MessageTypeSchema,
    /// Commit time, RFC 3339, UTC, milliseconds.
    #[serde(rename = "createdAt")]
    #[schema(format = DateTime)]
    pub created_at: String,
    /// The sender's idempotency key (1-64 printable characters), or null.
    #[serde(rename = "clientMessageId")]
    #[schema(required = true)]
    pub client_message_id: Option<String>,
    /// Why a `SYSTEM` message was written (`MEMBER_LEFT`, `PRODUCT_STATUS`, `APPOINTMENT`;
    /// more kinds may come, and a reader that does not know one shows `content`). Absent on
    /// members' messages.
    #[schema(value_type = Option<String>, example = "MEMBER_LEFT")]
    pub notice: Option<String>,
    /// A `PRODUCT_STATUS` notice's new status; absent on other messages.
    #[serde(rename = "productStatus")]
    pub product_status: Option<crate::openapi_listing::ProductStatusSchema>,
    /// An `APPOINTMENT` notice's appointment as it stands after it (null: cancelled); absent
    /// on other messages.
    #[schema(nullable = true)]
    pub appointment: Option<crate::openapi_listing::AppointmentSchema>,
    /// `true` on the reminder before an appointment; absent otherwise.
    pub reminder: Option<bool>,
    /// An `IMAGE` message's photos (1-10), with fresh signed addresses; absent on others.
    pub attachments: Option<Vec<AttachmentSchema>>,
    /// What the server's scam detector found in the text (API-v2 "Safety"); absent when
    /// nothing. A client shows the recipient a caution under the message.
    pub warnings: Option<Vec<WarningSchema>>,
}

/// A kind of scam or off-platform sign in a message.
#[derive(ToSchema)]
#[schema(as = Warning)]
pub enum WarningSchema {
    /// A phone number (also split, or in Hangul or Hanja digits).
    #[serde(rename = "PHONE_NUMBER")]
    PhoneNumber,
    /// A bank account number, or an account holder's line.
    #[serde(rename = "BANK_ACCOUNT")]
    BankAccount,
    /// A messenger id or link (카카오톡, open.kakao.com, 텔레그램, …).
    #[serde(rename = "MESSENGER")]
    Messenger,
    /// A request to pay first, outside the app.
    #[serde(rename = "PREPAYMENT")]
    Prepayment,
}

/// Whom to block.
#[derive(ToSchema)]
#[schema(as = BlockRequest, example = json!({"user": "bob"}))]
pub struct BlockRequest {
    /// The user's id (not the caller's own).
    #[schema(min_length = 1, max_length = 128, pattern = "^[A-Za-z0-9._@:-]+$")]
    pub user: String,
}

/// Whom the caller blocks.
#[derive(ToSchema)]
#[schema(as = Blocks, example = json!({"users": ["bob"]}))]
pub struct BlocksBody {
    /// User ids, sorted.
    pub users: Vec<String>,
}

/// Why a member reports.
#[derive(ToSchema)]
#[schema(as = ReportReason)]
pub enum ReportReasonSchema {
    /// A scam attempt.
    #[serde(rename = "SCAM")]
    Scam,
    /// Insults, harassment.
    #[serde(rename = "ABUSE")]
    Abuse,
    /// Advertising, spam.
    #[serde(rename = "SPAM")]
    Spam,
    /// Anything else.
    #[serde(rename = "OTHER")]
    Other,
}

/// A report to the operators.
#[derive(ToSchema)]
#[schema(
    as = Report,
    example = json!({"roomUUID": "0b8e0000-0000-4000-8000-000000000000", "messageId": 42, "reason": "SCAM", "detail": "선입금을 요구해요"})
)]
pub struct ReportRequest {
    /// The room (the caller must be a member).
    #[serde(rename = "roomUUID")]
    #[schema(format = Uuid)]
    pub room_uuid: String,
    /// One message of the room, if the report is about it.
    #[serde(rename = "messageId")]
    #[schema(minimum = 1)]
    pub message_id: Option<i64>,
    /// Why.
    pub reason: ReportReasonSchema,
    /// In the reporter's words, at most 1,000 characters.
    #[schema(max_length = 1000)]
    pub detail: Option<String>,
}

/// A stored report.
#[derive(ToSchema)]
#[schema(as = ReportAccepted, example = json!({"id": 3}))]
pub struct ReportAccepted {
    /// The report's number.
    pub id: i64,
}

/// A report as operators read it.
#[derive(ToSchema)]
#[schema(as = StoredReport)]
pub struct StoredReportSchema {
    /// The report's number.
    pub id: i64,
    /// The room reported.
    #[serde(rename = "roomUUID")]
    #[schema(format = Uuid)]
    pub room_uuid: String,
    /// Who reported.
    pub reporter: String,
    /// Why.
    pub reason: ReportReasonSchema,
    /// In the reporter's words, or null.
    #[schema(required = true)]
    pub detail: Option<String>,
    /// The message reported, or null.
    #[serde(rename = "messageId")]
    #[schema(required = true)]
    pub message_id: Option<i64>,
    /// When.
    #[serde(rename = "createdAt")]
    #[schema(format = DateTime)]
    pub created_at: String,
    /// The room's last 100 messages at that moment, oldest first.
    pub messages: Vec<ChatMessageSchema>,
}

/// A page of reports, newest first.
#[derive(ToSchema)]
#[schema(as = Reports)]
pub struct ReportsBody {
    /// The reports.
    pub reports: Vec<StoredReportSchema>,
    /// The `before` of the next page, null at the end.
    #[schema(required = true)]
    pub next: Option<i64>,
}

/// A 1:1 room between a buyer and a seller about one product.
#[derive(ToSchema)]
#[schema(as = Room)]
pub struct RoomSchema {
    /// The room's id.
    #[serde(rename = "roomUUID")]
    #[schema(format = Uuid)]
    pub id: String,
    /// The product's name, 1-100 characters.
    pub name: String,
    /// The product's id, or null when none was given.
    #[serde(rename = "productId")]
    #[schema(required = true)]
    pub product_id: Option<String>,
    /// Who opened the room.
    pub buyer: String,
    /// With whom.
    pub seller: String,
    /// Those who have not left, buyer first.
    pub members: Vec<String>,
    /// Creation time, RFC 3339, UTC, milliseconds.
    #[serde(rename = "createdAt")]
    #[schema(format = DateTime)]
    pub created_at: String,
    /// The newest message, or null.
    #[serde(rename = "lastMessage")]
    #[schema(required = true)]
    pub last_message: Option<ChatMessageSchema>,
    /// The caller's unread messages here: after their read mark, `SYSTEM` notices included
    /// (never their own, since sending marks read).
    #[serde(rename = "unreadCount")]
    #[schema(minimum = 0)]
    pub unread_count: i64,
    /// Each current member's read mark (a message id; 0 when none).
    #[serde(rename = "readUpTo")]
    #[schema(example = json!({"alice": 41, "bob": 40}))]
    pub read_up_to: std::collections::BTreeMap<String, i64>,
    /// The listing's trade status as the marketplace set it, or null until it has.
    #[serde(rename = "productStatus")]
    #[schema(required = true, nullable = true)]
    pub product_status: Option<crate::openapi_listing::ProductStatusSchema>,
    /// The members' appointment, or null.
    #[schema(required = true, nullable = true)]
    pub appointment: Option<crate::openapi_listing::AppointmentSchema>,
    /// Whether the caller has muted the room (false again once `mutedUntil` has passed).
    pub muted: bool,
    /// When the caller's mute ends; null while muted without an end, or not muted.
    #[serde(rename = "mutedUntil")]
    #[schema(required = true, format = DateTime)]
    pub muted_until: Option<String>,
}

/// A read mark to set.
#[derive(ToSchema)]
#[schema(as = ReadRequest, example = json!({"upTo": 42}))]
pub struct ReadRequest {
    /// The id of the newest message read (a positive integer).
    #[serde(rename = "upTo")]
    #[schema(minimum = 1)]
    pub up_to: i64,
}

/// The caller's unread totals.
#[derive(ToSchema)]
#[schema(as = Unread, example = json!({"total": 4, "rooms": 2}))]
pub struct UnreadBody {
    /// Unread messages over all the caller's rooms.
    #[schema(minimum = 0)]
    pub total: i64,
    /// Rooms with at least one unread message.
    #[schema(minimum = 0)]
    pub rooms: i64,
}

/// Who of a room is online and who is in it now.
#[derive(ToSchema)]
#[schema(as = Presence, example = json!({"online": ["alice"], "inRoom": ["alice"], "lastSeenAt": {"bob": "2026-12-06T09:30:00.000Z"}}))]
pub struct PresenceBody {
    /// Members with a live STOMP session, buyer first.
    pub online: Vec<String>,
    /// Users subscribed to the room now, sorted.
    #[serde(rename = "inRoom")]
    pub in_room: Vec<String>,
    /// (v2) When each member who is not online was last online (RFC 3339); members never seen
    /// and members online are absent.
    #[serde(rename = "lastSeenAt")]
    #[schema(example = json!({"bob": "2026-12-06T09:30:00.000Z"}))]
    pub last_seen_at: std::collections::BTreeMap<String, String>,
}

/// An inquiry to the operators.
#[derive(ToSchema)]
#[schema(
    as = Inquiry,
    example = json!({"email": "user@example.com", "title": "환불 문의", "content": "거래가 취소되었어요"})
)]
pub struct InquiryRequest {
    /// A plain address (`local@domain.tld`, no spaces).
    #[schema(format = Email, min_length = 3, max_length = 254)]
    pub email: String,
    /// One line, 1-200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    /// 1-10,000 characters.
    #[schema(min_length = 1, max_length = 10000)]
    pub content: String,
}

/// A stored inquiry.
#[derive(ToSchema)]
#[schema(as = InquiryAccepted, example = json!({"id": 7, "status": "queued"}))]
pub struct InquiryAccepted {
    /// The inquiry's number (it names the mail: `[inquiry #{id}]`).
    pub id: i64,
    /// Always `queued`.
    #[schema(pattern = "^queued$")]
    pub status: String,
}

/// What the web client reads before signing in: how to identify and the limits to check
/// input against (so a message over the limit is refused in the page, not by an `ERROR` that
/// closes the connection).
#[derive(ToSchema)]
#[schema(as = ClientConfig, example = json!({"auth": "header", "heartbeatMs": 10000,
    "limits": {"contentChars": 4000, "historyPage": 200, "subscriptions": 64}}))]
pub struct ClientConfigBody {
    /// `header` (a user id in `X-Auth-User`) or `jwt` (a bearer token).
    #[schema(pattern = "^(header|jwt)$")]
    pub auth: String,
    /// The heart-beat interval the server offers, in milliseconds (`0`: none).
    #[serde(rename = "heartbeatMs")]
    pub heartbeat_ms: u64,
    /// The limits a client meets.
    pub limits: ClientLimits,
}

/// The limits the web client checks input against.
#[derive(ToSchema)]
#[schema(as = ClientLimits)]
pub struct ClientLimits {
    /// Most characters (Unicode scalar values) in a message's `content`.
    #[serde(rename = "contentChars")]
    pub content_chars: u64,
    /// Largest history page (`limit`).
    #[serde(rename = "historyPage")]
    pub history_page: u32,
    /// Most subscriptions per STOMP connection.
    pub subscriptions: u64,
    /// Largest photo upload in bytes (`--max-attachment-bytes`).
    #[serde(rename = "attachmentBytes")]
    pub attachment_bytes: u64,
    /// Most photos in one message.
    #[serde(rename = "attachmentsPerMessage")]
    pub attachments_per_message: u64,
}

/// The process runs.
#[derive(ToSchema)]
#[schema(as = Health, example = json!({"status": "ok"}))]
pub struct HealthBody {
    /// Always `ok`.
    #[schema(pattern = "^ok$")]
    pub status: String,
}

/// Each backend's state.
#[derive(ToSchema)]
#[schema(example = json!({"storage": "ok", "presence": "ok", "bus": "ok", "mail": "disabled"}))]
pub struct Backends {
    /// The database: `ok` or `unavailable`.
    #[schema(pattern = "^(ok|unavailable)$")]
    pub storage: String,
    /// Presence (this process or Redis): `ok` or `unavailable`.
    #[schema(pattern = "^(ok|unavailable)$")]
    pub presence: String,
    /// The bus between nodes (this process or Kafka): `ok` or `unavailable`.
    #[schema(pattern = "^(ok|unavailable)$")]
    pub bus: String,
    /// The inquiry mailer: `ok`, `unavailable`, `unknown` (no contact yet) or `disabled` (no
    /// `--smtp`); it never makes the node unready.
    #[schema(pattern = "^(ok|unavailable|unknown|disabled)$")]
    pub mail: String,
}

/// Every configured backend answers.
#[derive(ToSchema)]
#[schema(as = Ready)]
pub struct ReadyBody {
    /// Always `ready`.
    #[schema(pattern = "^ready$")]
    pub status: String,
    /// Each backend's state.
    pub backends: Backends,
}

/// A configured backend does not answer: the error shape with the backends' states.
#[derive(ToSchema)]
#[schema(as = NotReady)]
pub struct ReadyError {
    /// Always `backend_unavailable`.
    #[schema(pattern = "^backend_unavailable$")]
    pub error: String,
    /// What went wrong, for people.
    pub message: String,
    /// Each backend's state.
    pub backends: Backends,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_core::{ChatMessage, ClientMessageId, MessageKind, Millis, Room, RoomId, UserId};
    use serde_json::Value;

    /// The properties and required properties of component schema `name`.
    fn shape(doc: &Value, name: &str) -> (Vec<String>, Vec<String>) {
        let schema = &doc["components"]["schemas"][name];
        let mut props: Vec<String> = schema["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{name} has properties"))
            .keys()
            .cloned()
            .collect();
        let mut required: Vec<String> = schema["required"]
            .as_array()
            .map(|r| {
                r.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        props.sort();
        required.sort();
        (props, required)
    }

    fn keys(v: &Value) -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    }

    #[test]
    fn the_schemas_name_exactly_the_fields_the_domain_serializes() {
        let doc = document_json();
        assert_eq!(doc["openapi"], "3.1.0");
        let message = ChatMessage {
            attachments: Vec::new(),
            id: 1,
            room: RoomId::new_random(),
            sender: UserId::parse("alice").unwrap(),
            content: "hi".into(),
            kind: MessageKind::Text,
            created_at: Millis(0),
            client_message_id: Some(ClientMessageId::parse("c-1").unwrap()),
            notice: None,
            warnings: Default::default(),
        };
        let photo = chat_core::attachment::Attachment {
            id: chat_core::attachment::AttachmentId::random(),
            media: chat_core::attachment::MediaType::Jpeg,
            size: 10,
            width: 2,
            height: 3,
            links: Some(chat_core::attachment::Links {
                url: "/u".into(),
                thumbnail_url: "/t".into(),
            }),
        };
        // Every optional field at once (no real message has both a notice and photos).
        let notice = ChatMessage {
            kind: MessageKind::System,
            notice: Some(chat_core::Notice::MemberLeft),
            attachments: vec![photo.clone()],
            warnings: [chat_core::safety::Warning::PhoneNumber]
                .into_iter()
                .collect(),
            ..message.clone()
        };
        let (props, required) = shape(&doc, "Attachment");
        assert_eq!(props, keys(&serde_json::to_value(&photo).unwrap()));
        assert_eq!(required, props, "Attachment: every field is always present");
        let room = Room {
            id: RoomId::new_random(),
            name: "bike".into(),
            product_id: None,
            buyer: UserId::parse("alice").unwrap(),
            seller: UserId::parse("bob").unwrap(),
            buyer_active: true,
            seller_active: true,
            created_at: Millis(0),
            last_message: Some(message.clone()),
            message_count: 3,
            buyer_read: chat_core::ReadMark { up_to: 1, count: 3 },
            seller_read: chat_core::ReadMark::default(),
            trade: Default::default(),
            mutes: Default::default(),
        };
        // A member's text message has every field but `notice`, `attachments` and `warnings`.
        let (props, required) = shape(&doc, "ChatMessage");
        let status = ChatMessage {
            notice: Some(chat_core::Notice::ProductStatus(
                chat_core::listing::ProductStatus::Sold,
            )),
            ..notice.clone()
        };
        let reminder = ChatMessage {
            notice: Some(chat_core::Notice::Appointment(Box::new(
                chat_core::listing::AppointmentNotice {
                    appointment: None,
                    reminder: true,
                },
            ))),
            ..notice.clone()
        };
        let mut all = keys(&serde_json::to_value(&notice).unwrap());
        all.extend(keys(&serde_json::to_value(&status).unwrap()));
        all.extend(keys(&serde_json::to_value(&reminder).unwrap()));
        all.sort();
        all.dedup();
        assert_eq!(props, all);
        assert_eq!(required, keys(&serde_json::to_value(&message).unwrap()));
        let (props, required) = shape(&doc, "Room");
        let value = serde_json::to_value(room.seen_by(&room.seller)).unwrap();
        assert_eq!(props, keys(&value), "Room: properties");
        assert_eq!(
            required,
            keys(&value),
            "Room: every field is always present"
        );
        let (props, required) = shape(&doc, "Unread");
        let value = serde_json::to_value(chat_core::UnreadSummary::of(&[3])).unwrap();
        assert_eq!(props, keys(&value), "Unread: properties");
        assert_eq!(required, keys(&value), "Unread: required");
        let (props, _) = shape(&doc, "ReadRequest");
        assert_eq!(props, ["upTo"]);
    }

    #[test]
    fn every_operation_answers_the_limits_and_documents_its_errors_as_json() {
        let doc = document_json();
        let link = &doc["paths"]["/room/create"]["post"]["responses"]["201"]["links"]["enter"];
        assert_eq!(link["operationId"], "enter_room", "{link}");
        assert!(link.get("operation_id").is_none(), "{link}");
        let paths = doc["paths"].as_object().unwrap();
        for path in [
            "/room/create",
            "/room/list",
            "/room/enter/{roomUUID}",
            "/room/delete/{roomUUID}",
            "/room/{roomUUID}/presence",
            "/room/{roomUUID}/read",
            "/room/unread",
            "/chat/room/{roomUUID}",
            "/inquiry",
            "/health",
            "/client/config",
            "/ready",
            "/ws-stomp",
            "/openapi.json",
        ] {
            let item = paths
                .get(path)
                .unwrap_or_else(|| panic!("{path} is documented"));
            for (method, op) in item.as_object().unwrap() {
                let responses = op["responses"].as_object().unwrap();
                for status in ["413", "414", "431"] {
                    assert!(responses.contains_key(status), "{method} {path}: {status}");
                }
                for (status, response) in responses {
                    if status.starts_with('4') || status.starts_with('5') {
                        let json = response.get("$ref").is_some()
                            || response["content"]["application/json"].is_object();
                        assert!(json, "{method} {path} {status} is JSON");
                    }
                }
            }
        }
    }
}
