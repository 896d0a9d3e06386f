//! The `commitlog` crate (zowens/commitlog): segmented, memory-mapped index,
//! CRC-32C per message, verified on read.

use std::path::Path;

use commitlog::message::{MessageBuf, MessageSet};
use commitlog::{LogOptions, ReadLimit};

use super::{not_open, Engine};
use crate::BenchResult;

/// Bytes asked for per read while scanning.
const SCAN_CHUNK: usize = 1 << 20;

/// A `commitlog::CommitLog`.
#[derive(Default)]
pub struct CommitLog {
    log: Option<commitlog::CommitLog>,
    /// Bytes of one stored message (header included), learnt at the first
    /// read: a random read asks for exactly one message.
    message_bytes: usize,
    batch: MessageBuf,
}

impl std::fmt::Debug for CommitLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommitLog")
            .field("open", &self.log.is_some())
            .finish()
    }
}

impl CommitLog {
    fn log(&mut self) -> BenchResult<&mut commitlog::CommitLog> {
        self.log.as_mut().ok_or_else(not_open)
    }
}

impl Engine for CommitLog {
    fn name(&self) -> &'static str {
        "commitlog"
    }

    fn open(&mut self, dir: &Path, segment_bytes: u64) -> BenchResult<()> {
        let mut options = LogOptions::new(dir);
        options
            .segment_max_bytes(usize::try_from(segment_bytes)?)
            .message_max_bytes(16 << 20);
        self.log = Some(commitlog::CommitLog::new(options)?);
        Ok(())
    }

    fn append(&mut self, payload: &[u8]) -> BenchResult<()> {
        self.log()?
            .append_msg(payload)
            .map_err(|e| format!("commitlog append: {e:?}"))?;
        Ok(())
    }

    fn append_batch(&mut self, batch: &[&[u8]]) -> BenchResult<()> {
        let mut buf = std::mem::take(&mut self.batch);
        buf.clear();
        for payload in batch {
            buf.push(payload)
                .map_err(|e| format!("commitlog: message too large: {e:?}"))?;
        }
        let appended = self.log()?.append(&mut buf);
        self.batch = buf;
        appended?;
        Ok(())
    }

    fn flush(&mut self) -> BenchResult<()> {
        // commitlog writes each append straight to its file: nothing is
        // buffered in the process.
        Ok(())
    }

    fn sync(&mut self) -> BenchResult<()> {
        Ok(self.log()?.flush()?)
    }

    fn close(&mut self) -> BenchResult<()> {
        if let Some(mut log) = self.log.take() {
            log.flush()?;
        }
        Ok(())
    }

    fn abandon(&mut self) {
        self.log = None;
    }

    fn scan(&mut self) -> BenchResult<(u64, u64)> {
        let log = self.log()?;
        let (mut next, mut records, mut bytes) = (0, 0, 0);
        loop {
            let messages = log
                .read(next, ReadLimit::max_bytes(SCAN_CHUNK))
                .map_err(|e| format!("commitlog read: {e:?}"))?;
            let mut any = false;
            for m in messages.iter() {
                bytes += m.payload().len() as u64;
                records += 1;
                next = m.offset() + 1;
                any = true;
            }
            if !any {
                break;
            }
        }
        Ok((records, bytes))
    }

    fn read(&mut self, offset: u64) -> BenchResult<usize> {
        let want = match self.message_bytes {
            0 => SCAN_CHUNK,
            // One byte more than a message: commitlog refuses a limit equal
            // to the last message of a segment, and two never fit.
            n => n + 1,
        };
        let log = self.log()?;
        let messages = log
            .read(offset, ReadLimit::max_bytes(want))
            .map_err(|e| format!("commitlog read at {offset}: {e:?}"))?;
        let len = messages
            .iter()
            .next()
            .ok_or("no message at offset")?
            .payload()
            .len();
        if self.message_bytes == 0 {
            // Every message of a run has the same size.
            self.message_bytes = messages.bytes().len() / messages.len().max(1);
        }
        Ok(len)
    }
}
