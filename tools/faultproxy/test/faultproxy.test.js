'use strict';
// The fault proxy in front of a real local node: every mode, counted
// overrides, runtime switching and stats.
const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const path = require('node:path');
const t = require('../../localnet/lib/testutil');
const { codec, rpc, addr } = t;

const PROXY = path.join(__dirname, '..', 'proxy.js');

// One raw HTTP exchange with a fresh connection; reports what arrived.
function rawPost(url, obj) {
  return new Promise((resolve) => {
    const body = Buffer.from(JSON.stringify(obj));
    const u = new URL(url);
    const out = { status: null, headers: null, body: Buffer.alloc(0), error: null, complete: false };
    const req = http.request({ hostname: u.hostname, port: u.port, path: '/', method: 'POST', agent: false,
      headers: { 'Content-Type': 'application/json', 'Content-Length': body.length } }, (res) => {
      out.status = res.statusCode; out.headers = res.headers;
      res.on('data', (c) => { out.body = Buffer.concat([out.body, c]); });
      res.on('end', () => { out.complete = true; resolve(out); });
      res.on('aborted', () => { out.error = 'aborted'; });
      res.on('error', (e) => { out.error = out.error ?? e.code ?? e.message; resolve(out); });
      res.on('close', () => resolve(out));
    });
    req.on('error', (e) => { out.error = e.code ?? e.message; resolve(out); });
    req.end(body);
  });
}

async function setMode(url, mode, count) {
  const res = await fetch(`${url}/__proxy/mode`, { method: 'POST', body: JSON.stringify(count ? { mode, count } : { mode }) });
  assert.equal(res.status, 200, await res.text());
}
const stats = async (url) => (await fetch(`${url}/__proxy/stats`)).json();

