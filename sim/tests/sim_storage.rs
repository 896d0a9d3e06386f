//! The simulator itself: it produces the states the storage contract
//! allows and no others, and the same seed gives the same run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dislog_core::{FileHint, FileKind, Storage, StorageErrorKind, StorageFile};
use dislog_sim::{CrashMode, Faults, Op, OpSet, SimStorage};

const HINT: FileHint = FileHint {
    kind: FileKind::Store,
    capacity: 1 << 20,
};

fn write(storage: &SimStorage, name: &str, bytes: &[u8]) -> dislog_sim::SimFile {
    let mut f = storage.create(name, HINT).unwrap();
    f.append(bytes).unwrap();
    f
}

#[test]
fn synced_bytes_and_names_survive_every_crash() {
    for seed in 0..500 {
        let storage = SimStorage::new(seed);
        let mut f = write(&storage, "a", b"synced part");
        f.sync().unwrap();
        storage.sync_dir().unwrap();
        f.append(b" and an unsynced tail").unwrap();
        let g = write(&storage, "b", b"never synced");
        drop(g);
        let media = storage.crash();
        let a = media.live_bytes("a").expect("a synced name survives");
        assert!(a.starts_with(b"synced part"), "seed {seed}: {a:?}");
        assert_eq!(media.durable_bytes("a"), Some(a));
    }
}

#[test]
fn a_synced_prefix_survives_every_crash_and_the_rest_stays_unsynced() {
    let (mut lost, mut kept) = (0, 0);
    for seed in 0..500 {
        let storage = SimStorage::new(seed);
        // Never synced: name and bytes; the directory only.
        let mut f = write(&storage, "a", b"HEADER--and records after it");
        storage.sync_dir().unwrap();
        f.sync_prefix(8).unwrap();
        let mode = match seed % 3 {
            0 => CrashMode::LoseUnsynced,
            1 => CrashMode::Prefix,
            _ => CrashMode::Random {
                garbage: true,
                zero_fill: true,
                torn_headers: true,
            },
        };
        let after = storage.crash_with(mode).live_bytes("a").unwrap();
        assert!(after.starts_with(b"HEADER--"), "seed {seed}: {after:?}");
        match &after[8..] {
            [] => lost += 1,
            rest if rest == b"and records after it" => kept += 1,
            _ => {}
        }
    }
    assert!(lost > 0 && kept > 0, "{lost} {kept}");
}

#[test]
fn unsynced_appends_come_back_in_every_allowed_form() {
    let (mut none, mut all, mut prefix, mut other) = (0, 0, 0, 0);
    for seed in 0..400 {
        let storage = SimStorage::new(seed);
        let mut f = write(&storage, "a", b"head");
        f.sync().unwrap();
        storage.sync_dir().unwrap();
        f.append(&[7; 100]).unwrap();
        let after = storage
            .crash_with(CrashMode::Random {
                garbage: true,
                zero_fill: false,
                torn_headers: true,
            })
            .live_bytes("a")
            .unwrap();
        assert!(
            after.starts_with(b"head") && after.len() <= 104,
            "seed {seed}"
        );
        match &after[4..] {
            [] => none += 1,
            t if t.len() == 100 && t.iter().all(|&b| b == 7) => all += 1,
            t if t.iter().all(|&b| b == 7) => prefix += 1,
            _ => other += 1,
        }
    }
    assert!(none > 0 && all > 0 && prefix > 0 && other > 0);
}

#[test]
fn unsynced_truncation_may_or_may_not_land() {
    let (mut cut, mut kept) = (0, 0);
    for seed in 0..100 {
        let storage = SimStorage::new(seed);
        let mut f = write(&storage, "a", b"0123456789");
        f.sync().unwrap();
        storage.sync_dir().unwrap();
        f.truncate(4).unwrap();
        let after = storage
            .crash_with(CrashMode::Prefix)
            .live_bytes("a")
            .unwrap();
        assert!(b"0123456789".starts_with(&after) && after.len() >= 4);
        if after.len() == 4 {
            cut += 1;
        } else if after.len() == 10 {
            kept += 1;
        }
    }
    assert!(cut > 0 && kept > 0, "{cut} {kept}");
}

#[test]
fn names_are_durable_only_after_sync_dir() {
    let (mut created, mut removed) = (0, 0);
    for seed in 0..100 {
        let storage = SimStorage::new(seed);
        let mut f = write(&storage, "old", b"x");
        f.sync().unwrap();
        storage.sync_dir().unwrap();
        storage.remove("old").unwrap();
        let mut g = write(&storage, "new", b"y");
        g.sync().unwrap();
        let media = storage.crash();
        created += usize::from(media.live_bytes("new").is_some());
        removed += usize::from(media.live_bytes("old").is_none());
        // A removed file that comes back holds its synced bytes.
        if let Some(old) = media.live_bytes("old") {
            assert_eq!(old, b"x");
        }
        let lost = storage.crash_with(CrashMode::LoseUnsynced);
        assert_eq!(lost.file_names(), ["old"]);
        let kept = storage.crash_with(CrashMode::KeepAll);
        assert_eq!(kept.file_names(), ["new"]);
    }
    assert!((1..100).contains(&created) && (1..100).contains(&removed));
    let storage = SimStorage::new(1);
    drop(write(&storage, "n", b"z"));
    storage.sync_dir().unwrap();
    assert_eq!(storage.crash().file_names(), ["n"]);
}

