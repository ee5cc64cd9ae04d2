//! Trust and safety (API-v2 "Safety"): the scam and off-platform detector and its rules, blocks
//! between users, and reports to the operators.

pub mod blocks;
pub mod detector;
pub mod fold;
pub mod reports;
pub mod rules;
mod use_cases;
pub mod warnings;

pub use blocks::{BlockList, Blocks};
pub use detector::{Detector, Finding};
pub use reports::{NewReport, Report, ReportReason, ReportsPage};
pub use rules::{RulesError, SHIPPED_RULES};
pub use warnings::{Warning, Warnings};
