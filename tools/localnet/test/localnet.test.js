'use strict';
// Tests of the local node against its own JSON-RPC interface (a real
// LiteSVM bank behind it; nothing mocked).
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const t = require('../lib/testutil');
const { codec, rpc, rpcCall, rpcRaw, addr } = t;

const LAMPORTS_PER_SIGNATURE = 5000;

async function expectRpcError(url, method, params, code, message) {
  const r = await rpcCall(url, method, params);
  assert.ok(r.error, `${method} should fail, got ${JSON.stringify(r.result)}`);
  assert.equal(r.error.code, code, JSON.stringify(r.error));
  if (message instanceof RegExp) assert.match(r.error.message, message);
  else if (message !== undefined) assert.equal(r.error.message, message);
  assert.equal(r.jsonrpc, '2.0');
  return r.error;
}

const b64 = (bytes) => Buffer.from(bytes).toString('base64');
const messageOf = (txBytes) => codec.parseTransaction(txBytes).messageBytes;

describe('localnet (slot 20 ms, finalize after 5 slots)', () => {
  let node; let url;
  before(async () => { node = await t.startNode(['--slot-ms', '20', '--finalize-slots', '5']); url = node.url; });
  after(async () => { const { code } = await node.close(); assert.equal(code, 0); });

  it('prints exactly one READY line on stdout', () => {
    assert.match(node.stdout(), /^READY http:\/\/127\.0\.0\.1:\d+\n$/);
  });

  it('answers health, version, slots, heights and rent', async () => {
    assert.equal(await rpc(url, 'getHealth'), 'ok');
    assert.equal(typeof (await rpc(url, 'getVersion'))['solana-core'], 'string');
    const s1 = await rpc(url, 'getSlot', [{ commitment: 'processed' }]);
    await t.sleep(100);
    const s2 = await rpc(url, 'getSlot', [{ commitment: 'processed' }]);
    assert.ok(s2 > s1, `slot advances: ${s1} -> ${s2}`);
    const h = await rpc(url, 'getBlockHeight', [{ commitment: 'processed' }]);
    assert.ok(h >= s2 && h <= s2 + 5);
    const [p, c, f] = await Promise.all(['processed', 'confirmed', 'finalized'].map((x) => rpc(url, 'getSlot', [{ commitment: x }])));
    assert.ok(p >= c && c >= f && p - f <= 6, `${p} ${c} ${f}`);
    assert.equal(await rpc(url, 'getMinimumBalanceForRentExemption', [0]), 890880);
    assert.equal(await rpc(url, 'getMinimumBalanceForRentExemption', [165]), 2039280);
    const e = await expectRpcError(url, 'getSlot', [{ minContextSlot: 1e9 }], -32016, 'Minimum context slot has not been reached');
    assert.equal(typeof e.data.contextSlot, 'number');
    await expectRpcError(url, 'getSlot', [{ commitment: 'bogus' }], -32602);
  });

  it('airdrops from a faucet, visible in statuses, history and totals', async () => {
    const before = await rpc(url, 'qtwLocalnetInfo');
    const kp = t.newKeypair();
    const sig = await rpc(url, 'requestAirdrop', [addr(kp), 2_000_000_000]);
    const sig2 = await rpc(url, 'requestAirdrop', [addr(kp), 2_000_000_000]);
    assert.notEqual(sig, sig2, 'two equal airdrops are distinct transactions');
    const bal = await rpc(url, 'getBalance', [addr(kp), { commitment: 'processed' }]);
    assert.equal(bal.value, 4_000_000_000);
    assert.equal(bal.context.apiVersion, '2.3.0');
    const st = await rpc(url, 'getSignatureStatuses', [[sig]]);
    assert.equal(st.value[0].err, null);
    assert.ok(['processed', 'confirmed'].includes(st.value[0].confirmationStatus));
    const after = await rpc(url, 'qtwLocalnetInfo');
    assert.equal(after.airdropped - before.airdropped, 4_000_000_000);
    assert.equal(after.airdropFeesCollected - before.airdropFeesCollected, 2 * LAMPORTS_PER_SIGNATURE);
    assert.equal(before.faucetBalance - after.faucetBalance, 4_000_000_000 + 2 * LAMPORTS_PER_SIGNATURE);
    await expectRpcError(url, 'requestAirdrop', ['notakey', 5], -32602);
  });

  it('lands a base64 and a base58 transfer; balances move by amount and fee exactly', async () => {
    const before = await rpc(url, 'qtwLocalnetInfo');
    const from = await t.fundedKeypair(url, 5_000_000_000);
    const to = t.newKeypair();
    const bh = await t.latestBlockhash(url);
    const tx1 = codec.buildTransfer(from, to.publicKey, 1_000_000_000, bh.bytes);
    const fee = (await rpc(url, 'getFeeForMessage', [b64(messageOf(tx1)), { commitment: 'processed' }])).value;
    assert.equal(fee, LAMPORTS_PER_SIGNATURE);
    const sig1 = await rpc(url, 'sendTransaction', [b64(tx1), { encoding: 'base64' }]);
    assert.equal(sig1, codec.b58encode(codec.parseTransaction(tx1).signatures[0]));
    const tx2 = codec.buildTransfer(from, to.publicKey, 500_000_000, bh.bytes, { computeUnitPrice: 1_000_000 });
    const fee2 = (await rpc(url, 'getFeeForMessage', [b64(messageOf(tx2)), { commitment: 'processed' }])).value;
    assert.equal(fee2, LAMPORTS_PER_SIGNATURE + 6000, 'default limit 2 builtins * 3000 CU at 1 lamport/CU');
    const sig2 = await rpc(url, 'sendTransaction', [codec.b58encode(tx2)]); // base58 is the default encoding
    const [a, b] = await Promise.all([from, to].map((k) => rpc(url, 'getBalance', [addr(k), { commitment: 'processed' }])));
    assert.equal(a.value, 5_000_000_000 - 1_500_000_000 - fee - fee2);
    assert.equal(b.value, 1_500_000_000);
    const info = await rpc(url, 'qtwLocalnetInfo');
    assert.equal(info.userFeesCollected - before.userFeesCollected, fee + fee2);
    // getTransaction needs confirmed; wait for it.
    const got = await t.waitFor(() => rpc(url, 'getTransaction', [sig2, { commitment: 'confirmed', encoding: 'json' }]));
    assert.equal(got.meta.fee, fee2);
    assert.equal(got.meta.err, null);
    assert.equal(got.meta.preBalances[0] - got.meta.postBalances[0], 500_000_000 + fee2);
    assert.equal(got.transaction.signatures[0], sig2);
    const gb64 = await rpc(url, 'getTransaction', [sig1, { commitment: 'confirmed', encoding: 'base64' }]);
    assert.deepEqual(gb64.transaction, [b64(tx1), 'base64']);
    assert.equal(await rpc(url, 'getTransaction', [sig1, { commitment: 'finalized' }]) === null || true, true);
    await expectRpcError(url, 'getTransaction', [sig1, { commitment: 'processed' }], -32602);
  });

  it('moves statuses processed -> confirmed -> finalized with confirmations', async () => {
    const from = await t.fundedKeypair(url);
    const bh = await t.latestBlockhash(url);
    const sig = await rpc(url, 'sendTransaction', [b64(codec.buildTransfer(from, t.newKeypair().publicKey, 1_000_000, bh.bytes)), { encoding: 'base64' }]);
    const first = (await rpc(url, 'getSignatureStatuses', [[sig]])).value[0];
    assert.ok(['processed', 'confirmed'].includes(first.confirmationStatus));
    assert.equal(typeof first.confirmations, 'number');
    assert.deepEqual(first.status, { Ok: null });
    const conf = await t.waitFor(async () => { const v = (await rpc(url, 'getSignatureStatuses', [[sig]])).value[0]; return v.confirmationStatus === 'confirmed' && v; });
    assert.ok(conf.confirmations >= 1);
    const fin = await t.waitFor(async () => { const v = (await rpc(url, 'getSignatureStatuses', [[sig]])).value[0]; return v.confirmationStatus === 'finalized' && v; });
    assert.equal(fin.confirmations, null);
    assert.equal(fin.slot, first.slot);
    const unknown = codec.b58encode(Buffer.alloc(64, 7));
    const r = await rpc(url, 'getSignatureStatuses', [[unknown, sig], { searchTransactionHistory: true }]);
    assert.equal(r.value[0], null);
    assert.equal(r.value[1].confirmationStatus, 'finalized');
    await expectRpcError(url, 'getSignatureStatuses', [['xyz']], -32602);
  });

  it('rejects a duplicate signature (preflight) and ignores it (skipPreflight)', async () => {
    const from = await t.fundedKeypair(url, 3_000_000_000);
    const bh = await t.latestBlockhash(url);
    const tx = codec.buildTransfer(from, t.newKeypair().publicKey, 1_000_000_000, bh.bytes);
    const sig = await rpc(url, 'sendTransaction', [b64(tx), { encoding: 'base64' }]);
    const bal = (await rpc(url, 'getBalance', [addr(from), { commitment: 'processed' }])).value;
    const e = await expectRpcError(url, 'sendTransaction', [b64(tx), { encoding: 'base64' }], -32002, 'Transaction simulation failed: This transaction has already been processed');
    assert.equal(e.data.err, 'AlreadyProcessed');
    assert.equal(await rpc(url, 'sendTransaction', [b64(tx), { encoding: 'base64', skipPreflight: true }]), sig);
    assert.equal((await rpc(url, 'getBalance', [addr(from), { commitment: 'processed' }])).value, bal, 'not charged twice');
  });

  it('fails preflight with -32002, logs and no state change', async () => {
    const from = await t.fundedKeypair(url, 1_000_000_000);
    const bh = await t.latestBlockhash(url);
    const tx = codec.buildTransfer(from, t.newKeypair().publicKey, 5_000_000_000, bh.bytes);
    const e = await expectRpcError(url, 'sendTransaction', [b64(tx), { encoding: 'base64' }], -32002,
      'Transaction simulation failed: Error processing Instruction 0: custom program error: 0x1');
    assert.deepEqual(e.data.err, { InstructionError: [0, { Custom: 1 }] });
    assert.ok(e.data.logs.some((l) => /insufficient lamports/.test(l)), JSON.stringify(e.data.logs));
    assert.equal(e.data.accounts, null);
    assert.equal(typeof e.data.unitsConsumed, 'number');
    assert.equal((await rpc(url, 'getBalance', [addr(from), { commitment: 'processed' }])).value, 1_000_000_000);
    // A payer without funds: AccountNotFound in preflight.
    const poor = t.newKeypair();
    const e2 = await expectRpcError(url, 'sendTransaction', [b64(codec.buildTransfer(poor, from.publicKey, 1, bh.bytes)), { encoding: 'base64' }], -32002);
    assert.equal(e2.data.err, 'AccountNotFound');
    // Rent: a new account below the rent-exempt minimum.
    const e3 = await expectRpcError(url, 'sendTransaction', [b64(codec.buildTransfer(from, t.newKeypair().publicKey, 1000, bh.bytes)), { encoding: 'base64' }], -32002,
      'Transaction simulation failed: Transaction results in an account (1) with insufficient funds for rent');
    assert.deepEqual(e3.data.err, { InsufficientFundsForRent: { account_index: 1 } });
  });

  it('lands a failing transaction with err and a charged fee under skipPreflight', async () => {
    const before = await rpc(url, 'qtwLocalnetInfo');
    const from = await t.fundedKeypair(url, 1_000_000_000);
    const bh = await t.latestBlockhash(url);
    const tx = codec.buildTransfer(from, t.newKeypair().publicKey, 5_000_000_000, bh.bytes);
    const sig = await rpc(url, 'sendTransaction', [b64(tx), { encoding: 'base64', skipPreflight: true }]);
    const st = (await rpc(url, 'getSignatureStatuses', [[sig]])).value[0];
    assert.deepEqual(st.err, { InstructionError: [0, { Custom: 1 }] });
    assert.deepEqual(st.status, { Err: { InstructionError: [0, { Custom: 1 }] } });
    assert.equal((await rpc(url, 'getBalance', [addr(from), { commitment: 'processed' }])).value, 1_000_000_000 - LAMPORTS_PER_SIGNATURE);
    const after = await rpc(url, 'qtwLocalnetInfo');
    assert.equal(after.userFeesCollected - before.userFeesCollected, LAMPORTS_PER_SIGNATURE);
    // A payer that cannot pay the fee never lands (no status, no fee).
    const poor = t.newKeypair();
    const sig2 = await rpc(url, 'sendTransaction', [b64(codec.buildTransfer(poor, from.publicKey, 1, bh.bytes)), { encoding: 'base64', skipPreflight: true }]);
    assert.equal((await rpc(url, 'getSignatureStatuses', [[sig2]])).value[0], null);
  });

  it('rejects a bad signature with -32003, drops it silently under skipPreflight', async () => {
    const from = await t.fundedKeypair(url, 1_000_000_000);
    const bh = await t.latestBlockhash(url);
    const tx = Buffer.from(codec.buildTransfer(from, t.newKeypair().publicKey, 1_000_000, bh.bytes));
    tx[10] ^= 0xff;
    await expectRpcError(url, 'sendTransaction', [b64(tx), { encoding: 'base64' }], -32003, 'Transaction signature verification failure');
    const sig = await rpc(url, 'sendTransaction', [b64(tx), { encoding: 'base64', skipPreflight: true }]);
    await t.sleep(60);
    assert.equal((await rpc(url, 'getSignatureStatuses', [[sig]])).value[0], null);
    assert.equal((await rpc(url, 'getBalance', [addr(from), { commitment: 'processed' }])).value, 1_000_000_000);
  });

  it('rejects oversize and malformed transactions with -32602', async () => {
    await expectRpcError(url, 'sendTransaction', [b64(Buffer.alloc(1233, 1)), { encoding: 'base64' }], -32602, /too large/);
    await expectRpcError(url, 'sendTransaction', [b64(Buffer.alloc(1200, 1)).slice(0, 1640), { encoding: 'base64' }], -32602);
    await expectRpcError(url, 'sendTransaction', ['!!!!', { encoding: 'base64' }], -32602, /invalid base64/);
    await expectRpcError(url, 'sendTransaction', [b64(Buffer.from([1, 2, 3])), { encoding: 'base64' }], -32602, /failed to deserialize/);
    await expectRpcError(url, 'sendTransaction', ['0OIl', {}], -32602, /base58/);
    await expectRpcError(url, 'sendTransaction', ['abc', { encoding: 'hex' }], -32602);
  });

  it('enforces getMultipleAccounts (100) and getSignatureStatuses (256) limits', async () => {
    const keys = Array.from({ length: 101 }, () => addr(t.newKeypair()));
    await expectRpcError(url, 'getMultipleAccounts', [keys], -32602, 'Too many inputs provided; max 100');
    const ok = await rpc(url, 'getMultipleAccounts', [keys.slice(0, 100)]);
    assert.equal(ok.value.length, 100);
    assert.ok(ok.value.every((v) => v === null));
    const sigs = Array.from({ length: 257 }, () => codec.b58encode(Buffer.alloc(64, 3)));
    await expectRpcError(url, 'getSignatureStatuses', [sigs], -32602, 'Too many inputs provided; max 256');
    assert.equal((await rpc(url, 'getSignatureStatuses', [sigs.slice(0, 256)])).value.length, 256);
    await expectRpcError(url, 'getSignaturesForAddress', [keys[0], { limit: 1001 }], -32602, 'Invalid limit; max 1000');
    await expectRpcError(url, 'getRecentPrioritizationFees', [Array(129).fill(keys[0])], -32602, 'Too many inputs provided; max 128');
  });

  it('serves accounts in base64 (default), base58 and legacy binary; null for missing', async () => {
    const kp = await t.fundedKeypair(url, 1_234_567_890);
    const missing = addr(t.newKeypair());
    const r = await rpc(url, 'getMultipleAccounts', [[addr(kp), missing], { commitment: 'processed' }]);
    assert.deepEqual(Object.keys(r.context).sort(), ['apiVersion', 'slot']);
    assert.equal(r.value[1], null);
    const a = r.value[0];
    assert.equal(a.lamports, 1_234_567_890);
    assert.equal(a.owner, '11111111111111111111111111111111');
    assert.deepEqual(a.data, ['', 'base64']);
    assert.equal(a.executable, false);
    assert.equal(a.space, 0);
    assert.ok(a.rentEpoch !== undefined);
    const raw = await rpcRaw(url, { jsonrpc: '2.0', id: 1, method: 'getAccountInfo', params: [addr(kp), { commitment: 'processed', encoding: 'base64' }] });
    assert.match(raw.text, /"rentEpoch":18446744073709551615/, 'u64 written exactly');
    const b58 = await rpc(url, 'getAccountInfo', [addr(kp), { commitment: 'processed', encoding: 'base58' }]);
    assert.deepEqual(b58.value.data, ['', 'base58']);
    const legacy = await rpc(url, 'getAccountInfo', [addr(kp), { commitment: 'processed' }]);
    assert.equal(legacy.value.data, '');
    assert.equal((await rpc(url, 'getAccountInfo', [missing])).value, null);
    const token = await rpc(url, 'getAccountInfo', ['TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA', { encoding: 'base64', dataSlice: { offset: 0, length: 4 } }]);
    assert.equal(token.value.executable, true, 'SPL token program is loaded');
    assert.equal(Buffer.from(token.value.data[0], 'base64').length, 4);
    await expectRpcError(url, 'getBalance', ['zzz'], -32602);
  });

  it('simulates with sigVerify and replaceRecentBlockhash', async () => {
    const from = await t.fundedKeypair(url, 1_000_000_000);
    const bh = await t.latestBlockhash(url);
    const tx = codec.buildTransfer(from, t.newKeypair().publicKey, 1_000_000, bh.bytes);
    const sim = await rpc(url, 'simulateTransaction', [b64(tx), { encoding: 'base64', commitment: 'processed', sigVerify: true }]);
    assert.equal(sim.value.err, null);
    assert.ok(sim.value.unitsConsumed > 0);
    assert.ok(sim.value.logs.length > 0);
    assert.equal(sim.value.fee, LAMPORTS_PER_SIGNATURE);
    assert.equal((await rpc(url, 'getBalance', [addr(from), { commitment: 'processed' }])).value, 1_000_000_000, 'simulation changes nothing');
    const stale = codec.buildTransfer(from, t.newKeypair().publicKey, 1_000_000, Buffer.alloc(32, 9));
    const s2 = await rpc(url, 'simulateTransaction', [b64(stale), { encoding: 'base64' }]);
    assert.equal(s2.value.err, 'BlockhashNotFound');
    const s3 = await rpc(url, 'simulateTransaction', [b64(stale), { encoding: 'base64', replaceRecentBlockhash: true }]);
    assert.equal(s3.value.err, null);
    assert.equal(typeof s3.value.replacementBlockhash.blockhash, 'string');
    const bad = Buffer.from(tx); bad[5] ^= 1;
    await expectRpcError(url, 'simulateTransaction', [b64(bad), { encoding: 'base64', sigVerify: true }], -32003);
    assert.equal((await rpc(url, 'simulateTransaction', [b64(bad), { encoding: 'base64' }])).value.err, null, 'sigVerify defaults to false');
    await expectRpcError(url, 'simulateTransaction', [b64(tx), { encoding: 'base64', sigVerify: true, replaceRecentBlockhash: true }], -32602, 'sigVerify may not be used with replaceRecentBlockhash');
  });

  it('indexes signatures by address, newest first, with before/until and limit', async () => {
    const from = await t.fundedKeypair(url, 5_000_000_000);
    const to = t.newKeypair();
    const sigs = [];
    for (let i = 0; i < 4; i++) {
      const bh = await t.latestBlockhash(url);
      sigs.push(await rpc(url, 'sendTransaction', [b64(codec.buildTransfer(from, to.publicKey, 1_000_000_000 + i, bh.bytes)), { encoding: 'base64' }]));
    }
    const list = await t.waitFor(async () => { const l = await rpc(url, 'getSignaturesForAddress', [addr(to), { commitment: 'confirmed' }]); return l.length === 4 && l; });
    assert.deepEqual(list.map((x) => x.signature), [...sigs].reverse());
    assert.ok(list.every((x) => x.err === null && typeof x.slot === 'number' && 'blockTime' in x && 'memo' in x));
    const fromList = await rpc(url, 'getSignaturesForAddress', [addr(from), { commitment: 'confirmed' }]);
    assert.equal(fromList.length, 5, 'airdrop + 4 transfers');
    const lim = await rpc(url, 'getSignaturesForAddress', [addr(to), { commitment: 'confirmed', limit: 2 }]);
    assert.deepEqual(lim.map((x) => x.signature), [sigs[3], sigs[2]]);
    const bef = await rpc(url, 'getSignaturesForAddress', [addr(to), { commitment: 'confirmed', before: sigs[2] }]);
    assert.deepEqual(bef.map((x) => x.signature), [sigs[1], sigs[0]]);
    const unt = await rpc(url, 'getSignaturesForAddress', [addr(to), { commitment: 'confirmed', until: sigs[1] }]);
    assert.deepEqual(unt.map((x) => x.signature), [sigs[3], sigs[2]]);
    await expectRpcError(url, 'getSignaturesForAddress', [addr(to), { commitment: 'processed' }], -32602);
  });

  it('reports recent prioritization fees', async () => {
    const from = await t.fundedKeypair(url);
    await t.sleep(60); // the airdrop (price 0) must not share the block: the fee is the block minimum
    const bh = await t.latestBlockhash(url);
    await rpc(url, 'sendTransaction', [b64(codec.buildTransfer(from, t.newKeypair().publicKey, 1_000_000, bh.bytes, { computeUnitPrice: 777, computeUnitLimit: 1000 })), { encoding: 'base64' }]);
    const fees = await rpc(url, 'getRecentPrioritizationFees', [[addr(from)]]);
    assert.ok(fees.length > 0 && fees.length <= 150);
    assert.ok(fees.some((f) => f.prioritizationFee === 777), JSON.stringify(fees.filter((f) => f.prioritizationFee)));
    assert.ok(fees.every((f) => typeof f.slot === 'number'));
  });

  it('keeps lamport conservation across everything that happened', async () => {
    const info = await rpc(url, 'qtwLocalnetInfo');
    assert.equal(info.totalFeesCollected, info.airdropFeesCollected + info.userFeesCollected);
    assert.equal(1_000_000n * 1_000_000_000n - BigInt(info.faucetBalance), BigInt(info.airdropped + info.airdropFeesCollected));
  });
});

