//! The listing in the chat (API-v2 "The listing"): the trade status the marketplace reports,
//! appointments and their reminders, and each member's mute (API-v2 "Notifications").

mod model;
mod port;
pub mod reminders;
mod use_cases;

pub use model::{
    cancel_text, korean_time, Appointment, AppointmentNotice, MuteView, Mutes, ProductState,
    ProductStatus, Trade, MAX_APPOINTMENT_AHEAD_MS, MAX_PLACE_CHARS, MAX_PRODUCT_ID_BYTES,
    MUTED_FOREVER,
};
pub use port::{AppointmentChange, ListingStore, MuteOutcome, NoticeOutcome};
pub use use_cases::{AppointmentRequest, MuteRequest, StatusRequest};
