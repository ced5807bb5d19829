//! Shared test support.
pub mod index;
