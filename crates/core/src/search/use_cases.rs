//! The search use case on [`ChatService`]: a page of the caller's own messages that match,
//! newest first, from the rooms they are in now.

use serde::Serialize;

use crate::error::ChatError;
use crate::ids::{RoomId, UserId};
use crate::model::ChatMessage;
use crate::service::ChatService;

use super::SearchQuery;

/// Hits per page when the caller names no `limit`.
pub const SEARCH_DEFAULT_LIMIT: u32 = 20;

/// Most hits per page (API-v2: 1–50).
pub const SEARCH_MAX_LIMIT: u32 = 50;

/// A validated `GET /search`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchRequest {
    /// The words.
    pub query: SearchQuery,
    /// Only this room (the caller must be a member).
    pub room: Option<RoomId>,
    /// Only messages older than this id: the previous page's `next`.
    pub before: Option<i64>,
    /// Page size.
    pub limit: u32,
}

impl SearchRequest {
    /// Checks the parts the HTTP layer read: `q` (see [`SearchQuery::parse`]), `before` a
    /// message id (positive), `limit` 1 to [`SEARCH_MAX_LIMIT`].
    pub fn parse(
        q: Option<&str>,
        room: Option<RoomId>,
        before: Option<i64>,
        limit: Option<u32>,
    ) -> Result<SearchRequest, ChatError> {
        let q = q.ok_or_else(|| ChatError::bad("invalid_query", "'q' is required"))?;
        let query = SearchQuery::parse(q)?;
        if matches!(before, Some(id) if id < 1) {
            return Err(ChatError::bad(
                "invalid_cursor",
                "'before' must be a message id (a positive integer): the previous page's 'next'",
            ));
        }
        let limit = limit.unwrap_or(SEARCH_DEFAULT_LIMIT);
        if !(1..=SEARCH_MAX_LIMIT).contains(&limit) {
            return Err(ChatError::bad(
                "invalid_limit",
                format!("'limit' must be between 1 and {SEARCH_MAX_LIMIT}"),
            ));
        }
        Ok(SearchRequest {
            query,
            room,
            before,
            limit,
        })
    }
}

/// One page of hits: newest first, and where the next page starts (`None` on the last).
#[derive(Clone, Debug, Serialize)]
pub struct SearchPage {
    /// The hits, newest first.
    pub messages: Vec<ChatMessage>,
    /// The id to send back as `before` for older hits; `null` when there are none.
    pub next: Option<i64>,
}

impl ChatService {
    /// The caller's messages that match, from the rooms they are a member of now (a room
    /// they left is gone from their results; the other member keeps it). Messages of a user
    /// the caller blocked stay findable: they are the caller's evidence.
    pub async fn search(
        &self,
        caller: &UserId,
        request: &SearchRequest,
    ) -> Result<SearchPage, ChatError> {
        if let Some(room) = &request.room {
            self.enter(caller, room).await?;
        }
        // One more than a page tells whether another page exists without a second query.
        let mut messages = self
            .store
            .search(
                caller,
                &request.query,
                request.room.as_ref(),
                request.before,
                request.limit + 1,
            )
            .await
            .map_err(|e| e.into_chat_error("search", request.room.as_ref()))?;
        let next = if messages.len() > request.limit as usize {
            messages.truncate(request.limit as usize);
            messages.last().map(|m| m.id)
        } else {
            None
        };
        Ok(SearchPage { messages, next })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_limits_and_cursors() {
        let ok = SearchRequest::parse(Some("택배"), None, Some(10), None).unwrap();
        assert_eq!(ok.limit, SEARCH_DEFAULT_LIMIT);
        assert_eq!(ok.before, Some(10));
        let code = |r: Result<SearchRequest, ChatError>| r.unwrap_err().code();
        assert_eq!(
            code(SearchRequest::parse(None, None, None, None)),
            "invalid_query"
        );
        assert_eq!(
            code(SearchRequest::parse(Some("택배"), None, Some(0), None)),
            "invalid_cursor"
        );
        assert_eq!(
            code(SearchRequest::parse(Some("택배"), None, Some(-5), None)),
            "invalid_cursor"
        );
        assert_eq!(
            code(SearchRequest::parse(Some("택배"), None, None, Some(0))),
            "invalid_limit"
        );
        assert_eq!(
            code(SearchRequest::parse(Some("택배"), None, None, Some(51))),
            "invalid_limit"
        );
        assert_eq!(
            SearchRequest::parse(Some("택배"), None, None, Some(50))
                .unwrap()
                .limit,
            50
        );
    }
}