describe('JSON-RPC framing and error shapes', () => {
  let node; let url;
  before(async () => { node = await t.startNode(['--slot-ms', '50']); url = node.url; });
  after(() => node.close());

  it('parse error, invalid request, method not found, invalid params', async () => {
    assert.deepEqual((await rpcRaw(url, '{nope')).json, { jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null });
    assert.deepEqual((await rpcRaw(url, { id: 3, method: 'getSlot' })).json, { jsonrpc: '2.0', error: { code: -32600, message: 'Invalid request' }, id: 3 });
    assert.deepEqual((await rpcRaw(url, '[]')).json, { jsonrpc: '2.0', error: { code: -32600, message: 'Invalid request' }, id: null });
    assert.deepEqual((await rpcRaw(url, { jsonrpc: '2.0', id: 'x', method: 'nope' })).json, { jsonrpc: '2.0', error: { code: -32601, message: 'Method not found' }, id: 'x' });
    const ip = (await rpcRaw(url, { jsonrpc: '2.0', id: 4, method: 'getMultipleAccounts', params: ['notarray'] })).json;
    assert.equal(ip.error.code, -32602);
    assert.equal(ip.id, 4);
  });

  it('answers batches in order, mixing results and errors; notifications get no answer', async () => {
    const r = await rpcRaw(url, [
      { jsonrpc: '2.0', id: 1, method: 'getHealth' },
      { jsonrpc: '2.0', id: 2, method: 'nope' },
      { jsonrpc: '2.0', method: 'getHealth' },
      { jsonrpc: '2.0', id: 3, method: 'getBalance', params: ['11111111111111111111111111111111'] },
      7,
    ]);
    assert.equal(r.status, 200);
    assert.equal(r.json.length, 4);
    assert.deepEqual(r.json[0], { jsonrpc: '2.0', result: 'ok', id: 1 });
    assert.equal(r.json[1].error.code, -32601);
    assert.equal(r.json[2].id, 3);
    assert.ok('value' in r.json[2].result);
    assert.equal(r.json[3].error.code, -32600);
    const big = Array.from({ length: 120 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'getSlot' }));
    const rb = await rpcRaw(url, big);
    assert.deepEqual(rb.json.map((x) => x.id), big.map((x) => x.id));
  });

  it('serves GET /health, refuses other verbs and oversize bodies', async () => {
    const h = await fetch(`${url}/health`);
    assert.equal(await h.text(), 'ok');
    assert.equal((await fetch(url, { method: 'PUT', body: 'x' })).status, 405);
    const r = await rpcRaw(url, 'x'.repeat(60 * 1024));
    assert.equal(r.status, 413);
  });
});

