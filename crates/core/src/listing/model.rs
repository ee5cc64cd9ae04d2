//! The listing's data in a chat (API-v2 "The listing", "Notifications"): the trade status the
//! marketplace sets, the members' appointment, each member's mute, and the Korean sentences of
//! the notices that tell them.

use chrono::{DateTime, FixedOffset, Timelike, Utc};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};

use crate::ids::UserId;
use crate::model::Millis;

/// Longest appointment place, in characters.
pub const MAX_PLACE_CHARS: usize = 100;
/// Furthest ahead an appointment may be set.
pub const MAX_APPOINTMENT_AHEAD_MS: i64 = 365 * 24 * 3600 * 1000;
/// Longest product id, in bytes (the `rooms.product_id` column holds 255).
pub const MAX_PRODUCT_ID_BYTES: usize = 255;
/// The stored "muted until" of a mute without an end.
pub const MUTED_FOREVER: Millis = Millis(i64::MAX);

/// A listing's trade status as the marketplace reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProductStatus {
    /// For sale (again).
    #[serde(rename = "ON_SALE")]
    OnSale,
    /// Promised to one buyer.
    #[serde(rename = "RESERVED")]
    Reserved,
    /// Sold.
    #[serde(rename = "SOLD")]
    Sold,
}

impl ProductStatus {
    /// The stored and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ProductStatus::OnSale => "ON_SALE",
            ProductStatus::Reserved => "RESERVED",
            ProductStatus::Sold => "SOLD",
        }
    }

    /// Reads the stored spelling; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ON_SALE" => Some(ProductStatus::OnSale),
            "RESERVED" => Some(ProductStatus::Reserved),
            "SOLD" => Some(ProductStatus::Sold),
            _ => None,
        }
    }

    /// The `PRODUCT_STATUS` notice's sentence in a room: the room whose buyer the listing went
    /// to is told it is theirs, the other rooms that it went to someone else.
    pub fn notice_text(self, this_rooms_buyer: bool, named_buyer: bool) -> &'static str {
        match (self, this_rooms_buyer, named_buyer) {
            (ProductStatus::OnSale, _, _) => "판매자가 상품을 다시 판매중으로 변경했어요.",
            (ProductStatus::Reserved, true, _) => "이 채팅의 구매자와 거래가 예약되었어요.",
            (ProductStatus::Reserved, false, true) => {
                "다른 구매자와 거래가 예약되었어요. 예약이 취소되면 다시 알려드릴게요."
            }
            (ProductStatus::Reserved, false, false) => "판매자가 상품을 예약중으로 변경했어요.",
            (ProductStatus::Sold, true, _) => "거래가 완료되었어요. 거래 후기를 남겨 주세요.",
            (ProductStatus::Sold, false, true) => "다른 구매자와 거래가 완료된 상품이에요.",
            (ProductStatus::Sold, false, false) => "판매자가 상품을 거래완료로 변경했어요.",
        }
    }
}

/// A listing's status and whom it went to, as the marketplace set it last.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductState {
    /// The status.
    pub status: ProductStatus,
    /// The buyer it is reserved for or sold to, when the marketplace named one.
    pub buyer: Option<UserId>,
}

/// A meeting the two members agreed on (약속).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Appointment {
    /// When.
    pub at: Millis,
    /// Where, as the member wrote it.
    pub place: String,
    /// The member who set it.
    #[serde(rename = "setBy")]
    pub set_by: UserId,
}

/// What a room knows of its trade: the listing's status and the appointment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trade {
    /// The listing's status; `None` until the marketplace has set one.
    pub product_status: Option<ProductStatus>,
    /// The members' appointment, if one is set.
    pub appointment: Option<Appointment>,
}

/// Until when each member has muted the room (`None`: not muted; [`MUTED_FOREVER`]: no end).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mutes {
    /// The buyer's mute.
    pub buyer_until: Option<Millis>,
    /// The seller's mute.
    pub seller_until: Option<Millis>,
}

/// A member's mute as Room JSON shows it to them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MuteView {
    /// Muted now.
    pub muted: bool,
    /// When it ends; `None` while muted without an end, or not muted.
    pub until: Option<Millis>,
}

impl Mutes {
    /// Whether a mute that ends at `until` is in force at `now`.
    pub fn active(until: Option<Millis>, now: Millis) -> bool {
        until.is_some_and(|u| u > now)
    }

    /// `user`'s mute at `now` (a mute whose end has passed is no mute).
    pub fn view(&self, is_buyer: bool, now: Millis) -> MuteView {
        let until = if is_buyer {
            self.buyer_until
        } else {
            self.seller_until
        };
        if !Self::active(until, now) {
            return MuteView {
                muted: false,
                until: None,
            };
        }
        MuteView {
            muted: true,
            until: until.filter(|u| *u != MUTED_FOREVER),
        }
    }
}

