// End-to-end test of examples/browser in headless Chromium (Debian's
// /usr/bin/chromium driven by playwright-core): serve the repository root on
// 127.0.0.1 with python3 -m http.server, append records through the page,
// reload, check that they were restored from IndexedDB, and check that the
// page logged no console errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('../../', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-quic', '--no-first-run',
];

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

let server;
let context;
let profile;
let base;

before(async () => {
  const port = await freePort();
  server = spawn('python3', ['-m', 'http.server', '--bind', '127.0.0.1', String(port)], {
    cwd: root,
    stdio: 'ignore',
  });
  base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/examples/browser/`)).ok) break;
    } catch {
      // not listening yet
    }
    if (i > 100) throw new Error('python3 -m http.server did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  profile = mkdtempSync(join(tmpdir(), 'dislog-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
  });
});

after(async () => {
  await context?.close();
  server?.kill();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

/** Texts of the record rows: [offset, text] pairs. */
async function rows(page) {
  return page.$$eval('#records tr', (trs) =>
    trs.map((tr) => [tr.children[0].textContent, tr.children[2].textContent]));
}

test('the example page appends, persists to IndexedDB, and restores after a reload', async () => {
  const page = await context.newPage();
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console.error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()}`));

  await page.goto(`${base}/examples/browser/`);
  await page.waitForSelector('body[data-ready="true"]');
  assert.equal(await page.textContent('#status'), 'new empty log');
  assert.deepEqual(await rows(page), []);

  const messages = ['first message', 'zweite Nachricht ü', 'third 🚀'];
  for (const [i, text] of messages.entries()) {
    await page.fill('#message', text);
    await page.click('#append');
    await page.waitForFunction((n) => document.querySelectorAll('#records tr').length === n, i + 1);
  }
  await page.waitForFunction(() => /saved a \d+-byte snapshot/.test(document.getElementById('status').textContent));
  assert.deepEqual(await rows(page), messages.map((m, i) => [String(i), m]));

  // Read by offset.
  await page.fill('#read-offset', '1');
  await page.click('#read');
  await page.waitForFunction(() => document.getElementById('read-result').textContent !== '');
  assert.match(await page.textContent('#read-result'), /^#1 at \d{4}-.*: zweite Nachricht ü$/);

  // A bad offset shows the error code on the page (not a console error).
  await page.fill('#read-offset', '99');
  await page.click('#read');
  await page.waitForFunction(() => document.getElementById('error').textContent !== '');
  assert.match(await page.textContent('#error'), /^OUT_OF_RANGE: offset 99 is out of range/);

  // Reload: the records come back from the IndexedDB snapshot.
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  assert.equal(await page.textContent('#status'), 'restored 3 records from IndexedDB');
  assert.deepEqual(await rows(page), messages.map((m, i) => [String(i), m]));

  // Suffix truncation is persisted too, and the offset is reused.
  await page.fill('#truncate-offset', '2');
  await page.click('#truncate-suffix');
  await page.waitForFunction(() => document.querySelectorAll('#records tr').length === 2);
  await page.fill('#message', 'replacement');
  await page.click('#append');
  await page.waitForFunction(() => document.querySelectorAll('#records tr').length === 3);
  await page.waitForFunction(() => /^appended offset 2;/.test(document.getElementById('status').textContent));
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  assert.deepEqual(await rows(page), [['0', messages[0]], ['1', messages[1]], ['2', 'replacement']]);

  assert.deepEqual(problems, [], 'the page logged errors');
  await page.close();
});

/** Fills in the message box and appends it, waiting for `n` rows. */
async function appendThrough(page, text, n) {
  await page.fill('#message', text);
  await page.click('#append');
  await page.waitForFunction((rowsWanted) => document.querySelectorAll('#records tr').length === rowsWanted, n);
}

/** Reloads the page and waits for it to be ready. */
async function reload(page) {
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
}

