//! The baseline: a plain `std::fs::File` behind a 1 MiB `BufWriter`,
//! records length-prefixed (u32 little-endian), read back through a
//! `BufReader`; random reads are a `pread` at a position held in RAM. No
//! checksums, no index file, no segments: the floor of what a log costs.

use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::{not_open, Engine};
use crate::BenchResult;

const BUFFER: usize = 1 << 20;

/// A length-prefixed records file.
#[derive(Debug, Default)]
pub struct Baseline {
    path: Option<PathBuf>,
    writer: Option<BufWriter<File>>,
    reader: Option<File>,
    /// Position of every record, in RAM (the baseline keeps no index file):
    /// known only when this open created the file (record 0 is always at 0).
    positions: Vec<u64>,
    end: u64,
    buf: Vec<u8>,
}

impl Baseline {
    fn writer(&mut self) -> BenchResult<&mut BufWriter<File>> {
        self.writer.as_mut().ok_or_else(not_open)
    }

    fn write_record(&mut self, payload: &[u8]) -> BenchResult<()> {
        let len = u32::try_from(payload.len())?;
        if self.positions.last() != Some(&u64::MAX) {
            self.positions.push(self.end);
        }
        self.end += 4 + payload.len() as u64;
        let writer = self.writer()?;
        writer.write_all(&len.to_le_bytes())?;
        writer.write_all(payload)?;
        Ok(())
    }
}

impl Engine for Baseline {
    fn name(&self) -> &'static str {
        "baseline"
    }

    fn open(&mut self, dir: &Path, _segment_bytes: u64) -> BenchResult<()> {
        fs::create_dir_all(dir)?;
        let path = dir.join("records");
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&path)?;
        self.end = file.metadata()?.len();
        self.positions.clear();
        if self.end > 0 {
            // Records of an earlier open: only record 0's place is known.
            self.positions.push(0);
            self.positions.push(u64::MAX);
        }
        self.reader = Some(file.try_clone()?);
        self.writer = Some(BufWriter::with_capacity(BUFFER, file));
        self.path = Some(path);
        Ok(())
    }

    fn append(&mut self, payload: &[u8]) -> BenchResult<()> {
        self.write_record(payload)
    }

    fn append_batch(&mut self, batch: &[&[u8]]) -> BenchResult<()> {
        batch.iter().try_for_each(|p| self.write_record(p))
    }

    fn flush(&mut self) -> BenchResult<()> {
        Ok(self.writer()?.flush()?)
    }

    fn sync(&mut self) -> BenchResult<()> {
        let writer = self.writer()?;
        writer.flush()?;
        Ok(writer.get_ref().sync_data()?)
    }

    fn close(&mut self) -> BenchResult<()> {
        if let Some(mut writer) = self.writer.take() {
            writer.flush()?;
        }
        self.reader = None;
        Ok(())
    }

    fn abandon(&mut self) {
        self.writer = None;
        self.reader = None;
    }

    fn scan(&mut self) -> BenchResult<(u64, u64)> {
        let path = self.path.as_ref().ok_or_else(not_open)?;
        let mut reader = BufReader::with_capacity(BUFFER, File::open(path)?);
        let (mut records, mut bytes) = (0, 0);
        let mut len = [0; 4];
        loop {
            match reader.read_exact(&mut len) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(e.into()),
            }
            let n = u32::from_le_bytes(len) as usize;
            self.buf.resize(n, 0);
            reader.read_exact(&mut self.buf)?;
            bytes += n as u64;
            records += 1;
        }
        Ok((records, bytes))
    }

    fn read(&mut self, offset: u64) -> BenchResult<usize> {
        let pos = usize::try_from(offset)
            .ok()
            .and_then(|i| self.positions.get(i))
            .copied()
            .filter(|&p| p != u64::MAX)
            .ok_or("offset out of range, or of a record from an earlier open")?;
        let file = self.reader.as_ref().ok_or_else(not_open)?;
        let mut len = [0; 4];
        file.read_exact_at(&mut len, pos)?;
        let n = u32::from_le_bytes(len) as usize;
        self.buf.resize(n, 0);
        file.read_exact_at(&mut self.buf, pos + 4)?;
        Ok(n)
    }
}
