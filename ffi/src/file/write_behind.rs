//! Write-behind: a writer's full append buffers written to their files by a
//! thread of the storage's own, while the appending thread fills the next
//! buffer.
//!
//! An append costs the engine's own work (framing, checksum, index entry)
//! and the kernel's copy of its bytes into the page cache, which is about as
//! much again (the harness's "write floor" line). Written out by the
//! appending thread, the two add up; handed to a second thread, they
//! overlap, and a stream of appends runs at the speed of the slower one.
//!
//! One thread per writer [`super::FileStorage`] (its *lane*), taken when
//! the first buffer is handed over (a log that never fills a 256 KiB buffer
//! never takes one) and given back once the storage and every file opened
//! through it are dropped. A thread given back waits, blocked, for the next
//! storage ([`MAX_IDLE`] of them at most; more end): a new thread is placed
//! by the scheduler when it starts, and a thread started beside a busy
//! appending thread was often put on the same processor, where the two
//! took turns instead of overlapping (a probe appending batches of 1,024
//! to one new log after another: 19.5–27.4 M records/s with a new thread
//! per log, 31.6–35.1 with one thread kept).
//! A lane remembers the process that started its thread: in a child of
//! `fork`, which has none of its parent's threads, a lane (idle or of a
//! storage opened before the fork) is never used, and buffers are written
//! by the appending thread.
//!
//! A buffer handed over stays readable (see [`Flight`]); a
//! file has at most one buffer in flight, and waits for it to land before
//! it hands over the next, writes anything itself, truncates, syncs or is
//! dropped ([`super::buffered`]; until then its appends go on into a
//! buffer that grows). Where no thread can be started, the
//! appending thread writes its buffers itself, as without write-behind.
//!
//! A job may also sync its file part way ([`Then::sync_after`]: a new
//! store's header is made durable before the records after it reach the
//! file) and cut the file once written ([`Then::cut_to`]: a sealed file
//! giving back its preallocated or reserved blocks), so that a roll leaves
//! its slow system calls to this thread.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use super::reserve::{reserve, Step};

/// How long a waiting side (the thread for its next buffer, a file for its
/// flight) polls before it blocks, about four buffers' writes: with both
/// sides blocking at once, the harness's batches of 64 ran at 21.9 M
/// records/s on the development VM, 38.4 polling. The thread polls only
/// while its last buffer came within this: a probe appending a buffer's
/// worth of records every millisecond for 2 s took 0.54–0.57 s of user
/// time polling after every buffer, 0.31–0.33 s so.
const SPIN: Duration = Duration::from_micros(200);

/// How long a wait spins before it yields the processor at each poll: the
/// scheduler sometimes puts the thread and the appending thread on one
/// processor, where spinning only delays the side that is waited for.
const YIELD: Duration = Duration::from_micros(10);

/// Idle threads kept for the next storages (see the module docs).
const MAX_IDLE: usize = 4;

/// The idle threads.
static IDLE: Mutex<Vec<Lane>> = Mutex::new(Vec::new());

/// A thread's queue, and the process the thread runs in.
#[derive(Debug)]
struct Lane {
    sender: Sender<Job>,
    process: u32,
}

/// The write-behind thread of one storage (see the module docs), and the
/// append buffers its files gave back when their segment was sealed.
#[derive(Debug, Default)]
pub(crate) struct WriteBehind {
    /// The storage's thread once it has one; `None` inside when none could
    /// be started.
    lane: OnceLock<Option<Lane>>,
    /// Buffers of sealed files, for the next segment's files: freeing and
    /// allocating them at each roll cost four `munmap`s (~50 µs each on the
    /// development VM) and the page faults of four new buffers.
    spares: Mutex<Vec<Vec<u8>>>,
}

/// Most buffers kept in [`WriteBehind::spares`]: a segment's two files,
/// two each.
const MAX_SPARES: usize = 4;

