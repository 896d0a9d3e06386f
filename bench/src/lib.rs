//! Work in progress: see the issue this crate belongs to.
