//! `dislog-sim`: a fault-injecting, power-cut-simulating [`Storage`] for
//! testing dislog's crash safety, and the pieces its tests share.
//!
//! [`SimStorage`] keeps, for every file, the bytes reads see apart from the
//! bytes the last sync made durable, and the directory's live names apart
//! from the names of the last directory sync. From that it can build every
//! state a power loss may leave under the contract of
//! [`dislog_core::Storage`] — synced bytes intact; unsynced appends absent,
//! torn, zeroed or garbage; unsynced truncations done or not; names created
//! or removed since the last directory sync there or not — and nothing else.
//! Faults (a failing operation by countdown or probability, a power cut at a
//! chosen operation, bit flips) and every random choice come from one seed:
//! the same seed and the same calls give the same run.
//!
//! ```
//! use dislog_core::{Config, Log};
//! use dislog_sim::{Faults, SimStorage};
//!
//! let storage = SimStorage::new(42);
//! let mut log = Log::open(storage.clone(), Config::default())?;
//! log.append(b"synced")?;
//! log.sync()?;
//! log.append(b"maybe lost")?;
//! let rebooted = storage.crash();
//! drop(log);
//! let log = Log::open(rebooted, Config::default())?;
//! assert_eq!(&*log.read(0)?.payload, b"synced");
//! assert!(log.next_offset() >= 1);
//! # let _ = Faults::default();
//! # Ok::<(), dislog_core::Error>(())
//! ```
//!
//! [`Storage`]: dislog_core::Storage

mod faults;
pub mod fuzz;
mod media;
mod rng;
mod storage;

pub use faults::{CrashMode, Faults, Op, OpSet};
pub use rng::Rng;
pub use storage::{SimFile, SimStorage};
