//! Reports to the operators (API-v2 "Safety"): what a member reports, the copy of the room's
//! last messages kept with it as evidence, and the mail that tells the operators.

use serde::{Deserialize, Serialize};

use crate::error::ChatError;
use crate::ids::{RoomId, UserId};
use crate::model::{ChatMessage, Millis, NewInquiry};

/// Messages copied into a report: the room's last ones at that moment.
pub const SNAPSHOT_MESSAGES: u32 = 100;
/// Longest `detail`, in characters.
pub const MAX_DETAIL_CHARS: usize = 1000;
/// Largest page of `GET /admin/reports`.
pub const MAX_REPORTS_PAGE: u32 = 50;
/// Page size when none is asked.
pub const DEFAULT_REPORTS_PAGE: u32 = 20;

/// Why a member reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ReportReason {
    /// A scam attempt.
    Scam,
    /// Insults, harassment.
    Abuse,
    /// Advertising, spam.
    Spam,
    /// Anything else (the detail says).
    Other,
}

impl ReportReason {
    /// The stored and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportReason::Scam => "SCAM",
            ReportReason::Abuse => "ABUSE",
            ReportReason::Spam => "SPAM",
            ReportReason::Other => "OTHER",
        }
    }

    /// Reads the spelling; `None` for an unknown reason.
    pub fn parse(s: &str) -> Option<ReportReason> {
        [
            ReportReason::Scam,
            ReportReason::Abuse,
            ReportReason::Spam,
            ReportReason::Other,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// A validated report, about to be stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewReport {
    /// The room reported.
    pub room: RoomId,
    /// Who reports (a member).
    pub reporter: UserId,
    /// Why.
    pub reason: ReportReason,
    /// In the reporter's words.
    pub detail: Option<String>,
    /// The message reported, if one.
    pub message_id: Option<i64>,
    /// When.
    pub created_at: Millis,
}

/// A stored report as operators read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Its id (newest is highest).
    pub id: i64,
    /// The room reported.
    #[serde(rename = "roomUUID")]
    pub room: RoomId,
    /// Who reported.
    pub reporter: UserId,
    /// Why.
    pub reason: ReportReason,
    /// In the reporter's words (`null` when none).
    pub detail: Option<String>,
    /// The message reported (`null` when the whole room).
    #[serde(rename = "messageId")]
    pub message_id: Option<i64>,
    /// When.
    #[serde(rename = "createdAt")]
    pub created_at: Millis,
    /// The room's last messages at that moment, oldest first, as chat message JSON (kept as
    /// stored: the evidence is shown as it was written).
    pub messages: serde_json::Value,
}

/// A page of reports, newest first; `next` is the `before` of the following page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReportsPage {
    /// The reports.
    pub reports: Vec<Report>,
    /// Where the next page starts, `null` at the end.
    pub next: Option<i64>,
}

#[derive(Deserialize)]
struct ReportBody {
    #[serde(rename = "roomUUID")]
    room: Option<serde_json::Value>,
    #[serde(rename = "messageId")]
    message_id: Option<serde_json::Value>,
    reason: Option<serde_json::Value>,
    detail: Option<serde_json::Value>,
}

impl NewReport {
    /// Validates `POST /report`'s body from `caller`.
    pub fn parse(caller: &UserId, body: &[u8]) -> Result<NewReport, ChatError> {
        let invalid = || {
            ChatError::bad(
                "invalid_body",
                "the body must be a JSON object {\"roomUUID\", \"reason\", \"messageId\"?, \"detail\"?}",
            )
        };
        // An object only: serde would also read a struct from a JSON array.
        let body: ReportBody = match serde_json::from_slice(body) {
            Ok(v @ serde_json::Value::Object(_)) => {
                serde_json::from_value(v).map_err(|_| invalid())?
            }
            _ => return Err(invalid()),
        };
        let room = body
            .room
            .as_ref()
            .and_then(|v| v.as_str())
            .and_then(|s| RoomId::parse(s).ok())
            .ok_or_else(|| ChatError::bad("invalid_room", "'roomUUID' must be a room's UUID"))?;
        let reason = body
            .reason
            .as_ref()
            .and_then(|v| v.as_str())
            .and_then(ReportReason::parse)
            .ok_or_else(|| {
                ChatError::bad(
                    "invalid_reason",
                    "'reason' must be one of SCAM, ABUSE, SPAM, OTHER",
                )
            })?;
        let message_id = match body.message_id {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => Some(v.as_i64().filter(|id| *id > 0).ok_or_else(|| {
                ChatError::bad(
                    "invalid_message_id",
                    "'messageId' must be a positive integer",
                )
            })?),
        };
        let detail = match body.detail {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => {
                if s.chars().count() > MAX_DETAIL_CHARS {
                    return Err(ChatError::too_large(
                        "detail_too_long",
                        format!("'detail' exceeds the limit of {MAX_DETAIL_CHARS} characters"),
                    ));
                }
                if s.contains('\0') {
                    return Err(ChatError::bad(
                        "invalid_detail",
                        "'detail' must not contain NUL characters",
                    ));
                }
                let s = s.trim();
                (!s.is_empty()).then(|| s.to_owned())
            }
            Some(_) => {
                return Err(ChatError::bad(
                    "invalid_detail",
                    "'detail' must be a string",
                ))
            }
        };
        Ok(NewReport {
            room,
            reporter: caller.clone(),
            reason,
            detail,
            message_id,
            created_at: Millis::now(),
        })
    }