/// What a write behind does besides writing its bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Then {
    /// Sync the file once this many bytes are written, before the rest
    /// ([`write_ordered`]).
    pub sync_after: Option<usize>,
    /// Afterwards, cut the file to this length (`ftruncate`), best effort:
    /// a sealed file giving back its preallocated or reserved blocks.
    pub cut_to: Option<u64>,
    /// First, reserve the blocks of this step past the file's length, best
    /// effort ([`super::reserve`]).
    pub reserve: Option<Step>,
}

/// A buffer to write at `pos` of `file`, and what comes after.
struct Job {
    file: Arc<File>,
    pos: u64,
    then: Then,
    /// Taken (dropped) as the job reports, so that the buffer's other owner,
    /// the [`Flight`], has it to itself again.
    bytes: Option<Arc<Vec<u8>>>,
    done: Arc<Done>,
}

/// Where a job reports how its write went.
#[derive(Debug, Default)]
struct Done {
    result: Mutex<Option<io::Result<()>>>,
    /// Set once `result` is.
    reported: AtomicBool,
    landed: Condvar,
}

impl Done {
    /// Sets `result` and wakes the flight waiting for it.
    fn report(&self, result: io::Result<()>) {
        *lock(&self.result) = Some(result);
        self.reported.store(true, Ordering::Release);
        self.landed.notify_one();
    }
}

