// qtw serve end to end (issue #6): the built binary against the real local
// node. Every status code of the API, 8 concurrent Landers x 25 leases never
// share a key, sign-once (409) with a signature that verifies, a restart
// (SIGTERM, and kill -9 right after a signature) ends the held leases as
// used (409 for their Lander, who leases again), /metrics counts exactly
// what this test and the balancer did and passes promtool, the API on a Unix
// socket (alone or beside TCP), expired leases never sign, JSON logs parse and
// no log holds the token or passphrase, and the lander-ts example runs
// through the daemon.
// Usage: QTW=path/to/qtw node --test serve.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, chmodSync, rmSync, readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as kit from '@solana/kit';
import { getTransferSolInstruction } from '@solana-program/system';

const QTW = process.env.QTW;
const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const work = mkdtempSync(join(tmpdir(), 'qtw-serve-'));
const env = { ...process.env, QTW_PASSPHRASE: 'serve test' };
const TOKEN = 'a'.repeat(20) + '0123456789abcdef';
let node, nodeUrl, daemon, daemonUrl;
const counts = { leased: 0, retired: 0 };  // since the current daemon started
const ASOCK = join(work, 'a.sock');  // the main daemon's Unix socket
const POOL = 200;  // Explorers the daemon creates at start; 8 Landers x 25 leases take them all

