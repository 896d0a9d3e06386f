//! The simulated storage: a directory whose every file keeps its live bytes
//! (what reads see) apart from its durable bytes (what survived the last
//! sync), and whose names keep the live set apart from the durable one
//! (as of the last directory sync).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use dislog_core::{FileHint, FileSyncer, Storage, StorageError, StorageErrorKind, StorageFile};

use crate::faults::{CrashMode, Faults, Op};
use crate::media::{self, Inode};
use crate::rng::Rng;

/// Everything behind a [`SimStorage`] and its open files.
#[derive(Debug)]
pub(crate) struct World {
    pub rng: Rng,
    pub inodes: BTreeMap<u64, Inode>,
    next_inode: u64,
    /// Names as reads and `list` see them.
    pub live: BTreeMap<String, u64>,
    /// Names as of the last `sync_dir`.
    pub durable: BTreeMap<String, u64>,
    faults: Faults,
    ops: u64,
    injected: u64,
    powered_off: bool,
    /// Every counted operation, when tracing is on.
    trace: Option<Vec<String>>,
}

impl World {
    pub fn new(rng: Rng) -> Self {
        Self {
            rng,
            inodes: BTreeMap::new(),
            next_inode: 0,
            live: BTreeMap::new(),
            durable: BTreeMap::new(),
            faults: Faults::default(),
            ops: 0,
            injected: 0,
            powered_off: false,
            trace: None,
        }
    }

    /// Adds a file that exists durably with `bytes`.
    pub fn insert_durable(&mut self, name: &str, bytes: Vec<u8>) {
        let id = self.new_inode(Inode::durable(bytes));
        self.live.insert(name.to_string(), id);
        self.durable.insert(name.to_string(), id);
    }

    fn new_inode(&mut self, inode: Inode) -> u64 {
        let id = self.next_inode;
        self.next_inode += 1;
        self.inodes.insert(id, inode);
        id
    }

    /// Counts an operation and decides whether it fails: with a power cut,
    /// or with an injected error (whose detail starts with `injected`, so
    /// the caller may apply a partial effect).
    fn begin(&mut self, op: Op, name: &str) -> Result<(), StorageError> {
        if self.powered_off {
            return Err(StorageError::new(
                StorageErrorKind::Injected,
                format!("power is off ({op:?} {name})"),
            ));
        }
        if op != Op::Read {
            let n = self.ops;
            self.ops += 1;
            if let Some(trace) = &mut self.trace {
                trace.push(format!("{n}: {op:?} {name}"));
            }
            if self.faults.power_cut_at == Some(n) {
                self.powered_off = true;
                return Err(StorageError::new(
                    StorageErrorKind::Injected,
                    format!("power cut at operation {n} ({op:?} {name})"),
                ));
            }
            if self.faults.fail_at == Some(n) {
                return Err(self.injected(op, name, n));
            }
        }
        if self.faults.fail_per_million > 0
            && self.faults.fail_kinds.contains(op)
            && self
                .rng
                .chance(u64::from(self.faults.fail_per_million), 1_000_000)
        {
            let n = self.ops;
            return Err(self.injected(op, name, n));
        }
        Ok(())
    }

    fn injected(&mut self, op: Op, name: &str, n: u64) -> StorageError {
        self.injected += 1;
        if op == Op::Append && self.faults.out_of_memory_appends {
            return StorageError::out_of_memory();
        }
        StorageError::new(
            StorageErrorKind::Injected,
            format!("injected {op:?} failure at operation {n} ({name})"),
        )
    }

    fn inode(&mut self, id: u64) -> Result<&mut Inode, StorageError> {
        self.inodes
            .get_mut(&id)
            .ok_or_else(|| StorageError::new(StorageErrorKind::Other, "stale file handle"))
    }
}

/// A seeded, fault-injecting [`Storage`] for tests. Clones share the same
/// directory. Every file keeps the bytes reads see apart from the bytes a
/// power loss is sure to keep, so [`SimStorage::crash`] can build any state
/// the storage contract (`dislog_core::Storage`) allows, and only those.
///
/// The same seed and the same sequence of calls give the same run.
#[derive(Clone, Debug)]
pub struct SimStorage {
    world: Arc<Mutex<World>>,
}

impl SimStorage {
    /// An empty directory whose faults and crashes are driven by `seed`.
    pub fn new(seed: u64) -> Self {
        Self::from_world(World::new(Rng::new(seed)))
    }

