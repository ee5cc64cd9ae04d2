//! Searching one's own chats (API-v2 "Search"): the form of a message that search reads, the
//! query and its rules, and the use case on [`crate::ChatService`].

mod text;
mod use_cases;

pub use text::{
    index_text, is_chosung_word, SearchQuery, CHOSUNG, MAX_QUERY_CHARS, MAX_QUERY_WORDS,
};
pub use use_cases::{SearchPage, SearchRequest, SEARCH_DEFAULT_LIMIT, SEARCH_MAX_LIMIT};