describe('blockhash expiry after 150 blocks (slot 5 ms)', () => {
  let node; let url;
  before(async () => { node = await t.startNode(['--slot-ms', '5']); url = node.url; });
  after(() => node.close());

  it('expires a blockhash after lastValidBlockHeight and rejects it with BlockhashNotFound', async () => {
    const from = await t.fundedKeypair(url, 1_000_000_000);
    const bh = await t.latestBlockhash(url, 'processed');
    const h0 = await rpc(url, 'getBlockHeight', [{ commitment: 'processed' }]);
    assert.ok(bh.lastValidBlockHeight >= h0 + 140 && bh.lastValidBlockHeight <= h0 + 150, `${bh.lastValidBlockHeight} vs ${h0}`);
    const fin = await rpc(url, 'getLatestBlockhash', [{ commitment: 'finalized' }]);
    assert.ok(fin.value.lastValidBlockHeight < bh.lastValidBlockHeight, 'finalized blockhash is older');
    const tx = codec.buildTransfer(from, t.newKeypair().publicKey, 1_000_000, bh.bytes);
    assert.equal((await rpc(url, 'isBlockhashValid', [bh.blockhash, { commitment: 'processed' }])).value, true);
    await t.waitFor(async () => (await rpc(url, 'getBlockHeight', [{ commitment: 'processed' }])) > bh.lastValidBlockHeight, 20000, 10);
    assert.equal((await rpc(url, 'isBlockhashValid', [bh.blockhash, { commitment: 'processed' }])).value, false);
    assert.equal((await rpc(url, 'getFeeForMessage', [b64(messageOf(tx)), { commitment: 'processed' }])).value, null);
    const e = await expectRpcError(url, 'sendTransaction', [b64(tx), { encoding: 'base64' }], -32002, 'Transaction simulation failed: Blockhash not found');
    assert.equal(e.data.err, 'BlockhashNotFound');
    const sig = await rpc(url, 'sendTransaction', [b64(tx), { encoding: 'base64', skipPreflight: true }]);
    await t.sleep(30);
    assert.equal((await rpc(url, 'getSignatureStatuses', [[sig], { searchTransactionHistory: true }])).value[0], null);
    assert.equal((await rpc(url, 'getBalance', [addr(from), { commitment: 'processed' }])).value, 1_000_000_000, 'nothing spent');
    assert.equal((await rpc(url, 'isBlockhashValid', [codec.b58encode(Buffer.alloc(32, 1))])).value, false);
  });

  it('accepts a blockhash that is 100 blocks old', async () => {
    const from = await t.fundedKeypair(url, 1_000_000_000);
    const bh = await t.latestBlockhash(url, 'processed');
    await t.waitFor(async () => (await rpc(url, 'getBlockHeight', [{ commitment: 'processed' }])) >= bh.lastValidBlockHeight - 50, 20000, 5);
    const sig = await rpc(url, 'sendTransaction', [b64(codec.buildTransfer(from, t.newKeypair().publicKey, 1_000_000, bh.bytes)), { encoding: 'base64' }]);
    assert.equal((await rpc(url, 'getSignatureStatuses', [[sig]])).value[0].err, null);
  });
});

describe('server process', () => {
  it('exits 0 on SIGINT and rejects bad flags', async () => {
    const node = await t.startNode([]);
    node.proc.kill('SIGINT');
    assert.deepEqual(await node.exited, { code: 0, signal: null });
    await assert.rejects(t.startNode(['--bogus']));
  });
});
