'use strict';
// Test helper for cold_hodl_test.sh: forges tampered top-up request files
// and sends a raw AdvanceNonceAccount, using the local node's wire codec.
//   tamper-amount IN OUT            transfer 1 moves 1 lamport more (message only)
//   tamper-dest IN OUT PUBKEY       transfer 1 pays PUBKEY instead of its Bank (message only)
//   tamper-nonce IN OUT PUBKEY      instruction 0 advances PUBKEY (message only)
//   add-ix IN OUT                   a copy of the last transfer appended (message only)
//   json-amount IN OUT              transfers[0].lamports + 1 in the JSON only
//   swap-tx SIGNED OUT              the signed file's transaction carries a tampered message
//   sign-other KEYPAIR              base58 signature of another message by KEYPAIR
//   advance-nonce URL KEYPAIR NONCE sends AdvanceNonceAccount(NONCE) signed by KEYPAIR
const fs = require('node:fs');
const path = require('node:path');
const codec = require(path.join(__dirname, '..', '..', '..', 'tools', 'localnet', 'lib', 'codec.js'));

function serialize(m) {
  const parts = [Buffer.from([m.header.numRequiredSignatures, m.header.numReadonlySigned, m.header.numReadonlyUnsigned]),
    codec.encodeShortVec(m.accountKeys.length), ...m.accountKeys, m.recentBlockhash, codec.encodeShortVec(m.instructions.length)];
  for (const ix of m.instructions) {
    parts.push(Buffer.from([ix.programIdIndex]), codec.encodeShortVec(ix.accounts.length), Buffer.from(ix.accounts),
      codec.encodeShortVec(ix.data.length), ix.data);
  }
  return Buffer.concat(parts);
}

function load(file) { return JSON.parse(fs.readFileSync(file, 'utf8')); }
function messageOf(req) { return codec.parseMessage(Buffer.from(req.message_base64, 'base64')); }
function saveMessage(req, m, out) {
  req.message_base64 = serialize(m).toString('base64');
  delete req.message_base58; delete req.transaction_base64; delete req.transaction_base58;
  fs.writeFileSync(out, JSON.stringify(req, null, 2));
}
function keypair(file) { return codec.keypairFromSeed(Buffer.from(JSON.parse(fs.readFileSync(file, 'utf8')).slice(0, 32))); }

const [cmd, a, b, c] = process.argv.slice(2);
(async () => {
  switch (cmd) {
    case 'tamper-amount': {
      const req = load(a); const m = messageOf(req);
      const ix = m.instructions[1];
      ix.data.writeBigUInt64LE(ix.data.readBigUInt64LE(4) + 1n, 4);
      saveMessage(req, m, b);
      break;
    }
    case 'tamper-dest': case 'tamper-nonce': {
      const req = load(a); const m = messageOf(req);
      const ix = m.instructions[cmd === 'tamper-dest' ? 1 : 0];
      const idx = cmd === 'tamper-dest' ? ix.accounts[1] : ix.accounts[0];
      m.accountKeys[idx] = codec.decodePubkey(c);
      saveMessage(req, m, b);
      break;
    }
    case 'add-ix': {
      const req = load(a); const m = messageOf(req);
      const last = m.instructions[m.instructions.length - 1];
      m.instructions.push({ programIdIndex: last.programIdIndex, accounts: [...last.accounts], data: Buffer.from(last.data) });
      saveMessage(req, m, b);
      break;
    }
    case 'json-amount': {
      const req = load(a); req.transfers[0].lamports += 1; fs.writeFileSync(b, JSON.stringify(req, null, 2));
      break;
    }
    case 'swap-tx': {
      const signed = load(a);
      const tx = codec.parseTransaction(Buffer.from(signed.transaction_base64, 'base64'));
      const m = tx.message; const ix = m.instructions[1];
      ix.data.writeBigUInt64LE(ix.data.readBigUInt64LE(4) + 1n, 4);
      signed.transaction_base64 = Buffer.concat([codec.encodeShortVec(1), tx.signatures[0], serialize(m)]).toString('base64');
      fs.writeFileSync(b, JSON.stringify(signed, null, 2));
      break;
    }
    case 'sign-other': {
      process.stdout.write(codec.b58encode(keypair(a).sign(Buffer.from('another message'))) + '\n');
      break;
    }
    case 'advance-nonce': {
      const url = a; const kp = keypair(b); const nonce = codec.decodePubkey(c);
      const rpc = async (method, params) => {
        const r = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
        const j = await r.json(); if (j.error) throw new Error(JSON.stringify(j.error)); return j.result;
      };
      const bh = (await rpc('getLatestBlockhash', [{ commitment: 'processed' }])).value.blockhash;
      const RB = codec.decodePubkey('SysvarRecentB1ockHashes11111111111111111111');
      const keys = [{ pubkey: kp.publicKey, signer: true, writable: true }, { pubkey: nonce, signer: false, writable: true },
        { pubkey: codec.SYSTEM_PROGRAM, signer: false, writable: false }, { pubkey: RB, signer: false, writable: false }];
      const msg = codec.buildLegacyMessage(keys, codec.b58decode(bh), [{ programIndex: 2, accounts: [1, 3, 0], data: codec.u32le(4) }]);
      const tx = codec.signTransaction(msg, [kp]);
      process.stdout.write(await rpc('sendTransaction', [tx.toString('base64'), { encoding: 'base64' }]) + '\n');
      break;
    }
    default: throw new Error(`unknown command ${cmd}`);
  }
})().catch((e) => { process.stderr.write(`${e.message}\n`); process.exit(1); });
