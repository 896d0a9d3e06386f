//! Blocks reserved ahead of a store's writes.
//!
//! A write into blocks a file does not have yet makes the file system find
//! and account for them, block by block (on ext4: delayed-allocation
//! reservations, the extent-status tree, quota). Blocks allocated ahead with
//! `fallocate(FALLOC_FL_KEEP_SIZE)` skip that work: a C loop of aligned
//! 256 KiB `pwrite`s on the development VM (ext4, Linux 6.18) ran at ~4.9
//! GB/s into reserved blocks against ~3.1 GB/s into new ones. `KEEP_SIZE`
//! leaves the file's length alone, so the format does not see the
//! reservation: a crash leaves a store exactly as long as what was written,
//! and recovery is unchanged.
//!
//! The reservation is made by the write-behind thread, before the write
//! that needs it ([`Reservation::plan`]; by the appending thread when it
//! writes itself): an `fallocate` beside a sync's journal commit took up to
//! 7 ms on the development VM, and the appending thread waited for it. The
//! first step is a sixteenth of the store's capacity (256 KiB to 4 MiB, so
//! that a small or idle log holds little), every later one 64 MiB, so that
//! a default segment (64 MiB) asks twice: in steps of a sixteenth, the
//! `stalls` example's appender with 64 MiB segments and a sync every 10 ms
//! spent 110–189 ms of its second in `fallocate`s over 0.5 ms (perf
//! trace). It never goes
//! past the capacity, and is given back
//! (`ftruncate` to the file's own length, which on ext4 frees the blocks
//! past the end) when the handle is closed or dropped, or the file is cut.
//! What is not given back: the reservation of a store whose writer crashed
//! (at most one step, freed by the next close that follows a write to it).
//! Only ext4 is asked (found with `fstatfs` on the first write that would
//! reserve): it is where the gain was measured, and where cutting a file to
//! its own length is known to free the blocks past its end (tmpfs, for one,
//! keeps them, and would hold the memory for good). A file system that
//! cannot reserve (`EOPNOTSUPP`) is not asked again; any other failure (a
//! full disk) is ignored, and the write that follows reports what is wrong,
//! as it would have without the reservation.

use std::fs::File;

use rustix::fs::FallocateFlags;
use rustix::io::Errno;

/// The smallest first step of a reservation.
const STEP_MIN: u64 = 256 << 10;
/// The largest first step of a reservation.
const FIRST_MAX: u64 = 4 << 20;
/// Every step after the first.
const STEP_LATER: u64 = 64 << 20;

/// `statfs` magic number of ext4 (and ext2/ext3, which share it).
const EXT4_SUPER_MAGIC: u64 = 0xEF53;

/// Whether `file` lies on a file system where reserving pays (see the
/// module docs).
fn worth_reserving(file: &File) -> bool {
    rustix::fs::fstatfs(file).is_ok_and(|fs| fs.f_type as u64 == EXT4_SUPER_MAGIC)
}

/// A range of a file to reserve blocks for ([`Reservation::plan`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Step {
    from: u64,
    len: u64,
}

/// Reserves the blocks of `step` past `file`'s length
/// (`fallocate(FALLOC_FL_KEEP_SIZE)`).
pub(crate) fn reserve(file: &File, step: Step) -> Result<(), Errno> {
    rustix::fs::fallocate(file, FallocateFlags::KEEP_SIZE, step.from, step.len)
}

/// The blocks reserved past a file's content; see the module docs.
#[derive(Debug)]
pub(crate) struct Reservation {
    /// Blocks are reserved up to here (at least the content's length).
    end: u64,
    /// Bytes reserved at a time.
    step: u64,
    /// How far the file may grow (the store's capacity).
    capacity: u64,
    /// Whether reserving is worth it here: `None` until the file system
    /// is looked at, `Some(false)` when it is not ext4 or said it cannot
    /// reserve.
    worth: Option<bool>,
}

impl Reservation {
    /// No reservation yet for a file of `len` bytes that grows up to
    /// `capacity`.
    pub fn new(len: u64, capacity: u64) -> Self {
        Self {
            end: len,
            step: (capacity / 16).clamp(STEP_MIN, FIRST_MAX),
            capacity,
            worth: None,
        }
    }

    /// Before a write that makes `file` `end` bytes long: reserves the next
    /// step if the write would run past the reservation.
    #[inline]
    pub fn before_write(&mut self, file: &File, end: u64) {
        if end > self.end && self.worth != Some(false) {
            self.grow(file, end);
        }
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self, file: &File, end: u64) {
        if let Some(step) = self.plan(file, end) {
            match reserve(file, step) {
                Ok(()) => {}
                Err(Errno::OPNOTSUPP | Errno::NOSYS | Errno::INVAL) => self.worth = Some(false),
                // A full disk, say: the write itself reports it, if it
                // fails; the next write past the reservation asks again.
                Err(_) => self.end = step.from,
            }
        }
    }