function startProcess(cmd, args) {
  const p = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stderr.on('data', (d) => { err += d; });
  const ready = new Promise((resolve, reject) => {
    p.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/READY (\S+)/);
      if (m) resolve(m[1]);
    });
    p.on('exit', (code) => reject(new Error(`${cmd} exited ${code}: ${err}`)));
  });
  return { p, ready, log: () => err };
}
function qtw(...args) {
  const r = spawnSync(QTW, ['--store', join(work, 'w.db'), '--rpc-url', nodeUrl, ...args], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`qtw ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
async function startDaemon() {
  // Loopback TCP and a Unix socket at once (the same API on both).
  daemon = startProcess(QTW, ['--config', join(work, 'qtw.toml'), 'serve', '--listen', '127.0.0.1:0',
    '--unix-socket', ASOCK, '--token-file', join(work, 'token'), '--instance', 'test-daemon']);
  daemonUrl = await daemon.ready;
  counts.leased = 0;
  counts.retired = 0;
}
async function call(method, path, body, token = TOKEN) {
  const headers = { 'content-type': 'application/json' };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const res = await fetch(daemonUrl + path, { method, headers, body: method === 'GET' ? undefined : (body === undefined ? '{}' : body) });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* metrics, healthz */ }
  return { status: res.status, json, text, headers: res.headers };
}
async function lease() {
  const r = await call('POST', '/v1/explorers/lease');
  if (r.status === 200) counts.leased++;
  return r;
}
async function giveBack(pubkey, retire) {
  const r = await call('POST', `/v1/explorers/${pubkey}/return`, JSON.stringify({ retire }));
  if (r.status === 200 && retire) counts.retired++;
  return r;
}
async function waitAvailable(n) {
  for (let i = 0; i < 200; i++) {
    const s = await call('GET', '/v1/status');
    if ((s.json?.keys?.explorer?.available ?? 0) >= n) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the pool never filled');
}
async function transferMessage(pubkey, memo = false) {
  const rpc = kit.createSolanaRpc(nodeUrl);
  const { value: bh } = await rpc.getLatestBlockhash({ commitment: 'confirmed' }).send();
  const signer = { address: kit.address(pubkey), signTransactions: async () => [] };
  const msg = kit.pipe(
    kit.createTransactionMessage({ version: 'legacy' }),
    (m) => kit.setTransactionMessageFeePayerSigner(signer, m),
    (m) => kit.setTransactionMessageLifetimeUsingBlockhash(bh, m),
    (m) => kit.appendTransactionMessageInstruction(getTransferSolInstruction({ source: signer, destination: kit.address('11111111111111111111111111111112'), amount: 1000000n }), m),
    // Any program but System and Compute Budget (here the Memo program) could
    // have made token accounts the Explorer owns.
    (m) => (memo ? kit.appendTransactionMessageInstruction({ programAddress: kit.address('MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr'), data: new Uint8Array([104, 105]) }, m) : m),
  );
  return Buffer.from(kit.getCompiledTransactionMessageEncoder().encode(kit.compileTransactionMessage(msg)));
}
async function verify(pubkey, message, signatureB58) {
  const key = await kit.getPublicKeyFromAddress(kit.address(pubkey));
  return kit.verifySignature(key, kit.getBase58Encoder().encode(signatureB58), message);
}

before(async () => {
  node = startProcess('node', [join(SRC, 'tools/localnet/server.js'), '--port', '0']);
  nodeUrl = await node.ready;
  writeFileSync(join(work, 'token'), TOKEN + '\n');
  chmodSync(join(work, 'token'), 0o600);
  const hodl = spawnSync(QTW, ['keygen', '-o', join(work, 'hodl.json')], { env, encoding: 'utf8' }).stdout.trim();
  qtw('airdrop', hodl, '20000000000');
  qtw('init', '--banks', '2', '--hodl-keypair', join(work, 'hodl.json'), '--kdf-opslimit', '1', '--kdf-memlimit-kib', '8');
  // The pool: 200 Explorers made by a one-shot `qtw balance`; the daemon's
  // own balancer keeps a minimum of 0, so the test can empty the pool (503).
  const toml = (min) => `[rpc]\nurl = "${nodeUrl}"\n[store]\npath = "${join(work, 'w.db')}"\n` +
    `[balancer]\nmin_explorer_keys = ${min}\nexplorer_keys_to_create = ${min}\nlamports_per_explorer = 4000000\n` +
    // Exactly POOL Explorers (no fill up to a multiple of 21): the tests count them.
    `lamports_per_bank = 1000000000\nleader_ttl_ms = 1000\nfill_funding_transactions = false\n`;
  writeFileSync(join(work, 'fill.toml'), toml(POOL));
  writeFileSync(join(work, 'qtw.toml'), toml(0));
  const fill = spawnSync(QTW, ['--config', join(work, 'fill.toml'), 'balance'], { env, encoding: 'utf8' });
  assert.equal(fill.status, 0, fill.stderr);
  await startDaemon();
  await waitAvailable(POOL);
});
const extra = [];  // other daemons a test started
after(() => {
  for (const x of extra) x.p.kill('SIGKILL');
  daemon?.p.kill('SIGKILL');
  node?.p.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

test('authentication: healthz open, /v1 needs the token (401 none, 403 wrong)', async () => {
  assert.equal((await call('GET', '/healthz', undefined, null)).status, 200);
  const none = await call('GET', '/v1/status', undefined, null);
  assert.equal(none.status, 401);
  assert.equal(none.headers.get('www-authenticate'), 'Bearer');
  assert.equal((await call('POST', '/v1/explorers/lease', '{}', 'wrong-token-wrong-token')).status, 403);
  assert.equal((await call('POST', '/v1/explorers/lease', '{}', TOKEN + 'x')).status, 403);
  assert.equal((await call('GET', '/v1/status')).status, 200);
  assert.equal((await call('GET', '/v1/nothing')).status, 404);
});

test('8 concurrent Landers x 25 leases: 200 distinct Explorers, then 503 with Retry-After', async () => {
  const got = [];
  await Promise.all(Array.from({ length: 8 }, async () => {
    for (let i = 0; i < POOL / 8; i++) {
      const r = await lease();
      assert.equal(r.status, 200, r.text);
      got.push(r.json.pubkey);
    }
  }));
  assert.equal(got.length, POOL);
  assert.equal(new Set(got).size, POOL);
  const empty = await lease();
  assert.equal(empty.status, 503);
  assert.equal(empty.headers.get('retry-after'), '1');
  // Return them unused (they signed nothing) so the pool is whole again.
  for (const pk of got) assert.equal((await giveBack(pk, false)).status, 200);
  // Back in the pool: no longer leased by anyone, so a second return is 404.
  assert.equal((await giveBack(got[0], false)).status, 404);
});

test('a busy daemon keeps at most its share of a scarce pool: a second daemon on the same store still leases', async () => {
  // The 200 Explorers just returned unused sit in this daemon's memory and
  // the store has none left. While this daemon stays busy (a lease every
  // 100 ms: never idle long enough to give everything back) it must hand
  // the excess back, so a second daemon's lease succeeds.
  const sock = join(work, 'share.sock');
  const other = startProcess(QTW, ['--config', join(work, 'qtw.toml'), 'serve', '--listen', '', '--unix-socket', sock,
    '--token-file', join(work, 'token'), '--instance', 'share-daemon']);
  extra.push(other);
  await other.ready;
  let busy = true;
  let gap = 0;
  const keepBusy = (async () => {
    let last = Date.now();
    while (busy) {
      const r = await lease();
      assert.equal(r.status, 200, r.text);
      assert.equal((await giveBack(r.json.pubkey, false)).status, 200);
      gap = Math.max(gap, Date.now() - last);
      last = Date.now();
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  let got = null;
  const statuses = [];
  for (let i = 0; i < 15 && !got; i++) {
    const r = await unixCall(sock, 'POST', '/v1/explorers/lease');
    statuses.push(r.status);
    if (r.status === 200) got = r.json.pubkey;
    else await new Promise((res) => setTimeout(res, 100));
  }
  busy = false;
  await keepBusy;
  assert.ok(got, `the second daemon leased while the first stayed busy (statuses ${statuses.join(',')})`);
  assert.ok(gap < 1500, `the first daemon never went idle (longest gap ${gap} ms)`);
  assert.equal((await unixCall(sock, 'POST', `/v1/explorers/${got}/return`, JSON.stringify({ retire: false }))).status, 200);
  const exited = new Promise((r) => other.p.on('exit', (code) => r(code)));
  other.p.kill('SIGTERM');
  assert.equal(await exited, 0, other.log());
});

test('sign once: a valid signature, then 409; malformed bodies 400; strangers 404', async () => {
  const l = (await lease()).json;
  const message = await transferMessage(l.pubkey);
  const bad = async (body) => (await call('POST', `/v1/explorers/${l.pubkey}/sign`, body)).status;
  assert.equal(await bad('not json'), 400);
  assert.equal(await bad(JSON.stringify({ message: '***' })), 400);
  assert.equal(await bad(JSON.stringify({ message: Buffer.from('hello').toString('base64') })), 400);
  const other = await transferMessage('9iPsPavwxhtv7m1fmSZ44CXJdf7ADthRJjKyM8d7Jwjq');
  const notSigner = await call('POST', `/v1/explorers/${l.pubkey}/sign`, JSON.stringify({ message: other.toString('base64') }));
  assert.equal(notSigner.status, 400);
  assert.match(notSigner.json.error, /not a signer/);
  const stranger = await call('POST', '/v1/explorers/9iPsPavwxhtv7m1fmSZ44CXJdf7ADthRJjKyM8d7Jwjq/sign', JSON.stringify({ message: other.toString('base64') }));
  assert.equal(stranger.status, 404);
  assert.equal((await giveBack('9iPsPavwxhtv7m1fmSZ44CXJdf7ADthRJjKyM8d7Jwjq', true)).status, 404);

  const first = await call('POST', `/v1/explorers/${l.pubkey}/sign`, JSON.stringify({ message: message.toString('base64') }));
  assert.equal(first.status, 200, first.text);
  assert.ok(await verify(l.pubkey, message, first.json.signature), 'the signature verifies');
  const second = await call('POST', `/v1/explorers/${l.pubkey}/sign`, JSON.stringify({ message: message.toString('base64') }));
  assert.equal(second.status, 409);
  assert.equal((await giveBack(l.pubkey, false)).status, 409, 'a key that signed cannot go back to the pool');
  assert.equal((await giveBack(l.pubkey, true)).status, 200);
  assert.equal((await giveBack(l.pubkey, true)).status, 409, 'already returned');
  assert.equal((await call('POST', `/v1/explorers/${l.pubkey}/sign`, JSON.stringify({ message: message.toString('base64') }))).status, 409);
});

test('recovery asks for token accounts only when the signed message could have made some', async () => {
  const sample = async () => {
    const m = (await call('GET', '/metrics', undefined, null)).text;
    const v = (re) => Number(m.match(re)?.[1] ?? 0);
    return {
      tokenReads: v(/^qtrade_wallets_rpc_requests_total\{method="getTokenAccountsByOwner"\} (\S+)$/m),
      recovered: v(/^qtrade_wallets_explorer_keys_funds_recovered_total (\S+)$/m),
    };
  };
  const tradeAndRecover = async (memo) => {
    const before = await sample();
    const l = (await lease()).json;
    const message = await transferMessage(l.pubkey, memo);
    const s = await call('POST', `/v1/explorers/${l.pubkey}/sign`, JSON.stringify({ message: message.toString('base64') }));
    assert.equal(s.status, 200, s.text);
    assert.equal((await giveBack(l.pubkey, true)).status, 200);
    for (let i = 0; i < 300; i++) {
      const now = await sample();
      if (now.recovered > before.recovered) return now.tokenReads - before.tokenReads;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('the daemon never recovered ' + l.pubkey);
  };
  // A System transfer only: the daemon's signer saw it, no token read.
  assert.equal(await tradeAndRecover(false), 0);
  // Another program in the message: SPL Token and Token-2022 are asked.
  assert.equal(await tradeAndRecover(true), 2);
});

test('/metrics counts exactly what happened and passes promtool', async () => {
  const m = await call('GET', '/metrics', undefined, null);
  assert.equal(m.status, 200);
  assert.match(m.headers.get('content-type'), /text\/plain; version=0\.0\.4/);
  const value = (name) => Number(m.text.match(new RegExp(`^${name} (\\S+)$`, 'm'))?.[1]);
  assert.equal(value('qtrade_wallets_explorer_keys_acquired_total'), counts.leased);
  assert.equal(value('qtrade_wallets_explorer_keys_retired_total'), counts.retired);
  // This daemon's balancer (minimum 0) created nothing; the pool was made by
  // `qtw balance` before it started. Its counters equal its own totals.
  const status = (await call('GET', '/v1/status')).json;
  assert.equal(value('qtrade_wallets_explorer_keys_created_total'), 0);
  assert.equal(status.balancer.explorers_created, 0);
  assert.equal(value('qtrade_wallets_bank_keys_funded_total'), status.balancer.banks_funded);
  assert.equal(value('qtrade_wallets_fees_paid_lamports_total'), status.balancer.fees_lamports);
  assert.ok(value('qtrade_wallets_balancer_cycle_duration_seconds_count') >= 1);
  assert.match(m.text, /^qtrade_wallets_keys\{[^}]*state="available"[^}]*\} \d+$/m);
  const promtool = spawnSync('promtool', ['check', 'metrics'], { input: m.text, encoding: 'utf8' });
  assert.equal(promtool.status, 0, promtool.stdout + promtool.stderr);
});

// A restart never takes leases back (docs/ARCHITECTURE.md, single use): every
// lease the stopped or killed daemon held ends used, signed or not, so its
// Lander gets 409 on sign and on return and leases again.
async function heldLeasesEndUsed(viaUnix, kept, used, message) {
  const post = (path, body) => (viaUnix ? unixCall(ASOCK, 'POST', path, body) : call('POST', path, body));
  const km = await transferMessage(kept.pubkey);
  assert.equal((await post(`/v1/explorers/${kept.pubkey}/sign`, JSON.stringify({ message: km.toString('base64') }))).status, 409);
  assert.equal((await post(`/v1/explorers/${used.pubkey}/sign`, JSON.stringify({ message: message.toString('base64') }))).status, 409);
  assert.equal((await giveBack(kept.pubkey, true)).status, 409);
  assert.equal((await giveBack(used.pubkey, false)).status, 409);
  const keys = new Map(JSON.parse(qtw('--json', 'keys', 'list', '--tier', 'explorer')).map((k) => [k.pubkey, k.state]));
  for (const pk of [kept.pubkey, used.pubkey]) assert.ok(['used', 'draining', 'retired'].includes(keys.get(pk)), `${pk} is ${keys.get(pk)}`);
  assert.match(daemon.log(), /held by this owner before its restart end as used/);
  // The Lander leases again: another key, which signs.
  const next = (await lease()).json;
  assert.ok(![kept.pubkey, used.pubkey].includes(next.pubkey));
  const nm = await transferMessage(next.pubkey);
  assert.equal((await post(`/v1/explorers/${next.pubkey}/sign`, JSON.stringify({ message: nm.toString('base64') }))).status, 200);
  assert.equal((await giveBack(next.pubkey, true)).status, 200);
}

test('a restart (SIGTERM, start again) ends the held leases as used: 409, lease again', async () => {
  const kept = (await lease()).json;
  const used = (await lease()).json;
  const message = await transferMessage(used.pubkey);
  assert.equal((await call('POST', `/v1/explorers/${used.pubkey}/sign`, JSON.stringify({ message: message.toString('base64') }))).status, 200);
  const exited = new Promise((r) => daemon.p.on('exit', (code, sig) => r({ code, sig })));
  daemon.p.kill('SIGTERM');
  assert.deepEqual(await exited, { code: 0, sig: null }, daemon.log());
  assert.ok(!existsSync(ASOCK), 'a clean stop removes the socket file');
  await startDaemon();
  const keys = new Map(JSON.parse(qtw('--json', 'keys', 'list', '--tier', 'explorer')).map((k) => [k.pubkey, k]));
  const post = (path, body) => call('POST', path, body);
  const km = await transferMessage(kept.pubkey);
  assert.equal((await post(`/v1/explorers/${kept.pubkey}/sign`, JSON.stringify({ message: km.toString('base64') }))).status, 409);
  assert.equal((await post(`/v1/explorers/${used.pubkey}/sign`, JSON.stringify({ message: message.toString('base64') }))).status, 409);
  assert.equal((await giveBack(kept.pubkey, true)).status, 409);
  for (const pk of [kept.pubkey, used.pubkey]) assert.ok(['used', 'draining', 'retired'].includes(keys.get(pk).state), `${pk} is ${keys.get(pk).state}`);
  const next = (await lease()).json;
  assert.ok(![kept.pubkey, used.pubkey].includes(next.pubkey));
  assert.equal((await giveBack(next.pubkey, true)).status, 200);
});

test('kill -9 right after a signature and start again: held leases end used (409), the stale socket is replaced', async () => {
  const kept = (await lease()).json;
  const used = (await lease()).json;
  const message = await transferMessage(used.pubkey);
  assert.equal((await call('POST', `/v1/explorers/${used.pubkey}/sign`, JSON.stringify({ message: message.toString('base64') }))).status, 200);
  // At once: before the 100 ms flush writes the sign record.
  const exited = new Promise((r) => daemon.p.on('exit', (code, sig) => r({ code, sig })));
  daemon.p.kill('SIGKILL');
  assert.deepEqual(await exited, { code: null, sig: 'SIGKILL' });
  assert.ok(statSync(ASOCK).isSocket(), 'a crash leaves the socket file behind');
  await startDaemon();
  await heldLeasesEndUsed(true, kept, used, message);
});

test('SIGTERM under load: answered leases end used across the restart, no key is handed out twice', async () => {
  const got = [];
  let stop = false;
  const loops = Array.from({ length: 4 }, async () => {
    while (!stop) {
      let r;
      try { r = await call('POST', '/v1/explorers/lease'); } catch { return; }  // the daemon is gone
      if (r.status !== 200) return;
      got.push(r.json.pubkey);
    }
  });
  await new Promise((r) => setTimeout(r, 150));
  const exited = new Promise((r) => daemon.p.on('exit', (code, sig) => r({ code, sig })));
  daemon.p.kill('SIGTERM');
  assert.deepEqual(await exited, { code: 0, sig: null }, daemon.log());
  stop = true;
  await Promise.all(loops);
  assert.ok(got.length > 0, 'some leases were answered before the stop');
  assert.equal(new Set(got).size, got.length, 'no key leased twice');
  await startDaemon();
  const keys = new Map(JSON.parse(qtw('--json', 'keys', 'list', '--tier', 'explorer')).map((k) => [k.pubkey, k.state]));
  for (const pk of got) assert.ok(['used', 'draining', 'retired'].includes(keys.get(pk)), `${pk} ended used across the stop (got ${keys.get(pk)})`);
  const after = [];
  for (let i = 0; i < 10; i++) after.push((await lease()).json.pubkey);
  assert.ok(after.every((pk) => !got.includes(pk)), 'the restarted daemon hands out other keys');
  for (const pk of got) assert.equal((await giveBack(pk, false)).status, 409);
  for (const pk of after) assert.equal((await giveBack(pk, false)).status, 200);
});

test('examples/lander-ts leases, has the daemon sign, sends, confirms and returns', async () => {
  const market = spawnSync(QTW, ['keygen', '-o', join(work, 'market.json')], { env, encoding: 'utf8' }).stdout.trim();
  const r = spawnSync('node', [join(SRC, 'examples/lander-ts/lander.mjs'), '--daemon', daemonUrl, '--token-file', join(work, 'token'),
    '--rpc', nodeUrl, '--to', market, '--rounds', '3'], { env, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const rounds = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(rounds.length, 3);
  assert.ok(rounds.every((x) => x.confirmed));
  assert.equal(new Set(rounds.map((x) => x.explorer)).size, 3);
  counts.leased += 3;
  counts.retired += 3;
  // The same Lander over the daemon's Unix socket.
  const u = spawnSync('node', [join(SRC, 'examples/lander-ts/lander.mjs'), '--daemon', `unix:${ASOCK}`, '--token-file', join(work, 'token'),
    '--rpc', nodeUrl, '--to', market, '--rounds', '1'], { env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(u.status, 0, u.stdout + u.stderr);
  const ur = JSON.parse(u.stdout.trim());
  assert.ok(ur.confirmed);
  assert.ok(!rounds.some((x) => x.explorer === ur.explorer));
  counts.leased += 1;
  counts.retired += 1;
  const acct = JSON.parse(qtw('--json', 'account', market));
  assert.equal(acct.lamports, 4 * 1000000);
  // v0: the Lander makes a lookup table holding the market (paid by one
  // Explorer), then sends versioned messages that load the market from it.
  const v = spawnSync('node', [join(SRC, 'examples/lander-ts/lander.mjs'), '--daemon', daemonUrl, '--token-file', join(work, 'token'),
    '--rpc', nodeUrl, '--to', market, '--rounds', '2', '--v0'], { env, encoding: 'utf8', timeout: 120_000 });
  assert.equal(v.status, 0, v.stdout + v.stderr);
  const [setup, ...v0] = v.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(setup.setup, 'lookup_table');
  assert.ok(setup.confirmed);
  assert.equal(v0.length, 2);
  assert.ok(v0.every((x) => x.confirmed), v.stdout);
  const tx = await kit.createSolanaRpc(nodeUrl).getTransaction(v0[0].signature, { commitment: 'confirmed', maxSupportedTransactionVersion: 0, encoding: 'json' }).send();
  assert.equal(tx.version, 0);
  assert.equal(tx.transaction.message.addressTableLookups[0].accountKey, setup.table);
  counts.leased += 3;
  counts.retired += 3;
  assert.equal(JSON.parse(qtw('--json', 'account', market)).lamports, 6 * 1000000);
});

// An HTTP request over a Unix socket (fetch cannot).
function unixCall(socketPath, method, path, body, { token = TOKEN, type = 'application/json' } = {}) {
  return new Promise((resolve, reject) => {
    const headers = { 'content-type': type };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    const data = method === 'GET' ? undefined : Buffer.from(body === undefined ? '{}' : body);
    if (data !== undefined) headers['content-length'] = data.length;
    const req = http.request({ socketPath, method, path, headers }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(text); } catch { /* healthz */ }
        resolve({ status: res.statusCode, json, text, headers: res.headers });
      });
    });
    req.on('error', reject);
    if (data !== undefined) req.write(data);
    req.end();
  });
}

test('a second daemon on a Unix socket only: mode 0600, JSON logs, OTLP push, raw-bytes sign, leases are per daemon, expired leases never sign', async () => {
  const sock = join(work, 'qtw.sock');
  // B pushes its metrics to an OTLP/HTTP receiver (the test one, decoding with the official .proto).
  const otlpDir = join(work, 'otlp');
  mkdirSync(otlpDir);
  const receiver = startProcess('node', [join(SRC, 'tests/unit/metrics/otlp_receiver.mjs'), '--out-dir', otlpDir]);
  extra.push(receiver);
  const otlpUrl = await receiver.ready;
  writeFileSync(join(work, 'qtw-b.toml'), readFileSync(join(work, 'qtw.toml'), 'utf8') +
    `[service]\nlease_timeout_ms = 1500\n[log]\nformat = "json"\n` +
    `[metrics]\notlp_endpoint = "${otlpUrl}"\notlp_interval_ms = 500\n`);
  const b = startProcess(QTW, ['--config', join(work, 'qtw-b.toml'), 'serve', '--listen', '', '--unix-socket', sock,
    '--token-file', join(work, 'token'), '--instance', 'unix-daemon']);
  extra.push(b);
  assert.equal(await b.ready, `unix:${sock}`);
  assert.ok(statSync(sock).isSocket());
  assert.equal(statSync(sock).mode & 0o777, 0o600, 'only the daemon user may connect');

  assert.equal((await unixCall(sock, 'GET', '/healthz', undefined, { token: null })).status, 200);
  assert.equal((await unixCall(sock, 'GET', '/v1/status', undefined, { token: null })).status, 401);
  assert.equal((await unixCall(sock, 'GET', '/v1/status', undefined, { token: 'x'.repeat(36) })).status, 403);

  // A second daemon on the same live socket is refused, and leaves it alone.
  const clash = spawnSync(QTW, ['--config', join(work, 'qtw-b.toml'), 'serve', '--listen', '', '--unix-socket', sock,
    '--token-file', join(work, 'token'), '--instance', 'clash'], { env, encoding: 'utf8', timeout: 30_000 });
  assert.notEqual(clash.status, 0);
  assert.match(clash.stderr, /another process is serving/);
  assert.ok(statSync(sock).isSocket());

  // A lease of daemon B is unknown to daemon A (404), and the reverse.
  const pb = (await unixCall(sock, 'POST', '/v1/explorers/lease')).json;
  assert.ok(pb?.pubkey, 'B leased');
  const message = await transferMessage(pb.pubkey);
  assert.equal((await call('POST', `/v1/explorers/${pb.pubkey}/sign`, JSON.stringify({ message: message.toString('base64') }))).status, 404);
  assert.equal((await giveBack(pb.pubkey, true)).status, 404);
  const pa = (await lease()).json;
  const ma = await transferMessage(pa.pubkey);
  assert.equal((await unixCall(sock, 'POST', `/v1/explorers/${pa.pubkey}/sign`, JSON.stringify({ message: ma.toString('base64') }))).status, 404);
  assert.equal((await giveBack(pa.pubkey, false)).status, 200);

  // The message as raw bytes (application/octet-stream); the signature verifies.
  const raw = await unixCall(sock, 'POST', `/v1/explorers/${pb.pubkey}/sign`, message, { type: 'application/octet-stream' });
  assert.equal(raw.status, 200, raw.text);
  assert.ok(await verify(pb.pubkey, message, raw.json.signature));
  assert.equal((await unixCall(sock, 'POST', `/v1/explorers/${pb.pubkey}/sign`, message, { type: 'application/octet-stream' })).status, 409);
  assert.equal((await unixCall(sock, 'POST', `/v1/explorers/${pb.pubkey}/return`, '{"retire": true}')).status, 200);

  // Past its deadline (1.5 s here) a lease signs nothing and cannot go back.
  const late = (await unixCall(sock, 'POST', '/v1/explorers/lease')).json;
  await new Promise((r) => setTimeout(r, 1700));
  const lm = await transferMessage(late.pubkey);
  const lateSign = await unixCall(sock, 'POST', `/v1/explorers/${late.pubkey}/sign`, JSON.stringify({ message: lm.toString('base64') }));
  assert.equal(lateSign.status, 409, lateSign.text);
  assert.equal(lateSign.json.signature, undefined);
  assert.equal((await unixCall(sock, 'POST', `/v1/explorers/${late.pubkey}/return`, '{"retire": false}')).status, 409);
  const rec = JSON.parse(qtw('--json', 'keys', 'list', '--tier', 'explorer')).find((k) => k.pubkey === late.pubkey);
  assert.notEqual(rec.state, 'available', 'an expired lease never goes back to the pool');
  assert.notEqual(rec.state, 'leased');

  const exited = new Promise((r) => b.p.on('exit', (code, sig) => r({ code, sig })));
  b.p.kill('SIGTERM');
  assert.deepEqual(await exited, { code: 0, sig: null }, b.log());
  assert.ok(!existsSync(sock), 'the socket file is removed on stop');

  // The final OTLP push (on stop) carries B's exact counts: 2 leases, 1 retired.
  const pushes = readdirSync(otlpDir).filter((f) => f.startsWith('request-'))
    .sort((x, y) => Number(x.match(/\d+/)[0]) - Number(y.match(/\d+/)[0]));
  assert.ok(pushes.length >= 1, 'the daemon pushed OTLP metrics');
  const last = JSON.parse(readFileSync(join(otlpDir, pushes.at(-1)), 'utf8'));
  const sum = (name) => {
    for (const rm of last.resource_metrics) for (const sm of rm.scope_metrics) for (const m of sm.metrics) {
      if (m.name === name) return Number(m.sum.data_points[0].as_int);
    }
    return undefined;
  };
  assert.equal(sum('qtrade.wallets.explorer_keys_acquired'), 2);
  assert.equal(sum('qtrade.wallets.explorer_keys_retired'), 1);

  // JSON logs: every line one object; no secret in any log.
  const lines = b.log().trim().split('\n');
  assert.ok(lines.length >= 5, b.log());
  for (const line of lines) {
    const o = JSON.parse(line);
    assert.ok(o.time && o.level && typeof o.msg === 'string', line);
  }
  assert.ok(lines.some((l) => JSON.parse(l).msg.includes('signed one message')));
  for (const log of [b.log(), daemon.log()]) {
    assert.ok(!log.includes(TOKEN), 'the bearer token is never logged');
    assert.ok(!log.includes(env.QTW_PASSPHRASE), 'the passphrase is never logged');
  }
});

test('a token file readable by others is refused', () => {
  const loose = join(work, 'token-loose');
  writeFileSync(loose, TOKEN + '\n');
  chmodSync(loose, 0o640);
  const r = spawnSync(QTW, ['--config', join(work, 'qtw.toml'), 'serve', '--listen', '127.0.0.1:0', '--token-file', loose],
    { env, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /chmod 600/);
  const none = spawnSync(QTW, ['--config', join(work, 'qtw.toml'), 'serve', '--listen', '', '--token-file', join(work, 'token')],
    { env, encoding: 'utf8', timeout: 30_000 });
  assert.equal(none.status, 2, none.stderr);
});