/// A buffer handed to the thread: its bytes stay readable while they are
/// written, and come back with the write's outcome ([`Flight::land`]).
#[derive(Debug)]
pub(crate) struct Flight {
    bytes: Arc<Vec<u8>>,
    done: Arc<Done>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The buffer of an `Arc` its other owner has dropped (copied, were it
/// still shared).
fn unshare(bytes: Arc<Vec<u8>>) -> Vec<u8> {
    Arc::try_unwrap(bytes).unwrap_or_else(|shared| shared.as_ref().clone())
}

impl WriteBehind {
    /// Keeps `buf`'s memory for a later [`WriteBehind::spare`] when it holds
    /// `size` bytes at least and `most` at most (a buffer grown while the
    /// one before it was written is kept too: growing one again faults in
    /// fresh pages), and fewer than [`MAX_SPARES`] are kept.
    pub fn keep_spare(&self, mut buf: Vec<u8>, size: usize, most: usize) {
        if (size..=most).contains(&buf.capacity()) {
            let mut spares = lock(&self.spares);
            if spares.len() < MAX_SPARES {
                buf.clear();
                spares.push(buf);
            }
        }
    }

    /// An empty buffer of `size` bytes at least, kept by
    /// [`WriteBehind::keep_spare`], if there is one.
    pub fn spare(&self, size: usize) -> Option<Vec<u8>> {
        let mut spares = lock(&self.spares);
        let i = spares.iter().position(|b| b.capacity() >= size)?;
        Some(spares.swap_remove(i))
    }

    /// Hands `bytes` over, to be written at `pos` of `file`, and `then`
    /// what it asks for; `Err` gives them back when there is no thread (it
    /// could not be started): the caller writes them itself.
    pub fn hand_over(
        &self,
        file: &Arc<File>,
        pos: u64,
        bytes: Vec<u8>,
        then: Then,
    ) -> Result<Flight, Vec<u8>> {
        let lane = match self.lane.get_or_init(take_lane) {
            Some(lane) if lane.process == std::process::id() => lane,
            _ => return Err(bytes),
        };
        let bytes = Arc::new(bytes);
        let done = Arc::new(Done::default());
        let job = Job {
            file: Arc::clone(file),
            pos,
            then,
            bytes: Some(Arc::clone(&bytes)),
            done: Arc::clone(&done),
        };
        match lane.sender.send(job) {
            Ok(()) => Ok(Flight { bytes, done }),
            // The thread is gone (it never ends while a sender is left, so
            // this is not expected): the job, dropped, let go of the bytes.
            Err(_) => Err(unshare(bytes)),
        }
    }
}

impl Drop for WriteBehind {
    /// Gives the thread back (every file has landed its flights: each holds
    /// this storage's `WriteBehind` until it is dropped).
    fn drop(&mut self) {
        if let Some(Some(lane)) = self.lane.take() {
            let mut idle = lock(&IDLE);
            if idle.len() < MAX_IDLE {
                idle.push(lane);
            }
        }
    }
}

/// An idle thread of this process, or a new one; `None` when the system
/// refuses one. Idle lanes of another process (the parent of a `fork`) are
/// dropped.
fn take_lane() -> Option<Lane> {
    let process = std::process::id();
    let mut idle = lock(&IDLE);
    idle.retain(|lane| lane.process == process);
    let lane = idle.pop();
    drop(idle);
    lane.or_else(|| start(process))
}

/// Starts a thread in `process` (this one); `None` when the system refuses
/// one. It ends when its queue's sender is dropped.
fn start(process: u32) -> Option<Lane> {
    let (sender, queue) = channel::<Job>();
    std::thread::Builder::new()
        .name("dislog-write-behind".into())
        .spawn(move || {
            let mut spin = SPIN;
            while let Some((job, waited)) = next(&queue, spin) {
                job.run();
                // Polling only pays while buffers come that often.
                spin = if waited < SPIN { SPIN } else { Duration::ZERO };
            }
        })
        .ok()?;
    Some(Lane { sender, process })
}

/// One step of a wait that began at `start`: a spin, or, after [`YIELD`],
/// a yield of the processor, in case the other side waits for it.
fn pause(start: Instant) {
    if start.elapsed() < YIELD {
        std::hint::spin_loop();
    } else {
        std::thread::yield_now();
    }
}

/// The next job, polled for `spin` before blocking, and how long it took
/// to come; `None` once every sender is gone.
fn next(queue: &Receiver<Job>, spin: Duration) -> Option<(Job, Duration)> {
    let start = Instant::now();
    let job = loop {
        match queue.try_recv() {
            Ok(job) => break job,
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) if start.elapsed() < spin => pause(start),
            Err(TryRecvError::Empty) => break queue.recv().ok()?,
        }
    };
    Some((job, start.elapsed()))
}

/// Writes `bytes` at `pos` of `file`; with `sync_after` `Some(k)`, makes
/// the file durable (`fdatasync`) once the first `k` bytes are written,
/// before the rest: the order a `sync_barrier` asks for
/// ([`super::buffered`]).
pub(crate) fn write_ordered(
    file: &File,
    bytes: &[u8],
    pos: u64,
    sync_after: Option<usize>,
) -> io::Result<()> {
    let Some(k) = sync_after else {
        return file.write_all_at(bytes, pos);
    };
    let (before, after) = bytes.split_at(k.min(bytes.len()));
    file.write_all_at(before, pos)?;
    file.sync_data()?;
    file.write_all_at(after, pos + before.len() as u64)
}

impl Job {
    fn run(mut self) {
        if let Some(step) = self.then.reserve {
            // Best effort, as on the appending thread: the write itself
            // reports a full disk.
            let _ = reserve(&self.file, step);
        }
        let result = match &self.bytes {
            Some(bytes) => write_ordered(&self.file, bytes, self.pos, self.then.sync_after),
            None => Ok(()),
        };
        if let (Ok(()), Some(len)) = (&result, self.then.cut_to) {
            // Best effort: an uncut file keeps blocks past its content
            // (zeros in an index, which recovery cuts), and loses nothing.
            let _ = self.file.set_len(len);
        }
        self.report(result);
    }

    /// Lets go of the bytes, then reports `result` to the flight.
    fn report(&mut self, result: io::Result<()>) {
        self.bytes = None;
        self.done.report(result);
    }
}

impl Drop for Job {
    /// A job dropped unrun (its thread ended with it queued) reports a
    /// failure, so that its flight does not wait for ever and its bytes are
    /// written again.
    fn drop(&mut self) {
        if self.bytes.is_some() {
            self.report(Err(io::Error::other("the write-behind thread stopped")));
        }
    }
}

impl Flight {
    /// The bytes in flight.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Whether the write is over (landing would not wait).
    pub fn is_over(&self) -> bool {
        self.done.reported.load(Ordering::Acquire)
    }

