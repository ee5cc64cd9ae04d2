//! The OpenAPI shapes of the listing and of push subscriptions (API-v2 "The listing",
//! "Notifications"), beside [`crate::openapi`]'s.

use utoipa::ToSchema;

/// A listing's trade status.
#[derive(ToSchema)]
#[schema(as = ProductStatus)]
pub enum ProductStatusSchema {
    /// For sale.
    #[serde(rename = "ON_SALE")]
    OnSale,
    /// Promised to one buyer.
    #[serde(rename = "RESERVED")]
    Reserved,
    /// Sold.
    #[serde(rename = "SOLD")]
    Sold,
}

/// The marketplace's report of a listing's status.
#[derive(ToSchema)]
#[schema(example = json!({"status": "SOLD", "buyer": "alice"}))]
pub struct StatusRequest {
    /// The new status.
    pub status: ProductStatusSchema,
    /// The buyer it is reserved for or sold to (with `RESERVED` or `SOLD` only): that buyer's
    /// room is told it is theirs, the other rooms that it went to someone else.
    #[schema(min_length = 1, max_length = 128, pattern = "^[A-Za-z0-9._@:-]+$")]
    pub buyer: Option<String>,
}

/// The members' appointment.
#[derive(ToSchema)]
#[schema(as = Appointment, example = json!({"at": "2026-12-24T06:00:00.000Z", "place": "강남역 2번 출구", "setBy": "alice"}))]
pub struct AppointmentSchema {
    /// When, RFC 3339, UTC, milliseconds.
    #[schema(format = DateTime)]
    pub at: String,
    /// Where, 1-100 characters.
    pub place: String,
    /// The member who set it.
    #[serde(rename = "setBy")]
    pub set_by: String,
}

/// An appointment to set.
#[derive(ToSchema)]
#[schema(example = json!({"at": "2026-12-24T15:00:00+09:00", "place": "강남역 2번 출구"}))]
pub struct AppointmentRequest {
    /// When: RFC 3339, ahead of now, at most 365 days ahead.
    #[schema(format = DateTime)]
    pub at: String,
    /// Where, 1-100 characters (trimmed).
    #[schema(min_length = 1, max_length = 100)]
    pub place: String,
}

/// The caller's settings of a room.
#[derive(ToSchema)]
#[schema(example = json!({"muted": true, "mutedUntil": "2026-12-24T15:00:00+09:00"}))]
pub struct SettingsRequest {
    /// Mute the room (no offline notifications from it).
    pub muted: bool,
    /// When the mute ends (with `"muted": true` only; ahead of now); without it the mute has
    /// no end.
    #[serde(rename = "mutedUntil")]
    #[schema(format = DateTime)]
    pub muted_until: Option<String>,
}

/// Whether the server sends Web Push, and the key a browser subscribes with.
#[derive(ToSchema)]
#[schema(as = PushConfig)]
pub struct PushConfigBody {
    /// The server has a VAPID key and takes subscriptions.
    #[serde(rename = "webPush")]
    pub web_push: bool,
    /// The `applicationServerKey`: the VAPID public key (uncompressed P-256 point, base64url),
    /// or null when Web Push is off.
    #[serde(rename = "vapidPublicKey")]
    #[schema(required = true)]
    pub vapid_public_key: Option<String>,
}

/// A browser's push subscription keys (RFC 8291).
#[derive(ToSchema)]
pub struct PushKeys {
    /// The browser's P-256 public key, base64url (65 bytes).
    pub p256dh: String,
    /// The authentication secret, base64url (16 bytes).
    pub auth: String,
}

/// `PushSubscription.toJSON()`, as a browser gives it.
#[derive(ToSchema)]
pub struct PushSubscriptionRequest {
    /// The push service's endpoint: `https://` on a public host.
    #[schema(max_length = 2048)]
    pub endpoint: String,
    /// Ignored.
    #[serde(rename = "expirationTime")]
    pub expiration_time: Option<i64>,
    /// The keys.
    pub keys: PushKeys,
}

/// A subscription to remove.
#[derive(ToSchema)]
pub struct PushEndpoint {
    /// Its endpoint.
    #[schema(max_length = 2048)]
    pub endpoint: String,
}
