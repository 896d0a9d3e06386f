//! The C ABI of dislog: the functions and types of `include/dislog.h`.
//!
//! One file per concept. Every exported function runs inside
//! `boundary::run`, which catches panics (they become
//! [`dislog_status::DISLOG_ERR_PANIC`]), records the error message for
//! `dislog_last_error_message`, and returns a [`dislog_status`].
//!
//! Conventions, stated once in the header too:
//! - every fallible function returns a `dislog_status`; results go through
//!   out-parameters, written only when the call succeeds (except the needed
//!   length of `DISLOG_ERR_BUFFER_TOO_SMALL`);
//! - a NULL handle, a NULL required pointer, a NULL data pointer with a
//!   non-zero length: `DISLOG_ERR_NULL_ARGUMENT`, never a crash;
//! - handles (`dislog_t`, `dislog_view`, `dislog_iter`) and `dislog_bytes`
//!   are allocated by the library and freed by the function named in their
//!   documentation, never by `free()`.

mod append;
mod boundary;
mod config;
mod error;
mod handle;
mod iter;
mod offsets;
mod read;
mod retention;
mod snapshot;
mod status;
mod version;
mod view;
mod wait;

pub use append::*;
pub use config::*;
pub use error::*;
pub use handle::*;
pub use iter::*;
pub use offsets::*;
pub use read::*;
pub use retention::*;
pub use snapshot::*;
pub use status::*;
pub use version::*;
pub use view::*;
pub use wait::*;
