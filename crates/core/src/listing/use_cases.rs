//! The listing's use cases on [`ChatService`]: the marketplace's status report, appointments,
//! reminders and mutes. Each validates its input, lets storage make the change with its
//! notice, then tells every node (the notice travels like a message) and the notifier.

use chrono::DateTime;
use serde::Deserialize;

use crate::error::ChatError;
use crate::ids::{RoomId, UserId};
use crate::model::{Millis, RoomEvent, Sequenced};
use crate::service::ChatService;

use super::model::{cancel_text, Appointment, ProductState, ProductStatus};
use super::{
    AppointmentChange, MuteOutcome, NoticeOutcome, MAX_APPOINTMENT_AHEAD_MS, MAX_PLACE_CHARS,
    MUTED_FOREVER,
};

/// Reads an RFC 3339 time from a JSON value, for `field`.
fn parse_time(value: &serde_json::Value, field: &str) -> Result<Millis, ChatError> {
    let text = value.as_str().ok_or_else(|| {
        ChatError::bad(
            "invalid_time",
            format!("'{field}' must be an RFC 3339 time string"),
        )
    })?;
    DateTime::parse_from_rfc3339(text)
        .map(|t| Millis(t.timestamp_millis()))
        .map_err(|_| {
            ChatError::bad(
                "invalid_time",
                format!("'{field}' is not an RFC 3339 time (e.g. 2026-12-24T15:00:00+09:00)"),
            )
        })
}

/// A time that must lie ahead of `now`, by at most [`MAX_APPOINTMENT_AHEAD_MS`].
fn ahead(at: Millis, now: Millis, field: &str) -> Result<Millis, ChatError> {
    if at <= now {
        return Err(ChatError::bad(
            "invalid_time",
            format!("'{field}' is in the past"),
        ));
    }
    if at.0 - now.0 > MAX_APPOINTMENT_AHEAD_MS {
        return Err(ChatError::bad(
            "invalid_time",
            format!("'{field}' is more than 365 days ahead"),
        ));
    }
    Ok(at)
}

/// JSON that must be an object of known fields.
fn object<T: for<'de> Deserialize<'de>>(body: &[u8], shape: &str) -> Result<T, ChatError> {
    let bad = || ChatError::bad("invalid_body", format!("the body must be {shape}"));
    // An array would fill a struct's fields in order: only an object is taken.
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v @ serde_json::Value::Object(_)) => serde_json::from_value(v).map_err(|_| bad()),
        _ => Err(bad()),
    }
}

/// The marketplace's `PUT /product/{productId}/status` body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusRequest {
    /// The listing.
    pub product: String,
    /// Its new state.
    pub state: ProductState,
}

impl StatusRequest {
    /// Validates the product id (as rooms take it) and `{"status", "buyer"?}`.
    pub fn parse(
        limits: &crate::DomainLimits,
        product: &str,
        body: &[u8],
    ) -> Result<Self, ChatError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Body {
            status: serde_json::Value,
            #[serde(default)]
            buyer: Option<serde_json::Value>,
        }
        let chars = product.chars().count();
        if chars == 0
            || chars > limits.max_product_id_chars
            || product.chars().any(char::is_control)
        {
            return Err(ChatError::bad(
                "invalid_product_id",
                format!(
                    "the product id must be 1 to {} characters without control characters",
                    limits.max_product_id_chars
                ),
            ));
        }
        let b: Body = object(
            body,
            r#"{"status": "ON_SALE"|"RESERVED"|"SOLD", "buyer"?: user}"#,
        )?;
        let status = b
            .status
            .as_str()
            .and_then(ProductStatus::parse)
            .ok_or_else(|| {
                ChatError::bad(
                    "invalid_status",
                    "'status' must be one of ON_SALE, RESERVED, SOLD",
                )
            })?;
        let buyer = match b.buyer {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => {
                let text = v.as_str().ok_or_else(|| {
                    ChatError::bad("invalid_user", "'buyer' must be a user id string")
                })?;
                Some(
                    UserId::parse(text)
                        .map_err(|e| ChatError::bad("invalid_user", format!("'buyer': {e}")))?,
                )
            }
        };
        if status == ProductStatus::OnSale && buyer.is_some() {
            return Err(ChatError::bad(
                "invalid_body",
                "'buyer' goes with RESERVED or SOLD only",
            ));
        }
        Ok(StatusRequest {
            product: product.to_owned(),
            state: ProductState { status, buyer },
        })
    }
}

