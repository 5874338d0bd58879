'use strict';
// Durable-nonce transactions and the test-only slot warp (qtwAdvanceSlots)
// on the local node: a nonce transaction lands long after every blockhash
// of its time expired, exactly once, and is refused once its nonce moved.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const t = require('../lib/testutil');
const { codec, rpc, rpcCall, addr } = t;

const RB = codec.decodePubkey('SysvarRecentB1ockHashes11111111111111111111');
const RENT = codec.decodePubkey('SysvarRent111111111111111111111111111111111');
const S = codec.SYSTEM_PROGRAM;
const b64 = (bytes) => Buffer.from(bytes).toString('base64');

// CreateAccount(80 bytes, System owner) + InitializeNonceAccount(authority).
function createNonceTx(payer, nonce, authority, lamports, blockhash) {
  const keys = [
    { pubkey: payer.publicKey, signer: true, writable: true }, { pubkey: nonce.publicKey, signer: true, writable: true },
    { pubkey: S, signer: false, writable: false }, { pubkey: RB, signer: false, writable: false }, { pubkey: RENT, signer: false, writable: false },
  ];
  const create = Buffer.concat([codec.u32le(0), codec.u64le(lamports), codec.u64le(80), S]);
  const init = Buffer.concat([codec.u32le(6), authority]);
  const msg = codec.buildLegacyMessage(keys, blockhash, [
    { programIndex: 2, accounts: [0, 1], data: create }, { programIndex: 2, accounts: [1, 3, 4], data: init }]);
  return codec.signTransaction(msg, [payer, nonce]);
}

// AdvanceNonceAccount + one transfer, the authority pays the fee.
function nonceTransferTx(authority, nonceKey, nonceValue, to, lamports) {
  const keys = [
    { pubkey: authority.publicKey, signer: true, writable: true }, { pubkey: nonceKey, signer: false, writable: true },
    { pubkey: to, signer: false, writable: true }, { pubkey: S, signer: false, writable: false }, { pubkey: RB, signer: false, writable: false },
  ];
  const msg = codec.buildLegacyMessage(keys, nonceValue, [
    { programIndex: 3, accounts: [1, 4, 0], data: codec.u32le(4) },
    { programIndex: 3, accounts: [0, 2], data: Buffer.concat([codec.u32le(2), codec.u64le(lamports)]) }]);
  return codec.signTransaction(msg, [authority]);
}

async function nonceValue(url, key) {
  const r = await rpc(url, 'getAccountInfo', [codec.b58encode(key), { encoding: 'base64', commitment: 'processed' }]);
  const data = Buffer.from(r.value.data[0], 'base64');
  assert.equal(data.length, 80);
  return data.subarray(40, 72);
}

describe('durable nonces and qtwAdvanceSlots', () => {
  let node; let url;
  before(async () => { node = await t.startNode(['--slot-ms', '1000']); url = node.url; });
  after(async () => { await node.close(); });

  it('qtwAdvanceSlots moves the slot clock and expires blockhashes', async () => {
    const s0 = await rpc(url, 'getSlot', [{ commitment: 'processed' }]);
    const bh = await t.latestBlockhash(url);
    const r = await rpc(url, 'qtwAdvanceSlots', [200]);
    assert.ok(r.slot >= s0 + 200);
    assert.equal((await rpc(url, 'isBlockhashValid', [bh.blockhash, { commitment: 'processed' }])).value, false);
    assert.equal((await rpcCall(url, 'qtwAdvanceSlots', [0])).error.code, -32602);
    assert.equal((await rpcCall(url, 'qtwAdvanceSlots', [10_001])).error.code, -32602);
  });

  it('lands a nonce transaction 300+ slots later, once; refuses it after the nonce moved', async () => {
    const payer = await t.fundedKeypair(url);
    const authority = await t.fundedKeypair(url);
    const nonce = t.newKeypair();
    const rent = await rpc(url, 'getMinimumBalanceForRentExemption', [80]);
    assert.equal(rent, 1447680);
    const bh = await t.latestBlockhash(url);
    await rpc(url, 'sendTransaction', [b64(createNonceTx(payer, nonce, authority.publicKey, rent, bh.bytes)), { encoding: 'base64' }]);
    const value = await nonceValue(url, nonce.publicKey);
    const to = t.newKeypair();
    const tx = nonceTransferTx(authority, nonce.publicKey, value, to.publicKey, 3_000_000);
    const msg = codec.parseTransaction(tx).messageBytes;
    await rpc(url, 'qtwAdvanceSlots', [320]);
    // The nonce value is not a recent blockhash, yet the fee is quoted (agave
    // falls back to the nonce account) and the transaction lands.
    assert.equal((await rpc(url, 'isBlockhashValid', [codec.b58encode(value), { commitment: 'processed' }])).value, false);
    assert.equal((await rpc(url, 'getFeeForMessage', [b64(msg), { commitment: 'processed' }])).value, 5000);
    const sig = await rpc(url, 'sendTransaction', [b64(tx), { encoding: 'base64' }]);
    const st = await rpc(url, 'getSignatureStatuses', [[sig]]);
    assert.equal(st.value[0].err, null);
    assert.equal((await rpc(url, 'getBalance', [addr(to), { commitment: 'processed' }])).value, 3_000_000);
    assert.notDeepEqual(await nonceValue(url, nonce.publicKey), value, 'the nonce advanced');
    // Sent again: already processed, and its nonce is gone.
    const again = await rpcCall(url, 'sendTransaction', [b64(tx), { encoding: 'base64' }]);
    assert.equal(again.error.code, -32002);
    // A different transaction on the old nonce value: BlockhashNotFound.
    const other = nonceTransferTx(authority, nonce.publicKey, value, to.publicKey, 4_000_000);
    const r = await rpcCall(url, 'sendTransaction', [b64(other), { encoding: 'base64' }]);
    assert.equal(r.error.code, -32002);
    assert.match(r.error.message, /Blockhash not found/i);
    assert.equal((await rpc(url, 'getBalance', [addr(to), { commitment: 'processed' }])).value, 3_000_000);
  });

  it('refuses a nonce transaction the authority did not sign, or on a non-nonce account', async () => {
    const payer = await t.fundedKeypair(url);
    const authority = await t.fundedKeypair(url);
    const stranger = await t.fundedKeypair(url);
    const nonce = t.newKeypair();
    const bh = await t.latestBlockhash(url);
    await rpc(url, 'sendTransaction', [b64(createNonceTx(payer, nonce, authority.publicKey, 1447680, bh.bytes)), { encoding: 'base64' }]);
    const value = await nonceValue(url, nonce.publicKey);
    await rpc(url, 'qtwAdvanceSlots', [160]);
    const wrongSigner = nonceTransferTx(stranger, nonce.publicKey, value, t.newKeypair().publicKey, 1_000_000);
    const r = await rpcCall(url, 'sendTransaction', [b64(wrongSigner), { encoding: 'base64' }]);
    assert.equal(r.error.code, -32002);
    const notNonce = nonceTransferTx(authority, payer.publicKey, value, t.newKeypair().publicKey, 1_000_000);
    const r2 = await rpcCall(url, 'sendTransaction', [b64(notNonce), { encoding: 'base64' }]);
    assert.equal(r2.error.code, -32002);
  });
});