    fn from_world(world: World) -> Self {
        Self {
            world: Arc::new(Mutex::new(world)),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, World> {
        lock(&self.world)
    }

    /// Replaces the faults to inject from now on.
    pub fn set_faults(&self, faults: Faults) {
        self.lock().faults = faults;
    }

    /// The faults in force.
    pub fn faults(&self) -> Faults {
        self.lock().faults
    }

    /// Counted operations made so far (see [`Faults`]).
    pub fn ops(&self) -> u64 {
        self.lock().ops
    }

    /// Injected failures so far (power cuts not included).
    pub fn injected(&self) -> u64 {
        self.lock().injected
    }

    /// Starts recording every counted operation (see [`SimStorage::trace`]).
    pub fn start_trace(&self) {
        self.lock().trace.get_or_insert_with(Vec::new);
    }

    /// The operations recorded since [`SimStorage::start_trace`], one line
    /// each: number, kind and file name.
    pub fn trace(&self) -> Vec<String> {
        self.lock().trace.clone().unwrap_or_default()
    }

    /// Whether a power cut happened (every call now fails).
    pub fn is_powered_off(&self) -> bool {
        self.lock().powered_off
    }

    /// Names in the directory, sorted.
    pub fn file_names(&self) -> Vec<String> {
        self.lock().live.keys().cloned().collect()
    }

    /// The bytes reads see in `name`.
    pub fn live_bytes(&self, name: &str) -> Option<Vec<u8>> {
        let w = self.lock();
        let id = w.live.get(name)?;
        w.inodes.get(id).map(|i| i.live.clone())
    }

    /// The bytes of `name` as of its last sync.
    pub fn durable_bytes(&self, name: &str) -> Option<Vec<u8>> {
        let w = self.lock();
        let id = w.live.get(name)?;
        w.inodes.get(id).map(|i| i.durable.clone())
    }

    /// Puts a file in the directory holding `bytes`, durably (test setup).
    pub fn set_file_bytes(&self, name: &str, bytes: Vec<u8>) {
        self.lock().insert_durable(name, bytes);
    }

    /// Flips bit `bit` (counted from the file's first byte) of `name` on the
    /// media, in the live and the durable bytes alike: bit rot. Returns
    /// whether the file exists and holds that bit.
    pub fn flip_bit(&self, name: &str, bit: u64) -> bool {
        let mut w = self.lock();
        let Some(&id) = w.live.get(name) else {
            return false;
        };
        w.inodes.get_mut(&id).is_some_and(|i| i.flip_bit(bit))
    }

    /// Flips `count` random bits across the files (chosen by the seed);
    /// returns the (name, bit) pairs flipped.
    pub fn flip_random_bits(&self, count: usize) -> Vec<(String, u64)> {
        let mut w = self.lock();
        let names: Vec<(String, u64)> = w
            .live
            .iter()
            .map(|(n, &id)| (n.clone(), id))
            .filter(|(_, id)| w.inodes.get(id).is_some_and(|i| !i.live.is_empty()))
            .collect();
        let mut flipped = Vec::new();
        for _ in 0..count {
            if names.is_empty() {
                break;
            }
            let (name, id) = &names[w.rng.index(names.len())];
            let bits = w.inodes.get(id).map_or(0, |i| i.live.len() as u64 * 8);
            let bit = w.rng.below(bits);
            if w.inodes.get_mut(id).is_some_and(|i| i.flip_bit(bit)) {
                flipped.push((name.clone(), bit));
            }
        }
        flipped
    }

    /// Pulls the plug: returns a new storage holding what the media holds
    /// after a power loss now, chosen by the seed among the states the
    /// storage contract allows (see [`CrashMode::ANY`]). This storage is
    /// powered off from now on, so a log still using it can no longer write.
    /// The new storage starts with no faults and a fresh operation count.
    pub fn crash(&self) -> SimStorage {
        self.crash_with(CrashMode::ANY)
    }

    /// [`SimStorage::crash`] with a chosen set of outcomes.
    pub fn crash_with(&self, mode: CrashMode) -> SimStorage {
        let mut w = self.lock();
        w.powered_off = true;
        let mut rng = w.rng.fork();
        let mut next = World::new(rng.fork());
        for (name, bytes) in media::after_power_loss(&w, mode, &mut rng) {
            next.insert_durable(&name, bytes);
        }
        SimStorage::from_world(next)
    }

    /// An independent deep copy of this storage (files, names, faults,
    /// operation count and random state): running the same calls on both
    /// gives the same results. Tests use it for a dry run.
    pub fn fork(&self) -> SimStorage {
        let w = self.lock();
        SimStorage::from_world(World {
            rng: w.rng.clone(),
            inodes: w.inodes.clone(),
            next_inode: w.next_inode,
            live: w.live.clone(),
            durable: w.durable.clone(),
            faults: w.faults,
            ops: w.ops,
            injected: w.injected,
            powered_off: w.powered_off,
            trace: w.trace.clone(),
        })
    }

    fn file(&self, name: &str, id: u64) -> SimFile {
        SimFile {
            world: Arc::clone(&self.world),
            id,
            name: name.to_string(),
        }
    }
}

fn lock(world: &Mutex<World>) -> MutexGuard<'_, World> {
    world.lock().unwrap_or_else(PoisonError::into_inner)
}

fn not_found(name: &str) -> StorageError {
    StorageError::new(StorageErrorKind::NotFound, name)
}

impl Storage for SimStorage {
    type File = SimFile;

    fn list(&self) -> Result<Vec<String>, StorageError> {
        let mut w = self.lock();
        w.begin(Op::List, "")?;
        let mut names: Vec<String> = w.live.keys().cloned().collect();
        // A directory listing has no promised order: shuffle it.
        for i in (1..names.len()).rev() {
            let j = w.rng.index(i + 1);
            names.swap(i, j);
        }
        Ok(names)
    }