/// A member's `PUT /room/{roomUUID}/appointment` body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppointmentRequest {
    /// When.
    pub at: Millis,
    /// Where (trimmed).
    pub place: String,
}

impl AppointmentRequest {
    /// Validates `{"at": RFC 3339 ahead of now, "place": 1–100 characters}`.
    pub fn parse(body: &[u8], now: Millis) -> Result<Self, ChatError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Body {
            at: serde_json::Value,
            place: serde_json::Value,
        }
        let b: Body = object(body, r#"{"at": RFC 3339 time, "place": text}"#)?;
        let at = ahead(parse_time(&b.at, "at")?, now, "at")?;
        let place = b
            .place
            .as_str()
            .map(str::trim)
            .filter(|p| {
                !p.is_empty()
                    && p.chars().count() <= MAX_PLACE_CHARS
                    && !p.chars().any(char::is_control)
            })
            .ok_or_else(|| {
                ChatError::bad(
                    "invalid_place",
                    format!("'place' must be 1 to {MAX_PLACE_CHARS} characters of text"),
                )
            })?;
        Ok(AppointmentRequest {
            at,
            place: place.to_owned(),
        })
    }
}

/// A member's `PUT /room/{roomUUID}/settings` body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MuteRequest {
    /// Muted until then (`Some(MUTED_FOREVER)` without an end); `None`: not muted.
    pub until: Option<Millis>,
}

impl MuteRequest {
    /// Validates `{"muted": bool, "mutedUntil"?: RFC 3339 ahead of now}`.
    pub fn parse(body: &[u8], now: Millis) -> Result<Self, ChatError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Body {
            muted: serde_json::Value,
            #[serde(default, rename = "mutedUntil")]
            muted_until: Option<serde_json::Value>,
        }
        let b: Body = object(
            body,
            r#"{"muted": true|false, "mutedUntil"?: RFC 3339 time}"#,
        )?;
        let muted = b
            .muted
            .as_bool()
            .ok_or_else(|| ChatError::bad("invalid_body", "'muted' must be true or false"))?;
        let until = match b.muted_until {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => Some(ahead(parse_time(&v, "mutedUntil")?, now, "mutedUntil")?),
        };
        match (muted, until) {
            (false, Some(_)) => Err(ChatError::bad(
                "invalid_body",
                "'mutedUntil' goes with \"muted\": true only",
            )),
            (false, None) => Ok(MuteRequest { until: None }),
            (true, until) => Ok(MuteRequest {
                until: Some(until.unwrap_or(MUTED_FOREVER)),
            }),
        }
    }
}

impl ChatService {
    /// The marketplace reports a listing's status: every room of the listing is told, once
    /// per change.
    pub async fn set_product_status(&self, request: StatusRequest) -> Result<usize, ChatError> {
        let notices = self
            .listing
            .set_product_status(&request.product, &request.state, Millis::now())
            .await
            .map_err(|e| e.into_chat_error("set_product_status", None))?;
        let n = notices.len();
        for notice in notices {
            self.tell_notice(notice).await;
        }
        Ok(n)
    }

    /// A member sets (or moves) the room's appointment.
    pub async fn set_appointment(
        &self,
        caller: &UserId,
        room: &RoomId,
        request: AppointmentRequest,
    ) -> Result<(), ChatError> {
        let appointment = Appointment {
            at: request.at,
            place: request.place,
            set_by: caller.clone(),
        };
        let lead = i64::try_from(self.limits().reminder_lead.as_millis()).unwrap_or(i64::MAX);
        let now = Millis::now();
        let remind_at = Some(Millis(appointment.at.0.saturating_sub(lead))).filter(|r| *r > now);
        let text = appointment.set_text();
        let change = AppointmentChange::Set {
            appointment,
            remind_at,
        };
        self.change_appointment(caller, room, &change, &text, now)
            .await
    }

