//! The file backend: [`dislog_core::Storage`] on a directory of real files.
//!
//! * [`FileStorage`] is the directory: it lists, creates, opens and removes
//!   segment files, syncs the directory, and holds the writer lock
//!   (`LOCK`, see [`lock`]).
//! * Each open file, store or index, is a [`FileHandle`] over a [`buffered`]
//!   file: an append buffer in front of the file, written out with `pwrite`
//!   in aligned pieces by the storage's [`write_behind`] thread while the
//!   appends go on into a second buffer, reads from a read-only map of the
//!   file; a store's
//!   blocks are [`reserve`]d ahead of its writes, an index is
//!   [`prealloc`]ated ahead of its appends. Maps are made on a file's first
//!   real use, not on open ([`map`]): a reopen's check of each segment reads
//!   a few bytes positionally.
//! * A read-only storage changes nothing on disk: every file is a
//!   [`buffered`] file in overlay mode, whose writes (recovery's) stay in
//!   memory.
//!
//! The soundness of the maps is argued in [`map`] and [`buffered`], and
//! summed up in `ffi/README.md`.

mod buffered;
mod error;
mod handle;
pub(crate) mod lock;
mod map;
mod prealloc;
mod reserve;
mod storage;
mod write_behind;

pub use handle::FileHandle;
pub use storage::FileStorage;