    fn open(&self, name: &str, _hint: FileHint) -> Result<SimFile, StorageError> {
        let mut w = self.lock();
        w.begin(Op::Open, name)?;
        let id = *w.live.get(name).ok_or_else(|| not_found(name))?;
        drop(w);
        Ok(self.file(name, id))
    }

    fn create(&self, name: &str, _hint: FileHint) -> Result<SimFile, StorageError> {
        let mut w = self.lock();
        w.begin(Op::Create, name)?;
        let id = match w.live.get(name).copied() {
            // Creating over an existing file truncates it (same file).
            Some(id) => {
                w.inode(id)?.truncate(0);
                id
            }
            None => {
                let id = w.new_inode(Inode::default());
                w.live.insert(name.to_string(), id);
                id
            }
        };
        drop(w);
        Ok(self.file(name, id))
    }

    fn remove(&self, name: &str) -> Result<(), StorageError> {
        let mut w = self.lock();
        w.begin(Op::Remove, name)?;
        w.live.remove(name);
        Ok(())
    }

    fn sync_dir(&self) -> Result<(), StorageError> {
        let mut w = self.lock();
        w.begin(Op::SyncDir, "")?;
        w.durable = w.live.clone();
        Ok(())
    }
}

/// An open file of a [`SimStorage`]. It keeps working after its name is
/// removed, as an open file does.
#[derive(Debug)]
pub struct SimFile {
    world: Arc<Mutex<World>>,
    id: u64,
    name: String,
}

impl SimFile {
    fn with<T>(
        &self,
        op: Op,
        f: impl FnOnce(&mut Inode, &mut Rng, Result<(), StorageError>) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let mut w = lock(&self.world);
        let started = w.begin(op, &self.name);
        let World { inodes, rng, .. } = &mut *w;
        let inode = inodes
            .get_mut(&self.id)
            .ok_or_else(|| StorageError::new(StorageErrorKind::Other, "stale file handle"))?;
        f(inode, rng, started)
    }
}

impl StorageFile for SimFile {
    fn len(&self) -> u64 {
        let w = lock(&self.world);
        w.inodes.get(&self.id).map_or(0, |i| i.live.len() as u64)
    }

    fn read_into(&self, pos: u64, buf: &mut [u8]) -> Result<(), StorageError> {
        self.with(Op::Read, |inode, _, started| {
            started?;
            let src = usize::try_from(pos)
                .ok()
                .and_then(|p| inode.live.get(p..p.checked_add(buf.len())?))
                .ok_or_else(|| {
                    StorageError::new(
                        StorageErrorKind::UnexpectedEof,
                        format!(
                            "{}: {} bytes at {pos} past length {}",
                            self.name,
                            buf.len(),
                            inode.live.len()
                        ),
                    )
                })?;
            buf.copy_from_slice(src);
            Ok(())
        })
    }

    fn append(&mut self, data: &[u8]) -> Result<(), StorageError> {
        let torn = lock(&self.world).faults.torn_failed_appends;
        self.with(Op::Append, |inode, rng, started| match started {
            Ok(()) => {
                inode.live.extend_from_slice(data);
                Ok(())
            }
            Err(e) => {
                if torn && e.detail().starts_with("injected") {
                    let keep = rng.index(data.len() + 1);
                    inode.live.extend_from_slice(&data[..keep]);
                }
                Err(e)
            }
        })
    }

    fn truncate(&mut self, len: u64) -> Result<(), StorageError> {
        self.with(Op::Truncate, |inode, rng, started| {
            // A failed truncate may or may not have happened.
            if started.is_ok() || (started_injected(&started) && rng.chance(1, 2)) {
                inode.truncate(usize::try_from(len).unwrap_or(usize::MAX));
            }
            started
        })
    }

    fn flush(&mut self) -> Result<(), StorageError> {
        self.with(Op::Flush, |_, _, started| started)
    }

    fn sync(&mut self) -> Result<(), StorageError> {
        self.sync_inode()
    }

    fn sync_prefix(&mut self, len: u64) -> Result<(), StorageError> {
        self.with(Op::SyncPrefix, |inode, _, started| {
            started?;
            inode.sync_prefix(usize::try_from(len).unwrap_or(usize::MAX));
            Ok(())
        })
    }

    /// A handle on the same inode: the log's syncs run through it (as the
    /// native backend's do, beside appends), with the same faults.
    fn syncer(&self) -> Option<Box<dyn FileSyncer>> {
        Some(Box::new(SimFile {
            world: Arc::clone(&self.world),
            id: self.id,
            name: self.name.clone(),
        }))
    }
}

impl SimFile {
    fn sync_inode(&self) -> Result<(), StorageError> {
        self.with(Op::Sync, |inode, _, started| {
            started?;
            inode.sync();
            Ok(())
        })
    }
}

impl FileSyncer for SimFile {
    fn sync(&self) -> Result<(), StorageError> {
        self.sync_inode()
    }
}

fn started_injected(started: &Result<(), StorageError>) -> bool {
    started
        .as_ref()
        .is_err_and(|e| e.detail().starts_with("injected"))
}
