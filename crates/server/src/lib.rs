//! The reuse-chat server: configuration, identity, REST, STOMP over WebSocket, and the
//! assembly of the domain with its backends into one [`app::App`].

pub mod app;
pub mod auth;
pub mod config;
pub mod http;
pub mod http_listing;
pub mod http_photos;
pub mod http_reads;
pub mod http_safety;
pub mod http_search;
pub mod notify_config;
pub mod openapi;
pub mod openapi_listing;
pub mod photo_config;
pub mod rate_limits;
pub mod safety_config;
pub mod serve;
pub mod stomp;
pub mod telemetry;
pub mod web;
pub mod websocket;

pub use app::App;
pub use config::Settings;