describe('faultproxy against a real localnet', () => {
  let node; let proxy; let P; let N;
  before(async () => {
    node = await t.startNode(['--slot-ms', '20']);
    N = node.url;
    proxy = await t.startReady(PROXY, ['--listen-port', '0', '--target', N]);
    P = proxy.url;
  });
  after(async () => {
    assert.equal((await proxy.close()).code, 0);
    await node.close();
  });
  beforeEach(() => setMode(P, 'pass'));

  it('prints READY and passes requests through', async () => {
    assert.match(proxy.stdout(), /^READY http:\/\/127\.0\.0\.1:\d+\n$/);
    const s0 = await stats(P);
    assert.equal(await rpc(P, 'getHealth'), 'ok');
    const batch = await t.rpcRaw(P, [{ jsonrpc: '2.0', id: 1, method: 'getSlot' }, { jsonrpc: '2.0', id: 2, method: 'getHealth' }]);
    assert.equal(batch.json.length, 2);
    const s1 = await stats(P);
    assert.equal(s1.forwarded - s0.forwarded, 2);
    assert.equal(s1.methods.getHealth - (s0.methods.getHealth ?? 0), 2);
  });

  it('delay:<ms> delays then forwards', async () => {
    await setMode(P, 'delay:300');
    const t0 = Date.now();
    assert.equal(await rpc(P, 'getHealth'), 'ok');
    assert.ok(Date.now() - t0 >= 290);
    assert.ok((await stats(P)).delayed >= 1);
  });

  it('drop closes the connection and does not forward', async () => {
    const kp = t.newKeypair();
    await setMode(P, 'drop');
    const s0 = await stats(P);
    const r = await rawPost(P, { jsonrpc: '2.0', id: 1, method: 'requestAirdrop', params: [addr(kp), 1_000_000_000] });
    assert.equal(r.status, null);
    assert.ok(r.error, 'client sees a transport error');
    const s1 = await stats(P);
    assert.equal(s1.forwarded, s0.forwarded);
    assert.equal(s1.dropped - s0.dropped, 1);
    assert.equal((await rpc(N, 'getBalance', [addr(kp), { commitment: 'processed' }])).value, 0, 'never reached the node');
  });

  it('http:429:1 answers 429 with Retry-After and does not forward', async () => {
    const kp = t.newKeypair();
    await setMode(P, 'http:429:1');
    const r = await rawPost(P, { jsonrpc: '2.0', id: 1, method: 'requestAirdrop', params: [addr(kp), 1_000_000_000] });
    assert.equal(r.status, 429);
    assert.equal(r.headers['retry-after'], '1');
    assert.equal((await rpc(N, 'getBalance', [addr(kp), { commitment: 'processed' }])).value, 0);
    await setMode(P, 'http:503');
    const r2 = await rawPost(P, { jsonrpc: '2.0', id: 1, method: 'getHealth' });
    assert.equal(r2.status, 503);
    assert.equal(r2.headers['retry-after'], undefined);
  });

  it('truncate forwards, then sends half the body under a full Content-Length', async () => {
    await setMode(P, 'truncate');
    const r = await rawPost(P, { jsonrpc: '2.0', id: 1, method: 'getVersion' });
    assert.equal(r.status, 200);
    const claimed = Number(r.headers['content-length']);
    assert.ok(r.body.length > 0 && r.body.length < claimed, `${r.body.length} of ${claimed}`);
    assert.equal(r.complete, false);
    assert.throws(() => JSON.parse(r.body.toString()));
  });

  it('lose-response forwards (the send takes effect) and closes without answering', async () => {
    const from = await t.fundedKeypair(N, 1_000_000_000);
    const bh = await t.latestBlockhash(N);
    const tx = codec.buildTransfer(from, t.newKeypair().publicKey, 1_000_000, bh.bytes);
    const sig = codec.b58encode(codec.parseTransaction(tx).signatures[0]);
    await setMode(P, 'lose-response');
    const r = await rawPost(P, { jsonrpc: '2.0', id: 1, method: 'sendTransaction', params: [tx.toString('base64'), { encoding: 'base64' }] });
    assert.equal(r.status, null);
    assert.ok(r.error);
    const st = (await rpc(N, 'getSignatureStatuses', [[sig]])).value[0];
    assert.ok(st && st.err === null, 'the transaction landed on the node');
    const s = await stats(P);
    assert.ok(s.lostResponses >= 1);
    assert.ok(s.methods.sendTransaction >= 1);
  });

  it('garbage answers 200 with a non-JSON body', async () => {
    await setMode(P, 'garbage');
    const r = await rawPost(P, { jsonrpc: '2.0', id: 1, method: 'getHealth' });
    assert.equal(r.status, 200);
    assert.throws(() => JSON.parse(r.body.toString()));
  });

  it('applies a counted mode to the next N requests, then passes', async () => {
    await setMode(P, 'http:502', 2);
    assert.equal((await rawPost(P, { jsonrpc: '2.0', id: 1, method: 'getHealth' })).status, 502);
    assert.equal((await rawPost(P, { jsonrpc: '2.0', id: 1, method: 'getHealth' })).status, 502);
    assert.equal(await rpc(P, 'getHealth'), 'ok');
    const s = await stats(P);
    assert.equal(s.mode, 'pass');
    assert.equal(s.override, null);
  });

  it('random:<rate>:<modes> faults about <rate> of the requests, counted by mode', async () => {
    await fetch(`${P}/__proxy/reset-stats`, { method: 'POST' });
    await setMode(P, 'random:0.5:http:503,http:429:1');
    const statuses = [];
    for (let i = 0; i < 200; i++) statuses.push((await rawPost(P, { jsonrpc: '2.0', id: 1, method: 'getHealth' })).status);
    const s = await stats(P);
    const faulted = (s.faults['http:503'] ?? 0) + (s.faults['http:429:1'] ?? 0);
    assert.equal(faulted, statuses.filter((x) => x !== 200).length);
    assert.equal(s.faults['http:503'], statuses.filter((x) => x === 503).length);
    assert.ok(faulted > 60 && faulted < 140, `faulted ${faulted} of 200 at rate 0.5`);
    assert.ok(s.faults['http:503'] > 0 && s.faults['http:429:1'] > 0);
    assert.equal(s.forwarded, 200 - faulted);
    await setMode(P, 'random:0:drop');
    assert.equal(await rpc(P, 'getHealth'), 'ok');
  });

  it('rejects a bad mode', async () => {
    const res = await fetch(`${P}/__proxy/mode`, { method: 'POST', body: JSON.stringify({ mode: 'explode' }) });
    assert.equal(res.status, 400);
    await assert.rejects(t.startReady(PROXY, ['--listen-port', '0', '--target', N, '--mode', 'nope']));
    for (const mode of ['random:2:drop', 'random:0.2:', 'random:0.2:explode']) {
      const r = await fetch(`${P}/__proxy/mode`, { method: 'POST', body: JSON.stringify({ mode }) });
      assert.equal(r.status, 400, mode);
    }
  });

  it('answers 502 when the target is down', async () => {
    const dead = await t.startReady(PROXY, ['--listen-port', '0', '--target', 'http://127.0.0.1:1', '--mode', 'pass']);
    const r = await rawPost(dead.url, { jsonrpc: '2.0', id: 1, method: 'getHealth' });
    assert.equal(r.status, 502);
    assert.equal((await stats(dead.url)).upstreamErrors, 1);
    await dead.close();
  });
});
