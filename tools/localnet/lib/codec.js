'use strict';
// Wire-format helpers for the local node: base58, short_vec, Solana
// transaction/message parsing and building, Ed25519 via node:crypto.
// Layouts: solana-sdk message/src/legacy.rs, message/src/versions/v0/mod.rs,
// short_vec.rs (the wire format in the Solana docs' "Transactions" page).
const crypto = require('node:crypto');

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const B58_MAP = new Map([...B58].map((c, i) => [c, i]));

function b58encode(bytes) {
  bytes = Buffer.from(bytes);
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  let out = '';
  while (n > 0n) { out = B58[Number(n % 58n)] + out; n /= 58n; }
  return '1'.repeat(zeros) + out;
}

// Returns a Buffer or null on an invalid character.
function b58decode(str) {
  if (typeof str !== 'string') return null;
  let zeros = 0;
  while (zeros < str.length && str[zeros] === '1') zeros++;
  let n = 0n;
  for (const c of str) {
    const v = B58_MAP.get(c);
    if (v === undefined) return null;
    n = n * 58n + BigInt(v);
  }
  const body = [];
  while (n > 0n) { body.unshift(Number(n & 0xffn)); n >>= 8n; }
  return Buffer.from([...new Array(zeros).fill(0), ...body]);
}

// A 32-byte public key from base58, or null.
function decodePubkey(str) {
  if (typeof str !== 'string' || str.length > 44) return null;
  const b = b58decode(str);
  return b && b.length === 32 ? b : null;
}

function encodeShortVec(n) {
  const out = [];
  for (;;) {
    let byte = n & 0x7f;
    n >>= 7;
    if (n === 0) { out.push(byte); return Buffer.from(out); }
    out.push(byte | 0x80);
  }
}

class Reader {
  constructor(buf) { this.buf = buf; this.pos = 0; }
  need(n) { if (this.pos + n > this.buf.length) throw new Error('io error: unexpected end of file'); }
  u8() { this.need(1); return this.buf[this.pos++]; }
  bytes(n) { this.need(n); const b = this.buf.subarray(this.pos, this.pos + n); this.pos += n; return b; }
  shortVec() {
    let value = 0;
    for (let i = 0; i < 3; i++) {
      const b = this.u8();
      value |= (b & 0x7f) << (7 * i);
      if ((b & 0x80) === 0) return value;
    }
    throw new Error('invalid short_vec length');
  }
}

// Parses a message; throws on malformed input.
function parseMessage(msg) {
  const r = new Reader(msg);
  let version = 'legacy';
  let first = r.u8();
  if (first & 0x80) {
    version = first & 0x7f;
    if (version !== 0) throw new Error(`unsupported message version ${version}`);
    first = r.u8();
  }
  const header = { numRequiredSignatures: first, numReadonlySigned: r.u8(), numReadonlyUnsigned: r.u8() };
  const nKeys = r.shortVec();
  const accountKeys = [];
  for (let i = 0; i < nKeys; i++) accountKeys.push(Buffer.from(r.bytes(32)));
  const recentBlockhash = Buffer.from(r.bytes(32));
  const nIx = r.shortVec();
  const instructions = [];
  for (let i = 0; i < nIx; i++) {
    const programIdIndex = r.u8();
    const nAcc = r.shortVec();
    const accounts = [...r.bytes(nAcc)];
    const nData = r.shortVec();
    const data = Buffer.from(r.bytes(nData));
    instructions.push({ programIdIndex, accounts, data });
  }
  const lookups = [];
  if (version === 0) {
    const nL = r.shortVec();
    for (let i = 0; i < nL; i++) {
      const key = Buffer.from(r.bytes(32));
      const w = [...r.bytes(r.shortVec())];
      const ro = [...r.bytes(r.shortVec())];
      lookups.push({ key, writable: w, readonly: ro });
    }
  }
  if (r.pos !== msg.length) throw new Error('trailing bytes after message');
  if (header.numRequiredSignatures === 0 || header.numRequiredSignatures > nKeys) throw new Error('invalid message header');
  for (const ix of instructions) {
    if (ix.programIdIndex >= nKeys || ix.programIdIndex === 0) throw new Error('invalid program id index');
  }
  return { version, header, accountKeys, recentBlockhash, instructions, lookups };
}