    /// The mail that tells the operators, queued in the inquiry outbox with the report: the
    /// report and its evidence as plain text. `id` is the report's.
    pub fn mail(&self, id: i64, snapshot: &[ChatMessage]) -> NewInquiry {
        let mut content = format!(
            "Report #{id}\nReason: {}\nRoom: {}\nReporter: {}\nMessage: {}\n\n{}\n\n-- the room's last {} messages --\n",
            self.reason.as_str(),
            self.room,
            self.reporter,
            self.message_id
                .map_or_else(|| "(the whole room)".to_owned(), |m| m.to_string()),
            self.detail.as_deref().unwrap_or("(no detail)"),
            snapshot.len(),
        );
        for m in snapshot {
            let marker = if Some(m.id) == self.message_id {
                ">> "
            } else {
                ""
            };
            let warnings: Vec<&str> = m.warnings.iter().map(|w| w.as_str()).collect();
            content.push_str(&format!(
                "{marker}#{} {} {} [{}]{}: {}\n",
                m.id,
                m.created_at.to_rfc3339(),
                m.sender,
                m.kind.as_str(),
                if warnings.is_empty() {
                    String::new()
                } else {
                    format!(" ⚠ {}", warnings.join(","))
                },
                m.content
            ));
        }
        NewInquiry {
            email: String::new(),
            title: format!(
                "신고 #{id} {} — {} ({})",
                self.reason.as_str(),
                self.reporter,
                self.room
            ),
            content,
            user: Some(self.reporter.clone()),
            created_at: self.created_at,
        }
    }
}

/// Reads `?before=&limit=` of `GET /admin/reports`.
pub fn page_params(
    before: Option<i64>,
    limit: Option<u32>,
) -> Result<(Option<i64>, u32), ChatError> {
    if before.is_some_and(|b| b <= 0) {
        return Err(ChatError::bad(
            "invalid_cursor",
            "'before' must be a report id (a positive integer)",
        ));
    }
    let limit = limit.unwrap_or(DEFAULT_REPORTS_PAGE);
    if limit == 0 || limit > MAX_REPORTS_PAGE {
        return Err(ChatError::bad(
            "invalid_limit",
            format!("'limit' must be between 1 and {MAX_REPORTS_PAGE}"),
        ));
    }
    Ok((before, limit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_bodies() {
        let alice = UserId::parse("alice").unwrap();
        let room = "0b8e0000-0000-4000-8000-000000000000";
        let ok = NewReport::parse(
            &alice,
            format!(
                r#"{{"roomUUID":"{room}","reason":"SCAM","messageId":7,"detail":" 선입금 요구 "}}"#
            )
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(ok.reason, ReportReason::Scam);
        assert_eq!(ok.message_id, Some(7));
        assert_eq!(ok.detail.as_deref(), Some("선입금 요구"));
        let code = |b: String| NewReport::parse(&alice, b.as_bytes()).unwrap_err().code();
        assert_eq!(
            code(format!(r#"{{"roomUUID":"{room}","reason":"RUDE"}}"#)),
            "invalid_reason"
        );
        assert_eq!(
            code(format!(r#"{{"roomUUID":"{room}"}}"#)),
            "invalid_reason"
        );
        assert_eq!(
            code(r#"{"roomUUID":"x","reason":"SCAM"}"#.into()),
            "invalid_room"
        );
        assert_eq!(
            code(format!(
                r#"{{"roomUUID":"{room}","reason":"SCAM","messageId":0}}"#
            )),
            "invalid_message_id"
        );
        assert_eq!(
            code(format!(
                r#"{{"roomUUID":"{room}","reason":"SCAM","messageId":"7"}}"#
            )),
            "invalid_message_id"
        );
        assert_eq!(
            code(format!(
                r#"{{"roomUUID":"{room}","reason":"SCAM","detail":"{}"}}"#,
                "가".repeat(1001)
            )),
            "detail_too_long"
        );
        assert_eq!(
            code(format!(
                r#"{{"roomUUID":"{room}","reason":"SCAM","detail":5}}"#
            )),
            "invalid_detail"
        );
        assert_eq!(code("[]".into()), "invalid_body");
        assert_eq!(
            page_params(Some(0), None).unwrap_err().code(),
            "invalid_cursor"
        );
        assert_eq!(
            page_params(None, Some(51)).unwrap_err().code(),
            "invalid_limit"
        );
        assert_eq!(page_params(None, None).unwrap(), (None, 20));
    }
}