test('the page\'s prefix truncation and clear persist; a corrupt saved snapshot falls back to an empty log', async () => {
  const page = await context.newPage();
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console.error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  await page.goto(`${base}/examples/browser/`);
  await page.waitForSelector('body[data-ready="true"]');

  // Clear everything: no rows, and nothing is restored after a reload.
  await page.click('#clear');
  await page.waitForFunction(() => document.getElementById('status').textContent === 'cleared');
  assert.deepEqual(await rows(page), []);
  await reload(page);
  assert.equal(await page.textContent('#status'), 'new empty log');
  assert.deepEqual(await rows(page), []);

  // Six records over two segments (four records each, see OPTIONS in app.js).
  const texts = ['r0', 'r1', 'r2', 'r3', 'r4', 'r5'];
  for (const [i, text] of texts.entries()) await appendThrough(page, text, i + 1);
  await page.waitForFunction(() => /^appended offset 5;/.test(document.getElementById('status').textContent));

  // Prefix truncation below 5 removes the whole first segment (offsets 0-3).
  await page.fill('#truncate-offset', '5');
  await page.click('#truncate-prefix');
  await page.waitForFunction(() => document.querySelectorAll('#records tr').length === 2);
  assert.match(await page.textContent('#status'), /^removed 4 records in 1 segments; saved a \d+-byte snapshot$/);
  assert.deepEqual(await rows(page), [['4', 'r4'], ['5', 'r5']]);
  await reload(page);
  assert.equal(await page.textContent('#status'), 'restored 2 records from IndexedDB');
  assert.deepEqual(await rows(page), [['4', 'r4'], ['5', 'r5']]);

  // Corrupt the saved snapshot (flip one byte): the page says so and starts empty.
  await page.evaluate(() => new Promise((resolve, reject) => {
    const open = indexedDB.open('dislog-example', 1);
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const store = open.result.transaction('snapshots', 'readwrite').objectStore('snapshots');
      const get = store.get('log');
      get.onsuccess = () => {
        const bytes = new Uint8Array(get.result);
        bytes[bytes.length >> 1] ^= 0xff;
        const put = store.put(bytes, 'log');
        put.onsuccess = () => { open.result.close(); resolve(); };
        put.onerror = () => reject(put.error);
      };
      get.onerror = () => reject(get.error);
    };
  }));
  await reload(page);
  assert.equal(await page.textContent('#error'), 'the saved snapshot was unreadable (INVALID_SNAPSHOT); starting empty');
  assert.deepEqual(await rows(page), []);
  // The fallback log works and its first save replaces the corrupt bytes.
  await appendThrough(page, 'fresh start', 1);
  await page.waitForFunction(() => /^appended offset 0;/.test(document.getElementById('status').textContent));
  await reload(page);
  assert.equal(await page.textContent('#status'), 'restored 1 records from IndexedDB');
  assert.equal(await page.textContent('#error'), '');
  assert.deepEqual(await rows(page), [['0', 'fresh start']]);

  assert.deepEqual(problems, [], 'the page logged errors');
  await page.close();
});

test('the web build behaves in Chromium as in Node: codes, iterator, snapshot, waitFor', async () => {
  const page = await context.newPage();
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console.error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  await page.goto(`${base}/examples/browser/index.html`);
  await page.waitForSelector('body[data-ready="true"]');
  const result = await page.evaluate(async () => {
    const m = await import('/wasm/pkg/web/dislog_wasm.js');
    await m.default();
    const log = new m.Log({ initialOffset: 10 });
    const codeOf = (fn) => {
      try {
        fn();
        return 'no error';
      } catch (e) {
        return `${e.constructor.name}:${e.code}`;
      }
    };
    const waited = log.waitFor(12);
    log.appendBatch(['a', new Uint8Array([98]), 'c']);
    const out = {
      next: await waited,
      texts: [...log.records()].map((r) => `${r.offset}=${new TextDecoder().decode(r.data)}`),
      restored: m.Log.restore(log.snapshot()).readString(12),
      outOfRange: codeOf(() => log.read(99)),
      badType: codeOf(() => log.append(42)),
      unsafe: codeOf(() => log.read(2 ** 53)),
      corrupt: codeOf(() => m.Log.restore(new Uint8Array(64))),
    };
    log.free();
    out.freed = codeOf(() => log.length);
    return out;
  });
  assert.deepEqual(result, {
    next: 13,
    texts: ['10=a', '11=b', '12=c'],
    restored: 'c',
    outOfRange: 'RangeError:OUT_OF_RANGE',
    badType: 'TypeError:INVALID_TYPE',
    unsafe: 'RangeError:UNSAFE_INTEGER',
    corrupt: 'Error:INVALID_SNAPSHOT',
    freed: 'Error:FREED',
  });
  assert.deepEqual(problems, []);
  await page.close();
});