// Parses a wire transaction; throws on malformed input.
function parseTransaction(bytes) {
  const r = new Reader(bytes);
  const nSig = r.shortVec();
  const signatures = [];
  for (let i = 0; i < nSig; i++) signatures.push(Buffer.from(r.bytes(64)));
  const messageBytes = Buffer.from(bytes.subarray(r.pos));
  const message = parseMessage(messageBytes);
  if (nSig !== message.header.numRequiredSignatures) throw new Error('signature count does not match the message header');
  return { signatures, messageBytes, message };
}

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

function verifyEd25519(pubkey, message, signature) {
  try {
    const key = crypto.createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, pubkey]), format: 'der', type: 'spki' });
    return crypto.verify(null, message, key, signature);
  } catch { return false; }
}

function verifyTransaction(tx) {
  return tx.signatures.every((sig, i) => verifyEd25519(tx.message.accountKeys[i], tx.messageBytes, sig));
}

// Keypair from a 32-byte seed: {seed, publicKey (32 bytes), sign(msg)}.
function keypairFromSeed(seed) {
  const privateKey = crypto.createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const spki = crypto.createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const publicKey = Buffer.from(spki.subarray(spki.length - 32));
  return { seed: Buffer.from(seed), publicKey, sign: (m) => crypto.sign(null, m, privateKey) };
}

function u32le(n) { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; }
function u64le(n) { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return b; }

// Builds a legacy message. keys: [{pubkey, signer, writable}] ordered as the
// runtime requires (writable signers, readonly signers, writable, readonly);
// instructions: [{programIndex, accounts:[idx], data}].
function buildLegacyMessage(keys, blockhash, instructions) {
  const nSigners = keys.filter((k) => k.signer).length;
  const roSigned = keys.filter((k) => k.signer && !k.writable).length;
  const roUnsigned = keys.filter((k) => !k.signer && !k.writable).length;
  const parts = [Buffer.from([nSigners, roSigned, roUnsigned]), encodeShortVec(keys.length), ...keys.map((k) => k.pubkey), blockhash, encodeShortVec(instructions.length)];
  for (const ix of instructions) {
    parts.push(Buffer.from([ix.programIndex]), encodeShortVec(ix.accounts.length), Buffer.from(ix.accounts), encodeShortVec(ix.data.length), ix.data);
  }
  return Buffer.concat(parts);
}

function signTransaction(messageBytes, signers) {
  return Buffer.concat([encodeShortVec(signers.length), ...signers.map((s) => s.sign(messageBytes)), messageBytes]);
}

const SYSTEM_PROGRAM = Buffer.alloc(32);
const COMPUTE_BUDGET_PROGRAM = decodePubkey('ComputeBudget111111111111111111111111111111');

// A signed System transfer; extra: optional instructions appended as
// [{program: Buffer, data}] with no accounts (used for compute-budget ixs).
function buildTransfer(from, to, lamports, blockhash, { computeUnitPrice, computeUnitLimit } = {}) {
  const keys = [{ pubkey: from.publicKey, signer: true, writable: true }, { pubkey: to, signer: false, writable: true }, { pubkey: SYSTEM_PROGRAM, signer: false, writable: false }];
  const ixs = [];
  if (computeUnitLimit !== undefined || computeUnitPrice !== undefined) keys.push({ pubkey: COMPUTE_BUDGET_PROGRAM, signer: false, writable: false });
  if (computeUnitLimit !== undefined) ixs.push({ programIndex: 3, accounts: [], data: Buffer.concat([Buffer.from([2]), u32le(computeUnitLimit)]) });
  if (computeUnitPrice !== undefined) ixs.push({ programIndex: 3, accounts: [], data: Buffer.concat([Buffer.from([3]), u64le(computeUnitPrice)]) });
  ixs.push({ programIndex: 2, accounts: [0, 1], data: Buffer.concat([u32le(2), u64le(lamports)]) });
  return signTransaction(buildLegacyMessage(keys, blockhash, ixs), [from]);
}

module.exports = {
  b58encode, b58decode, decodePubkey, encodeShortVec, parseMessage, parseTransaction,
  verifyEd25519, verifyTransaction, keypairFromSeed, buildLegacyMessage, signTransaction,
  buildTransfer, u32le, u64le, SYSTEM_PROGRAM, COMPUTE_BUDGET_PROGRAM,
};
