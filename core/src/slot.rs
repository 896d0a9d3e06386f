//! A place in the log's list of segments: a segment opened, or a sealed
//! segment that a clean close left intact, opened when first used.
//!
//! After a clean close ([`crate::Storage::segments_intact_at_close`]) the
//! log opens only its active segment: each sealed one is known by its name
//! (its base, and the next segment's base, which is where its records end)
//! until a read, a lookup or a change needs its files. Opening a log of many
//! segments then costs a listing and one segment's files, not two files'
//! opens and four reads for every segment, and holds no descriptor for a
//! segment nobody reads.

use core::sync::atomic::{AtomicBool, Ordering};

use crate::config::Config;
use crate::error::Result;
use crate::segment::Segment;
use crate::storage::{Storage, StorageFile};

/// A segment of the log, open or still to be opened.
#[derive(Debug)]
pub(crate) struct Slot<F> {
    /// The offset of its first record.
    pub base: u64,
    /// Records it held at the clean close, while it is not open.
    count: u64,
    segment: spin::Once<Segment<F>>,
    /// Whether opening it found it damaged (see [`Slot::found_damage`]).
    damaged: AtomicBool,
}

impl<F: StorageFile> Slot<F> {
    /// A slot holding `segment`, open.
    pub fn open(segment: Segment<F>) -> Self {
        Self {
            base: segment.base,
            count: segment.count,
            segment: spin::Once::initialized(segment),
            damaged: AtomicBool::new(false),
        }
    }

    /// The sealed segment at `base`, which held `count` records when the
    /// log was closed cleanly, to be opened when first used.
    pub fn deferred(base: u64, count: u64) -> Self {
        Self {
            base,
            count,
            segment: spin::Once::new(),
            damaged: AtomicBool::new(false),
        }
    }

    /// Records held.
    pub fn count(&self) -> u64 {
        self.segment.get().map_or(self.count, |s| s.count)
    }

    /// The offset after its last record.
    pub fn next_offset(&self) -> u64 {
        self.base + self.count()
    }

    /// The segment, if it is open.
    #[inline]
    pub fn opened(&self) -> Option<&Segment<F>> {
        self.segment.get()
    }

    /// The segment, if it is open, to change.
    #[inline]
    pub fn opened_mut(&mut self) -> Option<&mut Segment<F>> {
        self.segment.get_mut()
    }

    /// The segment, opened first if it is not open yet
    /// ([`Segment::open_intact`]). A failure leaves it unopened, for the
    /// next use to try again.
    #[inline]
    pub fn get<S: Storage<File = F>>(&self, storage: &S, config: &Config) -> Result<&Segment<F>> {
        match self.segment.get() {
            Some(segment) => Ok(segment),
            None => self.open_now(storage, config),
        }
    }

    /// [`Slot::get`], to change the segment.
    pub fn get_mut<S: Storage<File = F>>(
        &mut self,
        storage: &S,
        config: &Config,
    ) -> Result<&mut Segment<F>> {
        self.get(storage, config)?;
        self.segment
            .get_mut()
            .ok_or_else(|| unreachable_unopened(self.base))
    }

    #[cold]
    #[inline(never)]
    fn open_now<S: Storage<File = F>>(&self, storage: &S, config: &Config) -> Result<&Segment<F>> {
        self.segment.try_call_once(|| {
            Segment::open_intact(storage, config, self.base, self.count).inspect_err(|_| {
                self.damaged.store(true, Ordering::Relaxed);
            })
        })
    }

    /// Whether opening the segment failed: its files are damaged, or were
    /// out of reach (descriptors, permissions). The next open of the log
    /// should then check and repair every segment, as after a crash.
    pub fn found_damage(&self) -> bool {
        self.damaged.load(Ordering::Relaxed)
    }

    /// Takes the segment out, if it is open, leaving the slot as one to be
    /// opened when next used (with the records it holds now).
    pub fn take(&mut self) -> Option<Segment<F>> {
        let segment = core::mem::replace(&mut self.segment, spin::Once::new()).try_into_inner()?;
        self.count = segment.count;
        Some(segment)
    }

    /// Closes the segment's files cleanly, if it was opened.
    pub fn close(self) -> Result<()> {
        self.segment.try_into_inner().map_or(Ok(()), Segment::close)
    }
}

/// The error of [`Slot::get_mut`] if a segment it just opened were not
/// there: never (the `Once` is complete after a successful `get`).
fn unreachable_unopened(base: u64) -> crate::Error {
    crate::Error::Corrupt {
        segment: base,
        offset: None,
        reason: alloc::string::String::from("the segment was opened but is not there"),
    }
}