    /// A member cancels the room's appointment (none to cancel is no error).
    pub async fn cancel_appointment(
        &self,
        caller: &UserId,
        room: &RoomId,
    ) -> Result<(), ChatError> {
        let text = cancel_text(caller);
        self.change_appointment(
            caller,
            room,
            &AppointmentChange::Cancel,
            &text,
            Millis::now(),
        )
        .await
    }

    async fn change_appointment(
        &self,
        caller: &UserId,
        room: &RoomId,
        change: &AppointmentChange,
        text: &str,
        now: Millis,
    ) -> Result<(), ChatError> {
        let outcome = self
            .listing
            .set_appointment(room, caller, change, text, now)
            .await
            .map_err(|e| e.into_chat_error("set_appointment", Some(room)))?;
        match outcome {
            NoticeOutcome::NoSuchRoom => Err(ChatError::RoomNotFound),
            NoticeOutcome::NotMember => Err(ChatError::NotMember),
            NoticeOutcome::Blocked => Err(ChatError::Blocked),
            NoticeOutcome::Unchanged => Ok(()),
            NoticeOutcome::Posted(notice) => {
                self.tell_notice(notice).await;
                Ok(())
            }
        }
    }

    /// A member mutes or unmutes the room; their sessions get the room again.
    pub async fn set_mute(
        &self,
        caller: &UserId,
        room: &RoomId,
        request: MuteRequest,
    ) -> Result<(), ChatError> {
        let outcome = self
            .listing
            .set_mute(room, caller, request.until)
            .await
            .map_err(|e| e.into_chat_error("set_mute", Some(room)))?;
        match outcome {
            MuteOutcome::NoSuchRoom => Err(ChatError::RoomNotFound),
            MuteOutcome::NotMember => Err(ChatError::NotMember),
            MuteOutcome::Set(room) => {
                self.publish(RoomEvent::Updated(std::sync::Arc::from(room)))
                    .await;
                Ok(())
            }
        }
    }

    /// Posts every appointment reminder due at `now`; returns how many this node posted.
    /// Nodes may run this at once: each reminder is posted by exactly one of them.
    pub async fn post_due_reminders(&self, now: Millis) -> Result<usize, ChatError> {
        let lead_minutes = i64::try_from(self.limits().reminder_lead.as_secs() / 60)
            .unwrap_or(60)
            .max(1);
        let due = self
            .listing
            .due_reminders(now, 100)
            .await
            .map_err(|e| e.into_chat_error("due_reminders", None))?;
        let mut posted = 0;
        for (room, at) in due {
            let notice = self
                .listing
                .post_reminder(&room, at, lead_minutes, now)
                .await
                .map_err(|e| e.into_chat_error("post_reminder", Some(&room)))?;
            if let Some(notice) = notice {
                posted += 1;
                self.tell_notice(notice).await;
            }
        }
        Ok(posted)
    }

