// qtw serve under connection pressure (issue #12 §4): 1,000 idle TCP
// connections and 1,000 idle Unix-socket connections held open, plus
// half-sent requests and a slow-loris trickle, leave /healthz, lease, sign
// and return answering on both listeners; request bodies above the limit are
// refused with 413. The built binary against the real local node.
// Needs ~2,100 descriptors in this process and in the daemon: run it with
// `ulimit -n` raised (the ctest entry does).
// Usage: QTW=path/to/qtw node --test connections.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as kit from '@solana/kit';
import { startProcess, transferMessage } from '../../support/node/processes.mjs';

const QTW = process.env.QTW;
const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const work = mkdtempSync(join(tmpdir(), 'qtw-conn-'));
const env = { ...process.env, QTW_PASSPHRASE: 'connections test' };
const TOKEN = 'c'.repeat(20) + '0123456789abcdef';
const SOCK = join(work, 'd.sock');
const IDLE = 1000;       // idle connections per listener
const HALF_SENT = 50;    // per listener: headers cut off, or a body that never comes
const LORIS = 20;        // per listener: one header byte every 200 ms
const ROUNDS = 8;        // lease + sign + return rounds measured per listener
const BOUND_MS = 100;    // issue #12: answering within 100 ms
let node, nodeUrl, daemon, tcpUrl, tcpPort;
const pressure = [];     // every socket this test holds open
let closedEarly = 0;     // of those, closed by the daemon before the end

