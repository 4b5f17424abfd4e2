//! The types and rules of the CTG field. Pure: no I/O, no async, no SQL.
//!
//! Values enter the domain through parsing constructors (`InseeCode::parse`, `Siren::parse`, …) so that
//! everything past the boundary is known to be well-formed.

pub mod access;
pub mod agreement;
pub mod convention;
pub mod diagnostic;
pub mod documents;
pub mod format;
pub mod funds;
pub mod governance;
pub mod life;
pub mod logo;
pub mod offer;
pub mod opendata;
pub mod parse;
pub mod plan;
pub mod reminders;
pub mod sppe;
pub mod territory;
pub mod text;

pub use access::{Actor, Channel};
pub use convention::*;
pub use territory::*;
