// The dislog browser example: append typed messages, list and read records,
// truncate, and persist the log as a snapshot in IndexedDB so that it is
// restored on reload. Serve the repository root (see README.md here).
import init, { Log } from '../../wasm/pkg/web/dislog_wasm.js';

const DB_NAME = 'dislog-example';
const STORE = 'snapshots';
const KEY = 'log';
// Small segments, so that prefix truncation has whole segments to remove.
const OPTIONS = { maxIndexBytes: 32 + 16 * 4 };

const $ = (id) => document.getElementById(id);
const decoder = new TextDecoder();

// --- IndexedDB: one key holding the latest snapshot bytes -------------------
function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function request(db, mode, fn) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const req = fn(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(req.result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

const loadSnapshot = (db) => request(db, 'readonly', (s) => s.get(KEY));
const saveSnapshot = (db, bytes) => request(db, 'readwrite', (s) => s.put(bytes, KEY));
const deleteSnapshot = (db) => request(db, 'readwrite', (s) => s.delete(KEY));

// --- the page ---------------------------------------------------------------
let db;
let log;

function render() {
  const rows = [];
  for (const record of log.records()) {
    const tr = document.createElement('tr');
    tr.dataset.offset = String(record.offset);
    for (const text of [
      String(record.offset),
      new Date(record.timestamp).toLocaleTimeString(),
      decoder.decode(record.data),
    ]) {
      const td = document.createElement('td');
      td.textContent = text;
      tr.append(td);
    }
    rows.push(tr);
  }
  $('records').replaceChildren(...rows);
  const lowest = log.lowestOffset ?? '–';
  $('stats').textContent =
    `${log.length} records · offsets ${lowest}..${log.nextOffset} · ${log.sizeBytes} bytes in memory`;
}

async function persist(what) {
  const bytes = log.snapshot();
  await saveSnapshot(db, bytes);
  $('status').textContent = `${what}; saved a ${bytes.length}-byte snapshot`;
  render();
}

/** Runs a UI action, showing a dislog error's code and message on the page. */
function action(fn) {
  return async (event) => {
    event?.preventDefault();
    $('error').textContent = '';
    try {
      await fn();
    } catch (e) {
      $('error').textContent = e.code ? `${e.code}: ${e.message}` : String(e);
    }
  };
}

/** The offset typed in an input, as a number (the log checks the rest). */
const offsetIn = (id) => ($(id).value === '' ? NaN : Number($(id).value));

async function main() {
  await init();
  db = await openDb();
  const saved = await loadSnapshot(db);
  if (saved) {
    try {
      log = Log.restore(new Uint8Array(saved), OPTIONS);
      $('status').textContent = `restored ${log.length} records from IndexedDB`;
    } catch (e) {
      $('error').textContent = `the saved snapshot was unreadable (${e.code}); starting empty`;
    }
  }
  if (!log) {
    log = new Log(OPTIONS);
    if (!saved) $('status').textContent = 'new empty log';
  }
  render();

  $('append-form').addEventListener('submit', action(async () => {
    const offset = log.append($('message').value);
    $('message').value = '';
    await persist(`appended offset ${offset}`);
  }));
  $('read-form').addEventListener('submit', action(async () => {
    const record = log.readRecord(offsetIn('read-offset'));
    $('read-result').textContent =
      `#${record.offset} at ${new Date(record.timestamp).toISOString()}: ${decoder.decode(record.data)}`;
  }));
  $('truncate-suffix').addEventListener('click', action(async () => {
    const from = offsetIn('truncate-offset');
    log.truncateSuffix(from);
    await persist(`removed offsets from ${from} on`);
  }));
  $('truncate-prefix').addEventListener('click', action(async () => {
    const removed = log.truncate(offsetIn('truncate-offset'));
    await persist(`removed ${removed.records} records in ${removed.segments} segments`);
  }));
  $('clear').addEventListener('click', action(async () => {
    log.free();
    log = new Log(OPTIONS);
    await deleteSnapshot(db);
    $('status').textContent = 'cleared';
    render();
  }));
  document.body.dataset.ready = 'true';
}

main().catch((e) => {
  $('error').textContent = `failed to start: ${e}`;
  throw e;
});
