//! `dislog snapshot` and `dislog restore`.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;

use dislog::{Config, Log};

use super::{close, has_segments, open_reader, say};
use crate::args::{RestoreArgs, SnapshotArgs};
use crate::error::{CliError, Context, Result};
use crate::units::{format_bytes, format_count};

fn is_std(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// `dislog snapshot`: writes the log as one snapshot to a file (replaced
/// atomically) or to standard output.
pub fn save(args: &SnapshotArgs) -> Result<()> {
    let log = open_reader(&args.dir)?;
    if is_std(&args.file) {
        let mut out = BufWriter::new(io::stdout().lock());
        log.snapshot_to(&mut out)
            .context(|| format!("cannot snapshot {}", args.dir.display()))?;
        out.flush()?;
        return Ok(());
    }
    // Written beside the target and renamed into place, so FILE is never a
    // half-written snapshot.
    let shown = args.file.display();
    let parent = match args.file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut temp = tempfile::NamedTempFile::new_in(parent)
        .context(|| format!("cannot create a file beside {shown}"))?;
    let bytes = {
        let mut out = BufWriter::new(temp.as_file_mut());
        let bytes = log
            .snapshot_to(&mut out)
            .context(|| format!("cannot snapshot {}", args.dir.display()))?;
        out.flush().context(|| format!("cannot write {shown}"))?;
        bytes
    };
    temp.as_file()
        .sync_all()
        .context(|| format!("cannot write {shown}"))?;
    temp.persist(&args.file)
        .map_err(|e| CliError::from(e.error))
        .context(|| format!("cannot write {shown}"))?;
    say(format!(
        "wrote a snapshot of {} records ({}) to {shown}",
        format_count(log.len()),
        format_bytes(bytes)
    ))
}

/// `dislog restore`: rebuilds a log in a new or empty directory from a
/// snapshot file or standard input.
pub fn restore(args: &RestoreArgs) -> Result<()> {
    let shown = args.file.display();
    let mut bytes = Vec::new();
    if is_std(&args.file) {
        io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .context(|| "cannot read standard input")?;
    } else {
        File::open(&args.file)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .context(|| format!("cannot read {shown}"))?;
    }
    if args.dir.exists() && has_segments(&args.dir)? {
        return Err(CliError::new(format!(
            "{} already holds a log: restore into a new or empty directory",
            args.dir.display()
        )));
    }
    let log = Log::restore(&args.dir, Config::default(), &bytes)
        .context(|| format!("cannot restore {shown} into {}", args.dir.display()))?;
    let line = format!(
        "restored {} records (offsets {}) into {}",
        format_count(log.len()),
        match (log.lowest_offset(), log.highest_offset()) {
            (Some(low), Some(high)) => format!("{low} to {high}"),
            _ => format!("none; next {}", log.next_offset()),
        },
        args.dir.display()
    );
    close(log)?;
    say(line)
}