/// Reads an appointment as its JSON shows it (stored with its notice, carried on the bus).
impl<'de> Deserialize<'de> for Appointment {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        #[derive(Deserialize)]
        struct Wire {
            at: String,
            place: String,
            #[serde(rename = "setBy")]
            set_by: String,
        }
        let w = Wire::deserialize(d)?;
        let at = DateTime::parse_from_rfc3339(&w.at).map_err(D::Error::custom)?;
        Ok(Appointment {
            at: Millis(at.timestamp_millis()),
            place: w.place,
            set_by: UserId::parse(&w.set_by).map_err(D::Error::custom)?,
        })
    }
}

/// What an `APPOINTMENT` notice says: the appointment set (or `None`: cancelled), and whether
/// it is the reminder before it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AppointmentNotice {
    /// The appointment as it stands after the change; `None` when cancelled.
    pub appointment: Option<Appointment>,
    /// The reminder sent before the meeting, not a change.
    pub reminder: bool,
}

impl Serialize for AppointmentNotice {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("AppointmentNotice", 2)?;
        st.serialize_field("appointment", &self.appointment)?;
        if self.reminder {
            st.serialize_field("reminder", &true)?;
        }
        st.end()
    }
}

/// Korea's clock (UTC+9, no daylight saving): how the notices' sentences show times.
fn seoul() -> FixedOffset {
    // 9 hours is always a valid offset.
    FixedOffset::east_opt(9 * 3600).unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero"))
}

/// `12월 7일 오후 3:05` in Korea's time.
pub fn korean_time(at: Millis) -> String {
    let t = DateTime::<Utc>::from_timestamp_millis(at.0)
        .unwrap_or_default()
        .with_timezone(&seoul());
    let (pm, hour) = t.hour12();
    let half = if pm { "오후" } else { "오전" };
    format!(
        "{}월 {}일 {half} {hour}:{:02}",
        chrono::Datelike::month(&t),
        chrono::Datelike::day(&t),
        t.minute()
    )
}

impl Appointment {
    /// The notice's sentence when it is set.
    pub fn set_text(&self) -> String {
        format!(
            "{}님이 약속을 잡았어요: {}, {}",
            self.set_by,
            korean_time(self.at),
            self.place
        )
    }

    /// The reminder's sentence, `lead` before the meeting.
    pub fn reminder_text(&self, lead_minutes: i64) -> String {
        let ahead = if lead_minutes % 60 == 0 {
            format!("{}시간", lead_minutes / 60)
        } else {
            format!("{lead_minutes}분")
        };
        format!(
            "약속 {ahead} 전이에요: {}, {}",
            korean_time(self.at),
            self.place
        )
    }
}

/// The notice's sentence when `by` cancels the appointment.
pub fn cancel_text(by: &UserId) -> String {
    format!("{by}님이 약속을 취소했어요.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_korea() {
        // 2026-12-07T06:05:00Z is 15:05 in Seoul.
        let at = Millis(1_796_623_500_000);
        assert_eq!(korean_time(at), "12월 7일 오후 3:05");
        assert_eq!(
            korean_time(Millis(at.0 - 9 * 3600 * 1000)),
            "12월 7일 오전 6:05"
        );
    }

    #[test]
    fn a_mute_ends_when_its_time_has_passed() {
        let m = Mutes {
            buyer_until: Some(Millis(100)),
            seller_until: Some(MUTED_FOREVER),
        };
        assert_eq!(
            m.view(true, Millis(99)),
            MuteView {
                muted: true,
                until: Some(Millis(100))
            }
        );
        assert!(!m.view(true, Millis(100)).muted);
        assert_eq!(
            m.view(false, Millis(i64::MAX - 1)),
            MuteView {
                muted: true,
                until: None
            }
        );
        assert!(!Mutes::default().view(true, Millis(0)).muted);
    }

    #[test]
    fn the_buyer_it_went_to_and_the_others_are_told_apart() {
        for status in [ProductStatus::Reserved, ProductStatus::Sold] {
            assert_ne!(
                status.notice_text(true, true),
                status.notice_text(false, true)
            );
        }
        assert_eq!(ProductStatus::parse("SOLD"), Some(ProductStatus::Sold));
        assert_eq!(ProductStatus::parse("sold"), None);
    }

    #[test]
    fn reminders_say_how_long_before() {
        let a = Appointment {
            at: Millis(1_796_623_500_000),
            place: "강남역 2번 출구".into(),
            set_by: UserId::parse("alice").unwrap(),
        };
        assert_eq!(
            a.reminder_text(60),
            "약속 1시간 전이에요: 12월 7일 오후 3:05, 강남역 2번 출구"
        );
        assert!(a.reminder_text(5).starts_with("약속 5분 전"));
    }
}
