//! Which storage operations exist, and the faults a test asks for.

/// One kind of storage operation, as counted and as made to fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// [`dislog_core::Storage::list`].
    List,
    /// [`dislog_core::Storage::open`].
    Open,
    /// [`dislog_core::Storage::create`].
    Create,
    /// [`dislog_core::Storage::remove`].
    Remove,
    /// [`dislog_core::Storage::sync_dir`].
    SyncDir,
    /// [`dislog_core::StorageFile::read_into`] (and `read_at`).
    Read,
    /// [`dislog_core::StorageFile::append`].
    Append,
    /// [`dislog_core::StorageFile::truncate`].
    Truncate,
    /// [`dislog_core::StorageFile::flush`].
    Flush,
    /// [`dislog_core::StorageFile::sync`].
    Sync,
    /// [`dislog_core::StorageFile::sync_prefix`].
    SyncPrefix,
}

impl Op {
    /// Every kind, in declaration order.
    pub const ALL: [Op; 11] = [
        Op::List,
        Op::Open,
        Op::Create,
        Op::Remove,
        Op::SyncDir,
        Op::Read,
        Op::Append,
        Op::Truncate,
        Op::Flush,
        Op::Sync,
        Op::SyncPrefix,
    ];

    /// The operations that change the media: the ones a power cut and the
    /// operation counter care about.
    pub const WRITES: OpSet = OpSet(
        Op::Create.bit()
            | Op::Remove.bit()
            | Op::SyncDir.bit()
            | Op::Append.bit()
            | Op::Truncate.bit()
            | Op::Flush.bit()
            | Op::Sync.bit()
            | Op::SyncPrefix.bit(),
    );

    const fn bit(self) -> u16 {
        1 << self as u16
    }
}

/// A set of [`Op`] kinds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpSet(u16);

impl OpSet {
    /// No operation.
    pub const NONE: OpSet = OpSet(0);

    /// Every operation kind.
    pub const ALL: OpSet = OpSet(0x7ff);

    /// This set with `op` added.
    pub const fn with(self, op: Op) -> OpSet {
        OpSet(self.0 | op.bit())
    }

    /// Whether `op` is in the set.
    pub const fn contains(self, op: Op) -> bool {
        self.0 & op.bit() != 0
    }
}

/// The faults to inject, all driven by the storage's seed. Operations are
/// numbered from 0 in the order they are made, counting only the kinds in
/// [`Op::WRITES`] plus `open` and `list` (reads are not counted, so that
/// the numbering does not depend on how often a test reads).
#[derive(Clone, Copy, Debug, Default)]
pub struct Faults {
    /// The counted operation with this number fails with an
    /// [`dislog_core::StorageErrorKind::Injected`] error (a countdown).
    pub fail_at: Option<u64>,
    /// Each operation whose kind is in `fail_kinds` fails with this
    /// probability, in millionths.
    pub fail_per_million: u32,
    /// The kinds `fail_per_million` applies to.
    pub fail_kinds: OpSet,
    /// The power goes off just before the counted operation with this
    /// number: it and everything after it fail, and nothing more reaches
    /// the media. [`crate::SimStorage::crash`] then builds what the media
    /// holds.
    pub power_cut_at: Option<u64>,
    /// A failed append leaves a random prefix of its bytes in the file (as
    /// a short write does), instead of none.
    pub torn_failed_appends: bool,
    /// An injected append failure is [`dislog_core::StorageError::out_of_memory`]
    /// (which changes nothing, as a buffer that cannot grow does) instead
    /// of an `Injected` error.
    pub out_of_memory_appends: bool,
}

/// What a power cut may leave behind, beyond what was synced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashMode {
    /// Everything not synced is lost: files hold their synced bytes, and
    /// the names are those of the last directory sync.
    LoseUnsynced,
    /// Everything written reached the media (a crash of the process only).
    KeepAll,
    /// Each file keeps its synced bytes and a random prefix of what was
    /// written after them (writes reach the media in order, as with a log
    /// device); each name created or removed since the last directory sync
    /// may or may not be there.
    Prefix,
    /// Each file independently: nothing unsynced, everything, a random
    /// prefix of it (a torn write), or a mix of new, old, zeroed and (if
    /// `garbage`) random bytes over a random length; each name created or
    /// removed since the last directory sync may or may not be there.
    Random {
        /// Unsynced bytes may come back as random garbage, not only as
        /// old, new or zero bytes.
        garbage: bool,
        /// Files may come back longer than written, with zero fill (what a
        /// preallocating backend leaves).
        zero_fill: bool,
        /// An unsynced file header (the first 24 bytes) may come back torn
        /// like any other bytes. When `false`, it comes back whole (as
        /// written or as synced) or all zero.
        torn_headers: bool,
    },
}

impl CrashMode {
    /// Every state the storage contract allows.
    pub const ANY: CrashMode = CrashMode::Random {
        garbage: true,
        zero_fill: true,
        torn_headers: true,
    };

    /// [`CrashMode::ANY`] except that file headers are never torn: what the
    /// default crash simulation uses. Core now syncs a new store's header
    /// when it creates it and recovers a torn (partly written or zeroed) one
    /// (finding 2), but a power cut during the creation itself can still
    /// leave a garbage header, which cannot be told from a foreign file.
    pub const WHOLE_HEADERS: CrashMode = CrashMode::Random {
        garbage: true,
        zero_fill: true,
        torn_headers: false,
    };
}