#[test]
fn same_seed_same_run() {
    let run = |seed| {
        let storage = SimStorage::new(seed);
        storage.set_faults(Faults {
            fail_per_million: 200_000,
            fail_kinds: Op::WRITES,
            torn_failed_appends: true,
            ..Faults::default()
        });
        let mut results = Vec::new();
        if let Ok(mut f) = storage.create("f", HINT) {
            for i in 0..50u8 {
                results.push(f.append(&[i; 9]).is_ok());
                results.push(f.sync().is_ok());
            }
        }
        let media = storage.crash();
        (results, media.live_bytes("f"), storage.injected())
    };
    assert_eq!(run(3), run(3));
    assert_ne!(run(3), run(4));
}

#[test]
fn countdown_failure_and_power_cut() {
    let storage = SimStorage::new(9);
    storage.set_faults(Faults {
        fail_at: Some(2),
        power_cut_at: Some(4),
        ..Faults::default()
    });
    let mut f = storage.create("f", HINT).unwrap(); // op 0
    f.append(b"a").unwrap(); // op 1
    let e = f.append(b"b").unwrap_err(); // op 2 fails
    assert_eq!(e.kind(), StorageErrorKind::Injected);
    assert_eq!(f.len(), 1, "a failed append without tearing adds nothing");
    f.sync().unwrap(); // op 3
    assert!(f.append(b"c").is_err()); // op 4: the power goes
    assert!(storage.is_powered_off());
    assert!(f.sync().is_err() && storage.list().is_err());
    let mut buf = [0; 1];
    assert!(f.read_into(0, &mut buf).is_err());
    assert_eq!(storage.injected(), 1);
    assert_eq!(
        storage.ops(),
        5,
        "calls after the power cut are not counted"
    );
}

#[test]
fn torn_failed_appends_leave_a_prefix() {
    let mut lengths = Vec::new();
    for seed in 0..50 {
        let storage = SimStorage::new(seed);
        let mut f = storage.create("f", HINT).unwrap();
        storage.set_faults(Faults {
            fail_at: Some(1),
            torn_failed_appends: true,
            ..Faults::default()
        });
        assert!(f.append(b"0123456789").is_err());
        let bytes = storage.live_bytes("f").unwrap();
        assert!(b"0123456789".starts_with(&bytes));
        lengths.push(bytes.len());
    }
    assert!(lengths.contains(&0) || lengths.iter().any(|&l| l > 0));
    assert!(lengths.iter().any(|&l| l > 0 && l < 10));
}

#[test]
fn read_faults_only_when_asked() {
    let storage = SimStorage::new(2);
    let f = write(&storage, "f", b"abc");
    storage.set_faults(Faults {
        fail_per_million: 1_000_000,
        fail_kinds: OpSet::NONE.with(Op::Read),
        ..Faults::default()
    });
    let mut buf = [0; 3];
    assert!(f.read_into(0, &mut buf).is_err());
    storage.set_faults(Faults::default());
    f.read_into(0, &mut buf).unwrap();
    assert_eq!(&buf, b"abc");
    assert_eq!(
        f.read_into(1, &mut buf).unwrap_err().kind(),
        StorageErrorKind::UnexpectedEof
    );
}

#[test]
fn bit_flips_change_one_bit_on_the_media() {
    let storage = SimStorage::new(4);
    let mut f = write(&storage, "f", &[0; 8]);
    f.sync().unwrap();
    assert!(storage.flip_bit("f", 13));
    assert_eq!(storage.live_bytes("f").unwrap()[1], 0b0010_0000);
    assert_eq!(storage.durable_bytes("f").unwrap()[1], 0b0010_0000);
    assert!(!storage.flip_bit("f", 64));
    assert!(!storage.flip_bit("missing", 0));
    let flipped = storage.flip_random_bits(3);
    assert_eq!(flipped.len(), 3);
}

#[test]
fn open_files_survive_removal_and_create_truncates() {
    let storage = SimStorage::new(8);
    let mut f = write(&storage, "f", b"abc");
    storage.remove("f").unwrap();
    f.append(b"d").unwrap();
    assert_eq!(f.len(), 4);
    assert_eq!(
        storage.open("f", HINT).unwrap_err().kind(),
        StorageErrorKind::NotFound
    );
    drop(write(&storage, "g", b"xyz"));
    let g = storage.create("g", HINT).unwrap();
    assert!(g.is_empty());
}
