//! dislog's file backend through its Rust API (`dislog::Log`).

use std::path::Path;

use dislog::{Config, Log};

use super::{not_open, Engine};
use crate::BenchResult;

/// dislog's file backend, default config but for the segment size.
#[derive(Debug, Default)]
pub struct Dislog {
    log: Option<Log>,
}

impl Dislog {
    fn log(&self) -> BenchResult<&Log> {
        self.log.as_ref().ok_or_else(not_open)
    }
}

impl Engine for Dislog {
    fn name(&self) -> &'static str {
        "dislog"
    }

    fn open(&mut self, dir: &Path, segment_bytes: u64) -> BenchResult<()> {
        let config = Config {
            max_store_bytes: segment_bytes,
            ..Config::default()
        };
        self.log = Some(Log::open(dir, config)?);
        Ok(())
    }

    fn append(&mut self, payload: &[u8]) -> BenchResult<()> {
        self.log()?.append(payload)?;
        Ok(())
    }

    fn append_batch(&mut self, batch: &[&[u8]]) -> BenchResult<()> {
        self.log()?.append_batch(batch)?;
        Ok(())
    }

    fn flush(&mut self) -> BenchResult<()> {
        Ok(self.log()?.flush()?)
    }

    fn sync(&mut self) -> BenchResult<()> {
        Ok(self.log()?.sync()?)
    }

    fn close(&mut self) -> BenchResult<()> {
        match self.log.take() {
            Some(log) => Ok(log.close()?),
            None => Ok(()),
        }
    }

    fn abandon(&mut self) {
        self.log = None;
    }

    fn scan(&mut self) -> BenchResult<(u64, u64)> {
        let log = self.log()?;
        let reader = log.reader();
        let (mut records, mut bytes) = (0, 0);
        for record in reader.iter(reader.lowest_offset().unwrap_or(0))? {
            bytes += record?.payload.len() as u64;
            records += 1;
        }
        Ok((records, bytes))
    }

    fn read(&mut self, offset: u64) -> BenchResult<usize> {
        Ok(self.log()?.read_with(offset, |r| r.payload.len())?)
    }

    fn read_many(&mut self, offsets: &[u64]) -> BenchResult<Option<u64>> {
        let mut bytes = 0;
        let mut failed = None;
        self.log()?.read_many_with(offsets, |_, r| match r {
            Ok(r) => bytes += r.payload.len() as u64,
            Err(e) => {
                failed.get_or_insert(e);
            }
        });
        match failed {
            Some(e) => Err(e.into()),
            None => Ok(Some(bytes)),
        }
    }
}
