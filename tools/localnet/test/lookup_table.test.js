'use strict';
// Address lookup tables on the local node: the SlotHashes sysvar lists recent
// slots, so CreateLookupTable works with a recent slot (and refuses the
// current one, as a validator does); a v0 transaction that loads its
// destination from the table lands.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const t = require('../lib/testutil');
const kit = require('@solana/kit');
const { getTransferSolInstruction } = require('@solana-program/system');

const ALT = kit.address('AddressLookupTab1e1111111111111111111111111');
const SYSTEM = kit.address('11111111111111111111111111111111');

function u64(v) { const b = Buffer.alloc(8); b.writeBigUInt64LE(v); return b; }

describe('address lookup tables', () => {
  let node; let rpc;
  before(async () => { node = await t.startNode(['--slot-ms', '20', '--finalize-slots', '4']); rpc = kit.createSolanaRpc(node.url); });
  after(() => node.close());

  async function send(payer, ixs, { version = 0, tables } = {}) {
    const { value: bh } = await rpc.getLatestBlockhash({ commitment: 'processed' }).send();
    let msg = kit.pipe(kit.createTransactionMessage({ version }),
      (m) => kit.setTransactionMessageFeePayerSigner(payer, m),
      (m) => kit.setTransactionMessageLifetimeUsingBlockhash(bh, m),
      (m) => kit.appendTransactionMessageInstructions(ixs, m));
    if (tables) msg = kit.compressTransactionMessageUsingAddressLookupTables(msg, tables);
    const signed = await kit.signTransactionMessageWithSigners(msg);
    const sig = await rpc.sendTransaction(kit.getBase64EncodedWireTransaction(signed), { encoding: 'base64' }).send();
    return t.waitFor(async () => {
      const { value } = await rpc.getSignatureStatuses([sig]).send();
      return value[0] && value[0].confirmationStatus !== 'processed' ? value[0] : null;
    });
  }
  async function createTable(payer, slot) {
    const [table, bump] = await kit.getProgramDerivedAddress({ programAddress: ALT, seeds: [kit.getAddressEncoder().encode(payer.address), u64(slot)] });
    const ix = { programAddress: ALT, accounts: [
      { address: table, role: kit.AccountRole.WRITABLE }, { address: payer.address, role: kit.AccountRole.READONLY_SIGNER, signer: payer },
      { address: payer.address, role: kit.AccountRole.WRITABLE_SIGNER, signer: payer }, { address: SYSTEM, role: kit.AccountRole.READONLY }],
    data: Buffer.concat([Buffer.from([0, 0, 0, 0]), u64(slot), Buffer.from([bump])]) };
    return { table, ix };
  }

  it('creates and extends a table, then a v0 transfer loads its destination from it', async () => {
    const payer = await kit.generateKeyPairSigner();
    const dest = await kit.generateKeyPairSigner();
    await rpc.requestAirdrop(payer.address, kit.lamports(1_000_000_000n)).send();
    await t.waitFor(async () => ((await rpc.getBalance(payer.address, { commitment: 'processed' }).send()).value > 0n ? true : null));
    const slot = await rpc.getSlot({ commitment: 'processed' }).send();
    const { table, ix } = await createTable(payer, slot - 1n);
    const extend = { programAddress: ALT, accounts: [
      { address: table, role: kit.AccountRole.WRITABLE }, { address: payer.address, role: kit.AccountRole.READONLY_SIGNER, signer: payer },
      { address: payer.address, role: kit.AccountRole.WRITABLE_SIGNER, signer: payer }, { address: SYSTEM, role: kit.AccountRole.READONLY }],
    data: Buffer.concat([Buffer.from([2, 0, 0, 0]), u64(1n), Buffer.from(kit.getAddressEncoder().encode(dest.address))]) };
    const created = await send(payer, [ix, extend]);
    assert.equal(created.err, null, JSON.stringify(created.err, (_, v) => (typeof v === 'bigint' ? String(v) : v)));
    // Extended addresses are usable from the next slot on.
    const at = await rpc.getSlot({ commitment: 'processed' }).send();
    await t.waitFor(async () => ((await rpc.getSlot({ commitment: 'processed' }).send()) > at + 1n ? true : null));
    const sent = await send(payer, [getTransferSolInstruction({ source: payer, destination: dest.address, amount: 5_000_000n })], { tables: { [table]: [dest.address] } });
    assert.equal(sent.err, null);
    assert.equal((await rpc.getBalance(dest.address, { commitment: 'confirmed' }).send()).value, 5_000_000n);
  });

  it('refuses a table derived from a slot that is not recent', async () => {
    const payer = await kit.generateKeyPairSigner();
    await rpc.requestAirdrop(payer.address, kit.lamports(1_000_000_000n)).send();
    await t.waitFor(async () => ((await rpc.getBalance(payer.address, { commitment: 'processed' }).send()).value > 0n ? true : null));
    const slot = await rpc.getSlot({ commitment: 'processed' }).send();
    const { ix } = await createTable(payer, slot + 1000n);
    const { value: bh } = await rpc.getLatestBlockhash({ commitment: 'processed' }).send();
    const msg = kit.pipe(kit.createTransactionMessage({ version: 0 }), (m) => kit.setTransactionMessageFeePayerSigner(payer, m),
      (m) => kit.setTransactionMessageLifetimeUsingBlockhash(bh, m), (m) => kit.appendTransactionMessageInstruction(ix, m));
    const signed = await kit.signTransactionMessageWithSigners(msg);
    const sim = await rpc.simulateTransaction(kit.getBase64EncodedWireTransaction(signed), { encoding: 'base64' }).send();
    assert.ok(sim.value.err, 'a future slot is not in SlotHashes');
    assert.ok(sim.value.logs.some((l) => /is not a recent slot/.test(l)), sim.value.logs.join('\n'));
  });
});