    /// A stored notice goes to every node in its room's order, and to the notifier.
    async fn tell_notice(&self, notice: Sequenced) {
        self.notify_offline(&notice);
        self.publish(RoomEvent::Message(notice)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = Millis(1_796_623_500_000);

    #[test]
    fn statuses_are_the_three_and_a_buyer_goes_with_a_sale() {
        let l = crate::DomainLimits::default();
        let ok = StatusRequest::parse(&l, "p-1", br#"{"status":"SOLD","buyer":"alice"}"#).unwrap();
        assert_eq!(ok.state.status, ProductStatus::Sold);
        assert_eq!(ok.state.buyer.unwrap().as_str(), "alice");
        for (product, body, code) in [
            ("p-1", &br#"{"status":"GONE"}"#[..], "invalid_status"),
            ("p-1", br#"{"status":"sold"}"#, "invalid_status"),
            ("p-1", br#"{"status":7}"#, "invalid_status"),
            ("p-1", br#"{}"#, "invalid_body"),
            ("p-1", br#"[1]"#, "invalid_body"),
            ("p-1", br#"{"status":"SOLD","extra":1}"#, "invalid_body"),
            (
                "p-1",
                br#"{"status":"ON_SALE","buyer":"alice"}"#,
                "invalid_body",
            ),
            ("p-1", br#"{"status":"SOLD","buyer":""}"#, "invalid_user"),
            ("p-1", br#"{"status":"SOLD","buyer":5}"#, "invalid_user"),
            ("", br#"{"status":"SOLD"}"#, "invalid_product_id"),
            ("a\u{7}", br#"{"status":"SOLD"}"#, "invalid_product_id"),
        ] {
            let err = StatusRequest::parse(&l, product, body).unwrap_err();
            assert_eq!(
                err.code(),
                code,
                "{product} {}",
                String::from_utf8_lossy(body)
            );
        }
        let long = "p".repeat(l.max_product_id_chars + 1);
        assert!(StatusRequest::parse(&l, &long, br#"{"status":"SOLD"}"#).is_err());
    }

    #[test]
    fn appointments_lie_ahead_with_a_place() {
        let ok = AppointmentRequest::parse(
            r#"{"at":"2026-12-07T16:00:00+09:00","place":" 강남역 "}"#.as_bytes(),
            NOW,
        )
        .unwrap();
        assert_eq!(ok.place, "강남역");
        assert_eq!(ok.at, Millis(NOW.0 + 55 * 60 * 1000));
        for body in [
            &br#"{"at":"2026-12-07T15:00:00+09:00","place":"x"}"#[..],
            br#"{"at":"tomorrow","place":"x"}"#,
            br#"{"at":5,"place":"x"}"#,
            br#"{"at":"2030-01-01T00:00:00Z","place":"x"}"#,
        ] {
            let err = AppointmentRequest::parse(body, NOW).unwrap_err();
            assert_eq!(
                err.code(),
                "invalid_time",
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let long = format!(
            r#"{{"at":"2026-12-08T00:00:00Z","place":"{}"}}"#,
            "가".repeat(MAX_PLACE_CHARS + 1)
        );
        for body in [
            long.as_bytes(),
            br#"{"at":"2026-12-08T00:00:00Z","place":"  "}"#,
            br#"{"at":"2026-12-08T00:00:00Z","place":3}"#,
        ] {
            assert_eq!(
                AppointmentRequest::parse(body, NOW).unwrap_err().code(),
                "invalid_place"
            );
        }
        assert_eq!(
            AppointmentRequest::parse(b"{", NOW).unwrap_err().code(),
            "invalid_body"
        );
    }

    #[test]
    fn a_mute_has_an_end_ahead_or_none() {
        assert_eq!(
            MuteRequest::parse(br#"{"muted":true}"#, NOW).unwrap().until,
            Some(MUTED_FOREVER)
        );
        assert_eq!(
            MuteRequest::parse(br#"{"muted":false}"#, NOW)
                .unwrap()
                .until,
            None
        );
        assert_eq!(
            MuteRequest::parse(
                br#"{"muted":true,"mutedUntil":"2026-12-08T00:00:00Z"}"#,
                NOW
            )
            .unwrap()
            .until,
            Some(Millis(1_796_688_000_000))
        );
        for (body, code) in [
            (
                &br#"{"muted":true,"mutedUntil":"2020-01-01T00:00:00Z"}"#[..],
                "invalid_time",
            ),
            (
                br#"{"muted":false,"mutedUntil":"2026-12-08T00:00:00Z"}"#,
                "invalid_body",
            ),
            (br#"{"muted":"yes"}"#, "invalid_body"),
            (br#"{}"#, "invalid_body"),
        ] {
            assert_eq!(MuteRequest::parse(body, NOW).unwrap_err().code(), code);
        }
    }
}