    /// Waits until the bytes are written (or the write failed) and gives
    /// them back, with the outcome.
    pub fn land(self) -> (Vec<u8>, io::Result<()>) {
        let start = Instant::now();
        while !self.done.reported.load(Ordering::Acquire) && start.elapsed() < SPIN {
            pause(start);
        }
        let mut result = lock(&self.done.result);
        let outcome = loop {
            if let Some(outcome) = result.take() {
                break outcome;
            }
            result = self
                .done
                .landed
                .wait(result)
                .unwrap_or_else(PoisonError::into_inner);
        };
        drop(result);
        (unshare(self.bytes), outcome)
    }
}

/// A flight that lands when the test says (see [`Held::land`]).
#[cfg(test)]
pub(crate) struct Held(Arc<Done>);

#[cfg(test)]
impl Flight {
    /// A flight of `bytes` that no thread writes: it lands once the
    /// [`Held`] reports.
    pub(crate) fn held(bytes: Vec<u8>) -> (Flight, Held) {
        let done = Arc::new(Done::default());
        let flight = Flight {
            bytes: Arc::new(bytes),
            done: Arc::clone(&done),
        };
        (flight, Held(done))
    }
}

#[cfg(test)]
impl Held {
    /// Reports `result` to the flight (its bytes are the caller's to write).
    pub(crate) fn land(self, result: io::Result<()>) {
        self.0.report(result);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn a_flight_is_readable_then_lands_written_with_its_buffer_back() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f");
        let file = Arc::new(File::create(&path).unwrap());
        let behind = WriteBehind::default();
        let mut bytes = Vec::with_capacity(1 << 16);
        bytes.extend_from_slice(b"written behind");
        let flight = behind.hand_over(&file, 3, bytes, Then::default()).unwrap();
        assert_eq!(flight.bytes(), b"written behind");
        let (back, outcome) = flight.land();
        outcome.unwrap();
        assert_eq!(back, b"written behind");
        assert!(back.capacity() >= 1 << 16, "the same buffer comes back");
        assert_eq!(std::fs::read(&path).unwrap(), b"\0\0\0written behind");
    }

    #[test]
    fn a_failed_write_lands_with_its_error_and_its_bytes() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f");
        std::fs::write(&path, b"").unwrap();
        // Opened read-only: every write fails.
        let file = Arc::new(File::open(&path).unwrap());
        let behind = WriteBehind::default();
        let flight = behind
            .hand_over(&file, 0, b"lost?".to_vec(), Then::default())
            .unwrap();
        let (back, outcome) = flight.land();
        assert!(outcome.is_err());
        assert_eq!(back, b"lost?");
        assert!(std::fs::read(&path).unwrap().is_empty());
    }

    #[test]
    fn an_ordered_write_writes_every_byte_synced_or_not() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f");
        let file = File::create(&path).unwrap();
        write_ordered(&file, b"head", 0, Some(4)).unwrap();
        write_ordered(&file, b"er and records", 4, Some(2)).unwrap();
        // A sync point past the end: the whole write, then the sync.
        write_ordered(&file, b", more", 18, Some(100)).unwrap();
        write_ordered(&file, b"!", 24, None).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"header and records, more!");
    }

    #[test]
    fn an_unrun_job_reports_a_failure_when_dropped() {
        let file = Arc::new(tempfile::tempfile().unwrap());
        let bytes = Arc::new(b"queued".to_vec());
        let done = Arc::new(Done::default());
        let flight = Flight {
            bytes: Arc::clone(&bytes),
            done: Arc::clone(&done),
        };
        drop(Job {
            file,
            pos: 0,
            then: Then::default(),
            bytes: Some(bytes),
            done,
        });
        let (back, outcome) = flight.land();
        assert!(outcome.is_err());
        assert_eq!(back, b"queued");
    }
}