function qtw(...args) {
  const r = spawnSync(QTW, ['--store', join(work, 'w.db'), '--rpc-url', nodeUrl, ...args], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`qtw ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

// One keep-alive agent per listener, as a Lander would hold.
const agents = {
  tcp: new http.Agent({ keepAlive: true, maxSockets: 4 }),
  unix: new http.Agent({ keepAlive: true, maxSockets: 4 }),
};
function request(via, method, path, body, { type = 'application/json', timeoutMs = 10_000 } = {}) {
  return new Promise((resolve, reject) => {
    const headers = { 'content-type': type, authorization: `Bearer ${TOKEN}` };
    const data = method === 'GET' ? undefined : Buffer.from(body ?? '{}');
    if (data !== undefined) headers['content-length'] = data.length;
    const where = via === 'unix' ? { socketPath: SOCK } : { host: '127.0.0.1', port: tcpPort };
    const started = process.hrtime.bigint();
    const req = http.request({ ...where, method, path, headers, agent: agents[via] }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(text); } catch { /* healthz */ }
        resolve({ status: res.statusCode, json, text, ms: Number(process.hrtime.bigint() - started) / 1e6 });
      });
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${via} ${method} ${path}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    if (data !== undefined) req.write(data);
    req.end();
  });
}

// Opens one connection that the test then keeps; `first` is written at once.
function hold(where, first) {
  return new Promise((resolve, reject) => {
    const s = net.connect(where);
    s.setNoDelay(true);
    s.on('error', () => {});
    s.once('connect', () => {
      if (first) s.write(first);
      pressure.push(s);
      s.once('close', () => { closedEarly++; });
      resolve(s);
    });
    s.once('error', reject);
  });
}
async function holdMany(where, n, first) {
  for (let i = 0; i < n; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, n - i) }, () => hold(where, first)));
  }
}

before(async () => {
  node = startProcess('node', [join(SRC, 'tools/localnet/server.js'), '--port', '0'], env);
  nodeUrl = await node.ready;
  writeFileSync(join(work, 'token'), TOKEN + '\n');
  chmodSync(join(work, 'token'), 0o600);
  const hodl = spawnSync(QTW, ['keygen', '-o', join(work, 'hodl.json')], { env, encoding: 'utf8' }).stdout.trim();
  qtw('airdrop', hodl, '10000000000');
  qtw('init', '--banks', '1', '--hodl-keypair', join(work, 'hodl.json'), '--kdf-opslimit', '1', '--kdf-memlimit-kib', '8');
  const toml = (min) => `[rpc]\nurl = "${nodeUrl}"\n[store]\npath = "${join(work, 'w.db')}"\n` +
    `[balancer]\nmin_explorer_keys = ${min}\nexplorer_keys_to_create = ${min}\nlamports_per_explorer = 2000000\n` +
    `lamports_per_bank = 1000000000\n`;
  writeFileSync(join(work, 'fill.toml'), toml(2 * ROUNDS + 4));
  writeFileSync(join(work, 'qtw.toml'), toml(0));
  const fill = spawnSync(QTW, ['--config', join(work, 'fill.toml'), 'balance'], { env, encoding: 'utf8' });
  assert.equal(fill.status, 0, fill.stderr);
  daemon = startProcess(QTW, ['--config', join(work, 'qtw.toml'), 'serve', '--listen', '127.0.0.1:0',
    '--unix-socket', SOCK, '--token-file', join(work, 'token')], env);
  tcpUrl = await daemon.ready;
  tcpPort = Number(new URL(tcpUrl).port);
});
after(() => {
  for (const s of pressure) s.destroy();
  agents.tcp.destroy();
  agents.unix.destroy();
  daemon?.p.kill('SIGKILL');
  node?.p.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

test('1,000 idle TCP + 1,000 idle Unix connections, half-sent requests and a slow loris: the API still answers on both', async () => {
  const tcp = { host: '127.0.0.1', port: tcpPort };
  const unix = { path: SOCK };
  const t0 = Date.now();
  for (const where of [tcp, unix]) {
    await holdMany(where, IDLE, null);
    // Headers cut off half-way, and complete headers whose body never comes.
    await holdMany(where, HALF_SENT / 2, 'POST /v1/explorers/lease HTTP/1.1\r\nHost: x\r\nAuthoriz');
    await holdMany(where, HALF_SENT / 2, `POST /v1/explorers/lease HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 1000\r\n\r\n{`);
  }
  const loris = [];
  for (const where of [tcp, unix]) {
    for (let i = 0; i < LORIS; i++) loris.push(await hold(where, 'GET /healthz HTTP/1.1\r\n'));
  }
  const trickle = setInterval(() => { for (const s of loris) s.write('X'); }, 200);
  const opened = pressure.length;
  console.log(`# held ${opened} connections open in ${Date.now() - t0} ms`);
  assert.equal(opened, 2 * (IDLE + HALF_SENT + LORIS));

  try {
    const { value: blockhash } = await kit.createSolanaRpc(nodeUrl).getLatestBlockhash().send();
    for (const via of ['tcp', 'unix']) {
      const ms = { healthz: [], lease: [], sign: [], return: [] };
      let bestRound = Infinity;
      for (let round = 0; round < ROUNDS; round++) {
        const h = await request(via, 'GET', '/healthz');
        assert.equal(h.status, 200);
        assert.equal(h.text, 'ok\n');
        const l = await request(via, 'POST', '/v1/explorers/lease');
        assert.equal(l.status, 200, l.text);
        const message = transferMessage(l.json.pubkey, blockhash);  // not timed
        const s = await request(via, 'POST', `/v1/explorers/${l.json.pubkey}/sign`, JSON.stringify({ message: message.toString('base64') }));
        assert.equal(s.status, 200, s.text);
        const r = await request(via, 'POST', `/v1/explorers/${l.json.pubkey}/return`, '{"retire": true}');
        assert.equal(r.status, 200, r.text);
        ms.healthz.push(h.ms);
        ms.lease.push(l.ms);
        ms.sign.push(s.ms);
        ms.return.push(r.ms);
        bestRound = Math.min(bestRound, Math.max(h.ms, l.ms, s.ms, r.ms));
      }
      const fmt = (xs) => {
        const sorted = [...xs].sort((a, b) => a - b);
        return `p50 ${sorted[Math.floor(sorted.length / 2)].toFixed(2)} ms, max ${sorted.at(-1).toFixed(2)} ms`;
      };
      for (const [op, xs] of Object.entries(ms)) console.log(`# ${via} ${op}: ${fmt(xs)}`);
      // Timing on a shared CI machine: the slowest answer of the best of
      // ROUNDS rounds, so one scheduling hiccup does not fail the test,
      // while a starved server (no answer at all, or seconds) still does.
      console.log(`# ${via}: best round (all four answers) ${bestRound.toFixed(2)} ms`);
      assert.ok(bestRound < BOUND_MS, `${via}: no round of healthz + lease + sign + return answered within ${BOUND_MS} ms each (best ${bestRound.toFixed(1)} ms)`);
    }
  } finally {
    clearInterval(trickle);
  }
  // The pressure was real: the daemon kept every connection open meanwhile.
  assert.equal(closedEarly, 0, 'the daemon closed held connections during the test');
});

test('a request body above 64 KiB is refused with 413, declared or chunked, on both listeners', async () => {
  const big = JSON.stringify({ message: 'A'.repeat(70 * 1024) });
  for (const via of ['tcp', 'unix']) {
    const declared = await request(via, 'POST', '/v1/explorers/9iPsPavwxhtv7m1fmSZ44CXJdf7ADthRJjKyM8d7Jwjq/sign', big);
    assert.equal(declared.status, 413, declared.text);
    assert.match(declared.json.error, /larger than 65536 bytes/);
    // Chunked (no Content-Length): read, counted, refused.
    const chunked = await new Promise((resolve, reject) => {
      const where = via === 'unix' ? { socketPath: SOCK } : { host: '127.0.0.1', port: tcpPort };
      const req = http.request({ ...where, method: 'POST', path: '/v1/explorers/lease', headers: { authorization: `Bearer ${TOKEN}`, 'transfer-encoding': 'chunked' } }, (res) => {
        let text = '';
        res.on('data', (d) => { text += d; });
        res.on('end', () => resolve({ status: res.statusCode, text }));
      });
      req.on('error', reject);
      for (let i = 0; i < 10; i++) req.write('x'.repeat(8 * 1024));
      req.end();
    });
    assert.equal(chunked.status, 413, chunked.text);
    // The API still answers afterwards.
    assert.equal((await request(via, 'GET', '/healthz')).status, 200);
  }
});