    /// The step to reserve before a write that makes `file` `end` bytes
    /// long, counted as reserved already: for the write-behind thread to
    /// reserve ([`reserve`], best effort) before it writes, so that the
    /// appending thread does not wait for the file system (an `fallocate`
    /// beside a sync's journal commit took up to 7 ms on the development
    /// VM).
    #[inline]
    pub fn plan(&mut self, file: &File, end: u64) -> Option<Step> {
        if end <= self.end || self.worth == Some(false) {
            return None;
        }
        if !*self.worth.get_or_insert_with(|| worth_reserving(file)) {
            return None;
        }
        let target = end.max((self.end + self.step).min(self.capacity));
        let step = Step {
            from: self.end,
            len: target - self.end,
        };
        self.end = target;
        self.step = STEP_LATER;
        Some(step)
    }

    /// After `file` was cut to `len` bytes (which gives back every block
    /// past them).
    pub fn cut(&mut self, len: u64) {
        self.end = len;
    }

    /// Drops the reservation past `len`, the file's length, leaving the
    /// cut that gives its blocks back to the caller; whether there was any.
    pub fn forget(&mut self, len: u64) -> bool {
        let had = self.end > len;
        self.end = self.end.min(len);
        had
    }

    /// Gives back the blocks reserved past `len`, the file's length.
    /// Best effort: a failure leaves them reserved, and loses nothing.
    pub fn release(&mut self, file: &File, len: u64) {
        if self.end > len && file.set_len(len).is_ok() {
            self.end = len;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::os::unix::fs::{FileExt, MetadataExt};

    /// Bytes of blocks the file holds.
    fn allocated(file: &File) -> u64 {
        file.metadata().unwrap().blocks() * 512
    }

    #[test]
    fn reserves_in_steps_up_to_the_capacity_and_gives_back() {
        let tmp = tempfile::tempdir().unwrap();
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(tmp.path().join("f.store"))
            .unwrap();
        // A first step is a sixteenth of the capacity, 256 KiB to 4 MiB.
        assert_eq!(Reservation::new(0, 1 << 30).step, 4 << 20);
        assert_eq!(Reservation::new(0, 4 << 10).step, 256 << 10);
        let mut r = Reservation::new(0, 200 << 20);
        r.before_write(&file, 100);
        if !worth_reserving(&file) {
            // Not ext4 (a tmpfs, say): nothing is reserved.
            assert_eq!((r.end, r.worth), (0, Some(false)));
            return;
        }
        assert_eq!(r.end, 4 << 20);
        file.write_all_at(&[1; 100], 0).unwrap();
        assert_eq!(
            file.metadata().unwrap().len(),
            100,
            "the length is untouched"
        );
        assert!(allocated(&file) >= 4 << 20);
        // Within the reservation: nothing to do; past it: the next step
        // (64 MiB from the second on), or the write's end if that is
        // further.
        r.before_write(&file, 4 << 20);
        assert_eq!(r.end, 4 << 20);
        r.before_write(&file, (4 << 20) + 5);
        assert_eq!(r.end, 68 << 20);
        r.before_write(&file, (133 << 20) + 5);
        assert_eq!(r.end, (133 << 20) + 5);
        // A planned step is counted as reserved, for the caller to reserve.
        let step = r.plan(&file, (133 << 20) + 6).unwrap();
        assert_eq!(r.end, (197 << 20) + 5);
        reserve(&file, step).unwrap();
        assert!(allocated(&file) >= 197 << 20);
        // Never past the capacity.
        r.before_write(&file, (200 << 20) - 1);
        r.before_write(&file, 200 << 20);
        assert_eq!(r.end, 200 << 20);
        r.release(&file, 100);
        assert_eq!(r.end, 100);
        assert_eq!(file.metadata().unwrap().len(), 100);
        assert!(allocated(&file) < 1 << 20, "{}", allocated(&file));
        let mut read = [0; 100];
        file.read_exact_at(&mut read, 0).unwrap();
        assert_eq!(read, [1; 100]);
    }

    #[test]
    fn nothing_is_reserved_on_tmpfs() {
        // /dev/shm is a tmpfs on Linux systems; skip where it is not there.
        let Ok(tmp) = tempfile::tempdir_in("/dev/shm") else {
            return;
        };
        let file = File::create(tmp.path().join("f.store")).unwrap();
        let mut r = Reservation::new(0, 16 << 20);
        r.before_write(&file, 100);
        assert_eq!((r.end, r.worth), (0, Some(false)));
        assert_eq!(allocated(&file), 0);
    }
}
