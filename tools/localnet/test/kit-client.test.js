'use strict';
// Conformance: the official @solana/kit RPC client and transaction builders
// talk to the local node (response shapes parse, kit-signed transfers land).
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const t = require('../lib/testutil');
const kit = require('@solana/kit');
const { getTransferSolInstruction } = require('@solana-program/system');

describe('@solana/kit against localnet', () => {
  let node; let rpc;
  before(async () => { node = await t.startNode(['--slot-ms', '20', '--finalize-slots', '4']); rpc = kit.createSolanaRpc(node.url); });
  after(() => node.close());

  it('reads chain state through kit', async () => {
    assert.equal(await rpc.getHealth().send(), 'ok');
    const { value } = await rpc.getLatestBlockhash({ commitment: 'confirmed' }).send();
    assert.equal(typeof value.lastValidBlockHeight, 'bigint');
    assert.equal(await rpc.getMinimumBalanceForRentExemption(0n).send(), 890880n);
  });

  it('sends a kit-signed transfer, confirms it and sees exact balances', async () => {
    const payer = await kit.generateKeyPairSigner();
    const dest = await kit.generateKeyPairSigner();
    await rpc.requestAirdrop(payer.address, kit.lamports(2_000_000_000n)).send();
    const { value: bh } = await rpc.getLatestBlockhash({ commitment: 'processed' }).send();
    const msg = kit.pipe(
      kit.createTransactionMessage({ version: 0 }),
      (m) => kit.setTransactionMessageFeePayerSigner(payer, m),
      (m) => kit.setTransactionMessageLifetimeUsingBlockhash(bh, m),
      (m) => kit.appendTransactionMessageInstruction(getTransferSolInstruction({ source: payer, destination: dest.address, amount: 1_000_000_000n }), m),
    );
    const messageB64 = Buffer.from(kit.getCompiledTransactionMessageEncoder().encode(kit.compileTransactionMessage(msg))).toString('base64');
    const fee = (await rpc.getFeeForMessage(messageB64, { commitment: 'processed' }).send()).value;
    assert.equal(fee, 5000n);
    const signed = await kit.signTransactionMessageWithSigners(msg);
    const sig = await rpc.sendTransaction(kit.getBase64EncodedWireTransaction(signed), { encoding: 'base64' }).send();
    assert.equal(sig, kit.getSignatureFromTransaction(signed));
    const st = await t.waitFor(async () => {
      const { value } = await rpc.getSignatureStatuses([sig]).send();
      return value[0] && value[0].confirmationStatus === 'finalized' && value[0];
    });
    assert.equal(st.err, null);
    assert.equal((await rpc.getBalance(dest.address, { commitment: 'confirmed' }).send()).value, 1_000_000_000n);
    assert.equal((await rpc.getBalance(payer.address, { commitment: 'confirmed' }).send()).value, 1_000_000_000n - fee);
    const tx = await rpc.getTransaction(sig, { maxSupportedTransactionVersion: 0, commitment: 'confirmed', encoding: 'json' }).send();
    assert.equal(tx.meta.fee, fee);
    assert.equal(tx.version, 0);
  });

  it('surfaces a preflight failure as kit SolanaError with the simulation err', async () => {
    const payer = await kit.generateKeyPairSigner();
    await rpc.requestAirdrop(payer.address, kit.lamports(1_000_000_000n)).send();
    const { value: bh } = await rpc.getLatestBlockhash({ commitment: 'processed' }).send();
    const msg = kit.pipe(
      kit.createTransactionMessage({ version: 'legacy' }),
      (m) => kit.setTransactionMessageFeePayerSigner(payer, m),
      (m) => kit.setTransactionMessageLifetimeUsingBlockhash(bh, m),
      (m) => kit.appendTransactionMessageInstruction(getTransferSolInstruction({ source: payer, destination: payer.address, amount: 5_000_000_000n }), m),
    );
    const signed = await kit.signTransactionMessageWithSigners(msg);
    await assert.rejects(rpc.sendTransaction(kit.getBase64EncodedWireTransaction(signed), { encoding: 'base64' }).send(), (e) => {
      assert.ok(kit.isSolanaError(e, kit.SOLANA_ERROR__JSON_RPC__SERVER_ERROR_SEND_TRANSACTION_PREFLIGHT_FAILURE), String(e));
      return true;
    });
  });
});
