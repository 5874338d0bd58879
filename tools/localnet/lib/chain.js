'use strict';
// The validator-like layer over one LiteSVM bank: a slot clock, a
// blockhash queue with the 150-block validity window, a status cache with
// processed/confirmed/finalized levels, an address -> signatures index, a
// faucet and fee accounting. Every JSON-RPC method lives here; server.js only
// speaks HTTP and JSON-RPC framing.
const crypto = require('node:crypto');
const { LiteSVM } = require('litesvm');
const { Account } = require('litesvm/dist/internal');
const codec = require('./codec');
const { txErrorToJson, txErrorDisplay } = require('./errors');

// agave sdk clock.rs: MAX_RECENT_BLOCKHASHES = 300, MAX_PROCESSING_AGE = 150.
const MAX_PROCESSING_AGE = 150;
const MAX_RECENT_BLOCKHASHES = 300;
const MAX_SLOT_HASHES = 512;  // agave sdk slot_hashes.rs MAX_ENTRIES
// agave rpc-client-types request.rs limits.
const MAX_SIGNATURE_STATUSES = 256;
const MAX_MULTIPLE_ACCOUNTS = 100;
const MAX_SIGNATURES_FOR_ADDRESS_LIMIT = 1000;
const MAX_PRIORITIZATION_FEE_ADDRESSES = 128;
// agave rpc.rs decode_and_deserialize / solana-packet PACKET_DATA_SIZE.
const PACKET_DATA_SIZE = 1232;
const MAX_BASE58_SIZE = 1683;
const MAX_BASE64_SIZE = 1644;
const LAMPORTS_PER_SIGNATURE = 5000n;
const API_VERSION = '2.3.0';
// solana-test-validator --faucet-sol default (1,000,000 SOL); below 2^53
// so JavaScript clients read every balance exactly.
const FAUCET_LAMPORTS = 1_000_000n * 1_000_000_000n;
const U64_MAX = (1n << 64n) - 1n;

class RpcError extends Error {
  constructor(code, message, data) { super(message); this.code = code; this.data = data; }
}
const invalidParams = (msg) => new RpcError(-32602, msg);

// Programs counted as builtins for the default compute-unit limit (agave
// compute-budget-instruction builtin_programs_filter.rs; stake and config
// are migrated to BPF on current clusters so they count as non-builtin).
const BUILTIN_PROGRAMS = new Set([
  '11111111111111111111111111111111', 'ComputeBudget111111111111111111111111111111',
  'Vote111111111111111111111111111111111111111', 'BPFLoader1111111111111111111111111111111111',
  'BPFLoader2111111111111111111111111111111111', 'BPFLoaderUpgradeab1e11111111111111111111111',
  'LoaderV411111111111111111111111111111111111', 'AddressLookupTab1e1111111111111111111111111',
  'Ed25519SigVerify111111111111111111111111111', 'KeccakSecp256k11111111111111111111111111111',
  'Secp256r1SigVerify1111111111111111111111111',
]);
const PRECOMPILES = new Set(['Ed25519SigVerify111111111111111111111111111', 'KeccakSecp256k11111111111111111111111111111', 'Secp256r1SigVerify1111111111111111111111111']);
const COMPUTE_BUDGET = 'ComputeBudget111111111111111111111111111111';
const TOKEN_PROGRAMS = new Set(['TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA', 'TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb']);

function bigintParam(v, what) {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === 'bigint' && v >= 0n) return v;
  throw invalidParams(`Invalid params: invalid type for ${what}, expected u64`);
}

function configParam(params, index) {
  const c = params[index];
  if (c === undefined || c === null) return {};
  if (typeof c !== 'object' || Array.isArray(c)) throw invalidParams('Invalid params: invalid type: expected a config object');
  return c;
}

class Chain {
  constructor({ finalizeSlots = 32, ledgerSeed = 0, log = () => {} } = {}) {
    this.finalizeSlots = finalizeSlots;
    this.log = log;
    this.svm = new LiteSVM().withBlockhashCheck(false).withSigverify(false);
    this.L = this.svm.inner;
    this.slot = 0;
    this.blockhashBySlot = new Map(); // slot -> base58 hash
    this.slotByBlockhash = new Map(); // base58 hash -> slot
    this.txs = new Map(); // sig b58 -> record
    this.byAddress = new Map(); // address b58 -> [sig b58] oldest first
    this.slotTxs = new Map(); // slot -> [{price, writable:[b58]}]
    this.totalFees = 0n;
    this.airdropFees = 0n;
    this.airdropped = 0n;
    this.airdropCount = 0;
    this.faucet = codec.keypairFromSeed(crypto.createHash('sha256').update(`qtw-localnet-faucet:${ledgerSeed}`).digest());
    this.L.setAccount(this.faucet.publicKey, new Account(FAUCET_LAMPORTS, new Uint8Array(0), codec.SYSTEM_PROGRAM, false, U64_MAX));
    this.slotHashes = [];  // SlotHash entries, newest first
    this.spareSlotHashes = Array.from({ length: MAX_SLOT_HASHES }, () => this.svm.getSlotHashes()[0]).filter(Boolean);
    // The wrapped-SOL mint every cluster has from genesis (SPL Token
    // native_mint.rs: no authority, 9 decimals, initialized), which LiteSVM
    // leaves out; associated token accounts for it need the account.
    const nativeMint = Buffer.alloc(82);
    nativeMint[44] = 9; nativeMint[45] = 1;
    this.L.setAccount(codec.decodePubkey('So11111111111111111111111111111111111111112'),
      new Account(this.L.minimumBalanceForRentExemption(82n), nativeMint, codec.decodePubkey('TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA'), false, U64_MAX));
    this.L.warpToSlot(0n);
    this.recordBlockhash();
  }

  recordBlockhash() {
    const h = this.L.latestBlockhash();
    this.blockhashBySlot.set(this.slot, h);
    this.slotByBlockhash.set(h, this.slot);
    const old = this.slot - MAX_RECENT_BLOCKHASHES - this.finalizeSlots;
    if (old >= 0 && this.blockhashBySlot.has(old)) {
      this.slotByBlockhash.delete(this.blockhashBySlot.get(old));
      this.blockhashBySlot.delete(old);
      this.slotTxs.delete(old);
    }
  }

  // The SlotHashes sysvar as a validator keeps it (agave sdk slot_hashes.rs:
  // the newest 512 ancestors, newest first; the current slot is not in it),
  // so address lookup tables can be created (CreateLookupTable's recent_slot
  // must be listed). LiteSVM's SlotHash class has no constructor, so the
  // entries are copies of its default entry, taken once at start and
  // recycled; the sysvar is written only when a transaction runs, not every
  // slot (a whole-sysvar write per 20 ms slot slowed the node's clock).
  recordSlotHash(slot) {
    const entry = this.slotHashes.length >= MAX_SLOT_HASHES ? this.slotHashes.pop() : this.spareSlotHashes.pop();
    if (entry === undefined) return;
    entry.slot = BigInt(slot);
    entry.hash = this.blockhashBySlot.get(slot);
    this.slotHashes.unshift(entry);
    this.slotHashesDirty = true;  // written to the bank before the next execution (runSvm)
  }

  // One slot passes: the clock sysvar moves and a new blockhash is made.
  advance() {
    this.recordSlotHash(this.slot);
    this.slot += 1;
    this.L.warpToSlot(BigInt(this.slot));
    this.L.expireBlockhash();
    this.recordBlockhash();
  }

  commitmentSlot(commitment) {
    switch (commitment ?? 'finalized') {
      case 'processed': case 'recent': case 'single': return this.slot;
      case 'confirmed': case 'singleGossip': return Math.max(0, this.slot - 1);
      case 'finalized': case 'max': case 'root': return Math.max(0, this.slot - this.finalizeSlots);
      default: throw invalidParams(`Invalid params: unknown variant \`${commitment}\`, expected one of \`processed\`, \`confirmed\`, \`finalized\``);
    }
  }

  // Context slot for a config, honouring minContextSlot (agave -32016).
  contextSlot(config) {
    const s = this.commitmentSlot(config.commitment);
    if (config.minContextSlot !== undefined && config.minContextSlot !== null && config.minContextSlot > s) {
      throw new RpcError(-32016, 'Minimum context slot has not been reached', { contextSlot: s });
    }
    return s;
  }

  ctx(slot) { return { slot, apiVersion: API_VERSION }; }

  // Blockhash validity as seen by the bank at `bankSlot` (age <= 150).
  blockhashValidAt(hashB58, bankSlot) {
    const s = this.slotByBlockhash.get(hashB58);
    return s !== undefined && s <= bankSlot && bankSlot - s <= MAX_PROCESSING_AGE;
  }

  // Durable nonce (agave svm-transaction get_durable_nonce and
  // check_transaction_age / load_message_nonce_account): the first
  // instruction is System AdvanceNonceAccount whose first account is
  // writable, that account is a System-owned initialized nonce account whose
  // stored durable nonce equals the message's recent_blockhash, and its
  // authority signs that instruction. Returns true if the message qualifies.
  durableNonceOk(msg) {
    const ix = msg.instructions[0];
    if (!ix || ix.accounts.length < 1) return false;
    const prog = msg.accountKeys[ix.programIdIndex];
    if (!prog || !prog.equals(codec.SYSTEM_PROGRAM)) return false;
    if (ix.data.length < 4 || ix.data.readUInt32LE(0) !== 4) return false;
    const idx = ix.accounts[0];
    if (!this.isWritable(msg, idx) || !msg.accountKeys[idx]) return false;
    const acc = this.L.getAccount(msg.accountKeys[idx]);
    if (!acc || acc.lamports() === 0n || !Buffer.from(acc.owner()).equals(codec.SYSTEM_PROGRAM)) return false;
    const data = Buffer.from(acc.data());
    if (data.length !== 80 || data.readUInt32LE(4) !== 1) return false;
    if (!data.subarray(40, 72).equals(msg.recentBlockhash)) return false;
    const authority = data.subarray(8, 40);
    return ix.accounts.some((a) => a < msg.header.numRequiredSignatures && msg.accountKeys[a].equals(authority));
  }

  // A transaction's age check: a recent blockhash, or a valid durable nonce.
  ageOk(msg, bankSlot) {
    return this.blockhashValidAt(codec.b58encode(msg.recentBlockhash), bankSlot) || this.durableNonceOk(msg);
  }

  statusOf(rec) {
    const age = this.slot - rec.slot;
    if (age >= this.finalizeSlots) return 'finalized';
    if (age >= 1) return 'confirmed';
    return 'processed';
  }

  meetsCommitment(rec, commitment) {
    const st = this.statusOf(rec);
    const rank = { processed: 0, confirmed: 1, finalized: 2 };
    const want = { processed: 0, recent: 0, confirmed: 1, singleGossip: 1, finalized: 2, max: 2, root: 2 }[commitment ?? 'finalized'];
    if (want === undefined) this.commitmentSlot(commitment);
    return rank[st] >= want;
  }

  // ---------------------------------------------------------------- helpers
  decodeWire(encoded, encoding, typeName = 'solana_transaction::versioned::VersionedTransaction') {
    if (typeof encoded !== 'string') throw invalidParams('Invalid params: invalid type: expected an encoded string');
    let bytes;
    if (encoding === 'base58') {
      if (encoded.length > MAX_BASE58_SIZE) throw invalidParams(`base58 encoded ${typeName} too large: ${encoded.length} bytes (max: encoded/raw ${MAX_BASE58_SIZE}/${PACKET_DATA_SIZE})`);
      bytes = codec.b58decode(encoded);
      if (!bytes) throw invalidParams('invalid base58 encoding: InvalidCharacter');
    } else if (encoding === 'base64') {
      if (encoded.length > MAX_BASE64_SIZE) throw invalidParams(`base64 encoded ${typeName} too large: ${encoded.length} bytes (max: encoded/raw ${MAX_BASE64_SIZE}/${PACKET_DATA_SIZE})`);
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded) || encoded.length % 4 !== 0) throw invalidParams('invalid base64 encoding: InvalidByte');
      bytes = Buffer.from(encoded, 'base64');
    } else {
      throw invalidParams(`Invalid params: unsupported encoding: ${encoding}. Supported encodings: base58, base64`);
    }
    if (bytes.length > PACKET_DATA_SIZE) throw invalidParams(`decoded ${typeName} too large: ${bytes.length} bytes (max: ${PACKET_DATA_SIZE} bytes)`);
    return bytes;
  }

  parseTx(bytes) {
    try { return codec.parseTransaction(bytes); } catch (e) {
      throw invalidParams(`failed to deserialize solana_transaction::versioned::VersionedTransaction: ${e.message}`);
    }
  }

  isWritable(msg, i) {
    const { numRequiredSignatures: ns, numReadonlySigned: ros, numReadonlyUnsigned: rou } = msg.header;
    if (i < ns) return i < ns - ros;
    return i < msg.accountKeys.length - rou;
  }

  // Fee as agave fee/src/lib.rs computes it: signatures (incl. precompile
  // signatures) * 5000 + ceil(cu_price * cu_limit / 1e6).
  computeFee(msg) {
    let sigs = BigInt(msg.header.numRequiredSignatures);
    let price = 0n; let limit = null; let builtin = 0n; let nonBuiltin = 0n;
    for (const ix of msg.instructions) {
      const prog = codec.b58encode(msg.accountKeys[ix.programIdIndex] ?? Buffer.alloc(32));
      if (PRECOMPILES.has(prog) && ix.data.length > 0) sigs += BigInt(ix.data[0]);
      if (BUILTIN_PROGRAMS.has(prog)) builtin++; else nonBuiltin++;
      if (prog === COMPUTE_BUDGET && ix.data.length > 0) {
        if (ix.data[0] === 2 && ix.data.length >= 5) limit = BigInt(ix.data.readUInt32LE(1));
        if (ix.data[0] === 3 && ix.data.length >= 9) price = ix.data.readBigUInt64LE(1);
      }
    }
    if (limit === null) limit = builtin * 3000n + nonBuiltin * 200000n;
    if (limit > 1_400_000n) limit = 1_400_000n;
    const prio = (price * limit + 999_999n) / 1_000_000n;
    return { fee: sigs * LAMPORTS_PER_SIGNATURE + prio, price };
  }

  balanceOf(key) { return this.L.getBalance(key) ?? 0n; }

  uniqueKeys(msg) {
    const seen = new Set(); const out = [];
    for (const k of msg.accountKeys) { const s = k.toString('hex'); if (!seen.has(s)) { seen.add(s); out.push(k); } }
    return out;
  }

  runSvm(bytes, tx, simulate) {
    if (this.slotHashesDirty) {
      this.svm.setSlotHashes(this.slotHashes);
      this.slotHashesDirty = false;
    }
    const fn = tx.message.version === 'legacy'
      ? (simulate ? 'simulateLegacyTransaction' : 'sendLegacyTransaction')
      : (simulate ? 'simulateVersionedTransaction' : 'sendVersionedTransaction');
    const r = this.L[fn](bytes);
    const failed = r.constructor.name === 'FailedTransactionMetadata';
    const meta = failed ? r.meta() : (simulate ? r.meta() : r);
    const out = {
      err: failed ? txErrorToJson(r.err()) : null,
      logs: meta.logs(),
      unitsConsumed: Number(meta.computeUnitsConsumed()),
      returnData: null,
      postAccounts: !failed && simulate ? r.postAccounts() : null,
    };
    try {
      const rd = meta.returnData();
      const data = Buffer.from(rd.data());
      if (data.length > 0) out.returnData = { programId: codec.b58encode(rd.programId()), data: [data.toString('base64'), 'base64'] };
    } catch { /* no return data */ }
    return out;
  }

  // Simulation as the preflight bank would see it (blockhash age, status
  // cache, then execution); returns {err, logs, unitsConsumed, ...}.
  simulate(bytes, tx, { skipBlockhashCheck = false } = {}) {
    const sig = codec.b58encode(tx.signatures[0]);
    if (!skipBlockhashCheck && !this.ageOk(tx.message, this.slot)) {
      return { err: 'BlockhashNotFound', logs: [], unitsConsumed: 0, returnData: null, postAccounts: null };
    }
    if (this.txs.has(sig)) return { err: 'AlreadyProcessed', logs: [], unitsConsumed: 0, returnData: null, postAccounts: null };
    return this.runSvm(bytes, tx, true);
  }

  // Executes for real; a transaction lands if it succeeded or was charged a
  // fee (execution failure), as on a validator. Returns the record or null.
  execute(bytes, tx, { airdrop = 0n } = {}) {
    const sig = codec.b58encode(tx.signatures[0]);
    if (!this.ageOk(tx.message, this.slot)) return null;
    if (this.txs.has(sig)) return null;
    const keys = this.uniqueKeys(tx.message);
    const pre = tx.message.accountKeys.map((k) => this.balanceOf(k));
    const preSum = keys.reduce((a, k) => a + this.balanceOf(k), 0n);
    const res = this.runSvm(bytes, tx, false);
    const post = tx.message.accountKeys.map((k) => this.balanceOf(k));
    const postSum = keys.reduce((a, k) => a + this.balanceOf(k), 0n);
    const fee = preSum - postSum;
    if (res.err !== null && fee <= 0n) {
      this.log(`dropped ${sig}: ${JSON.stringify(res.err)}`);
      return null;
    }
    const { price } = this.computeFee(tx.message);
    const rec = {
      signature: sig, slot: this.slot, blockTime: Math.floor(Date.now() / 1000), err: res.err, fee, pre, post,
      logs: res.logs, unitsConsumed: res.unitsConsumed, bytes: Buffer.from(bytes), tx, airdrop,
    };
    this.txs.set(sig, rec);
    this.totalFees += fee;
    if (airdrop > 0n) { this.airdropFees += fee; if (res.err === null) { this.airdropped += airdrop; this.airdropCount++; } }
    for (const k of keys) {
      const a = codec.b58encode(k);
      if (!this.byAddress.has(a)) this.byAddress.set(a, []);
      this.byAddress.get(a).push(sig);
    }
    const writable = tx.message.accountKeys.filter((_, i) => this.isWritable(tx.message, i)).map((k) => codec.b58encode(k));
    if (!this.slotTxs.has(this.slot)) this.slotTxs.set(this.slot, []);
    this.slotTxs.get(this.slot).push({ price, writable });
    this.log(`landed ${sig} slot=${this.slot} fee=${fee} err=${JSON.stringify(res.err)}`);
    return rec;
  }

  encodeAccount(acc, encoding, dataSlice, legacyDefault) {
    let data = Buffer.from(acc.data());
    if (dataSlice) {
      const off = Number(dataSlice.offset ?? 0); const len = Number(dataSlice.length ?? 0);
      data = data.subarray(off, off + len);
    }
    let enc;
    switch (encoding ?? (legacyDefault ? 'binary' : 'base64')) {
      case 'binary': case 'base58':
        if (data.length > 128) throw new RpcError(-32600, 'Encoded binary (base 58) data should be less than 128 bytes, please use Base64 encoding.');
        enc = encoding === undefined || encoding === 'binary' ? codec.b58encode(data) : [codec.b58encode(data), 'base58'];
        break;
      case 'base64': case 'jsonParsed': enc = [data.toString('base64'), 'base64']; break;
      default: throw invalidParams(`Invalid params: unknown variant \`${encoding}\`, expected one of \`binary\`, \`base58\`, \`base64\`, \`jsonParsed\``);
    }
    return {
      lamports: acc.lamports(), owner: codec.b58encode(acc.owner()), data: enc,
      executable: acc.executable(), rentEpoch: acc.rentEpoch(), space: acc.data().length,
    };
  }

  getAccount(pubkeyB58) {
    const key = codec.decodePubkey(pubkeyB58);
    if (!key) throw invalidParams('Invalid param: Invalid');
    const acc = this.L.getAccount(key);
    return acc && acc.lamports() > 0n ? acc : null;
  }

  txJson(rec, encoding) {
    if (encoding === 'base64') return [rec.bytes.toString('base64'), 'base64'];
    if (encoding === 'base58') return [codec.b58encode(rec.bytes), 'base58'];
    const m = rec.tx.message;
    const message = {
      accountKeys: m.accountKeys.map((k) => codec.b58encode(k)),
      header: m.header,
      recentBlockhash: codec.b58encode(m.recentBlockhash),
      instructions: m.instructions.map((ix) => ({ programIdIndex: ix.programIdIndex, accounts: ix.accounts, data: codec.b58encode(ix.data), stackHeight: null })),
    };
    if (m.version === 0) message.addressTableLookups = m.lookups.map((l) => ({ accountKey: codec.b58encode(l.key), writableIndexes: l.writable, readonlyIndexes: l.readonly }));
    return { signatures: rec.tx.signatures.map((s) => codec.b58encode(s)), message };
  }

  // --------------------------------------------------------------- methods
  getHealth() { return 'ok'; }
  getVersion() { return { 'solana-core': API_VERSION, 'feature-set': 0, 'qtw-localnet': 'litesvm 1.5.0' }; }
  getSlot(p) { return this.contextSlot(configParam(p, 0)); }
  getBlockHeight(p) { return this.contextSlot(configParam(p, 0)); }
  getGenesisHash() { return this.blockhashBySlot.get(0) ?? codec.b58encode(Buffer.alloc(32)); }
  getEpochInfo(p) {
    const s = this.contextSlot(configParam(p, 0));
    return { absoluteSlot: s, blockHeight: s, epoch: Math.floor(s / 432000), slotIndex: s % 432000, slotsInEpoch: 432000, transactionCount: this.txs.size };
  }

  getLatestBlockhash(p) {
    const s = this.contextSlot(configParam(p, 0));
    return { context: this.ctx(s), value: { blockhash: this.blockhashBySlot.get(s), lastValidBlockHeight: s + MAX_PROCESSING_AGE } };
  }

  isBlockhashValid(p) {
    if (typeof p[0] !== 'string' || !codec.decodePubkey(p[0])) throw invalidParams('Invalid param: Invalid');
    const s = this.contextSlot(configParam(p, 1));
    return { context: this.ctx(s), value: this.blockhashValidAt(p[0], s) };
  }

  getBalance(p) {
    const s = this.contextSlot(configParam(p, 1));
    const acc = this.getAccount(p[0]);
    return { context: this.ctx(s), value: acc ? acc.lamports() : 0n };
  }

  getAccountInfo(p) {
    const c = configParam(p, 1);
    const s = this.contextSlot(c);
    const acc = this.getAccount(p[0]);
    return { context: this.ctx(s), value: acc ? this.encodeAccount(acc, c.encoding, c.dataSlice, true) : null };
  }

  getMultipleAccounts(p) {
    if (!Array.isArray(p[0])) throw invalidParams('Invalid params: invalid type: expected an array of pubkeys');
    if (p[0].length > MAX_MULTIPLE_ACCOUNTS) throw invalidParams(`Too many inputs provided; max ${MAX_MULTIPLE_ACCOUNTS}`);
    const c = configParam(p, 1);
    const s = this.contextSlot(c);
    const accs = p[0].map((k) => this.getAccount(k));
    return { context: this.ctx(s), value: accs.map((a) => (a ? this.encodeAccount(a, c.encoding, c.dataSlice, false) : null)) };
  }

  // agave rpc.rs get_token_accounts_by_owner: filter {mint} or {programId}
  // (one of the two token programs); every initialized token account of
  // that program whose owner field (bytes 32..64) is the owner. Mints and
  // multisigs are not token accounts (length/type byte).
  getTokenAccountsByOwner(p) {
    const owner = codec.decodePubkey(p[0]);
    if (!owner) throw invalidParams('Invalid param: Invalid');
    const filter = p[1];
    if (filter === null || typeof filter !== 'object' || Array.isArray(filter) || (filter.mint === undefined) === (filter.programId === undefined)) {
      throw invalidParams('Invalid params: expected {"mint": <pubkey>} or {"programId": <pubkey>}');
    }
    const c = configParam(p, 2);
    const s = this.contextSlot(c);
    let program; let mint = null;
    if (filter.programId !== undefined) {
      if (!TOKEN_PROGRAMS.has(filter.programId)) throw invalidParams('Invalid param: unrecognized Token program id');
      program = filter.programId;
    } else {
      const m = this.getAccount(filter.mint);
      if (!m) throw invalidParams('Invalid param: could not find mint');
      program = codec.b58encode(m.owner());
      if (!TOKEN_PROGRAMS.has(program)) throw invalidParams('Invalid param: unrecognized Token program id');
      mint = codec.decodePubkey(filter.mint);
    }
    const out = [];
    for (const aa of this.L.getProgramAccounts(codec.decodePubkey(program))) {
      const acc = aa.account();
      const data = Buffer.from(acc.data());
      // A token account: 165 bytes, or longer with account type 2 (Token-2022).
      if (data.length < 165 || (data.length > 165 && data[165] !== 2) || data.length === 355) continue;
      if (data[108] === 0) continue; // uninitialized
      if (!data.subarray(32, 64).equals(owner)) continue;
      if (mint && !data.subarray(0, 32).equals(mint)) continue;
      if (acc.lamports() === 0n) continue;
      out.push({ pubkey: codec.b58encode(Buffer.from(aa.address)), account: this.encodeAccount(acc, c.encoding ?? 'base64', c.dataSlice, false) });
    }
    out.sort((a, b) => (a.pubkey < b.pubkey ? -1 : a.pubkey > b.pubkey ? 1 : 0));
    return { context: this.ctx(s), value: out };
  }

  getMinimumBalanceForRentExemption(p) {
    return this.L.minimumBalanceForRentExemption(bigintParam(p[0] ?? 0, 'data length'));
  }

  getFeeForMessage(p) {
    const c = configParam(p, 1);
    const s = this.contextSlot(c);
    const bytes = this.decodeWire(p[0], 'base64', 'solana_message::versions::VersionedMessage');
    let msg;
    try { msg = codec.parseMessage(bytes); } catch (e) { throw invalidParams(`failed to deserialize solana_message::versions::VersionedMessage: ${e.message}`); }
    // agave Bank::get_fee_for_message falls back to the durable nonce.
    const valid = this.blockhashValidAt(codec.b58encode(msg.recentBlockhash), s) || this.durableNonceOk(msg);
    return { context: this.ctx(s), value: valid ? this.computeFee(msg).fee : null };
  }

  sendTransaction(p) {
    const c = configParam(p, 1);
    const bytes = this.decodeWire(p[0], c.encoding ?? 'base58');
    const tx = this.parseTx(bytes);
    const sig = codec.b58encode(tx.signatures[0]);
    const sigOk = codec.verifyTransaction(tx);
    if (!c.skipPreflight) {
      this.contextSlot({ commitment: c.preflightCommitment, minContextSlot: c.minContextSlot });
      if (!sigOk) throw new RpcError(-32003, 'Transaction signature verification failure');
      const sim = this.simulate(bytes, tx);
      if (sim.err !== null) {
        throw new RpcError(-32002, `Transaction simulation failed: ${txErrorDisplay(sim.err)}`, {
          err: sim.err, logs: sim.logs, accounts: null, unitsConsumed: sim.unitsConsumed, returnData: sim.returnData,
          innerInstructions: null, replacementBlockhash: null, loadedAccountsDataSize: 0,
        });
      }
    }
    // Without preflight a bad signature is dropped by the leader's sigverify
    // stage: the signature is returned but never lands.
    if (sigOk) this.execute(bytes, tx);
    else this.log(`dropped ${sig}: signature verification failed`);
    return sig;
  }

  simulateTransaction(p) {
    const c = configParam(p, 1);
    if (c.sigVerify && c.replaceRecentBlockhash) throw invalidParams('sigVerify may not be used with replaceRecentBlockhash');
    const s = this.contextSlot(c);
    let bytes = this.decodeWire(p[0], c.encoding ?? 'base58');
    let tx = this.parseTx(bytes);
    if (c.sigVerify && !codec.verifyTransaction(tx)) throw new RpcError(-32003, 'Transaction signature verification failure');
    let replacementBlockhash = null;
    if (c.replaceRecentBlockhash) {
      const hash = this.blockhashBySlot.get(this.slot);
      bytes = Buffer.from(bytes);
      // The blockhash follows the version prefix, the 3-byte header and the keys.
      const m = tx.message;
      const msgOff = bytes.length - tx.messageBytes.length;
      const bhOff = msgOff + (m.version === 'legacy' ? 0 : 1) + 3 + codec.encodeShortVec(m.accountKeys.length).length + 32 * m.accountKeys.length;
      codec.b58decode(hash).copy(bytes, bhOff);
      tx = this.parseTx(bytes);
      replacementBlockhash = { blockhash: hash, lastValidBlockHeight: this.slot + MAX_PROCESSING_AGE };
    }
    const sim = this.simulate(bytes, tx);
    let accounts = null;
    if (c.accounts && Array.isArray(c.accounts.addresses)) {
      const post = new Map((sim.postAccounts ?? []).map((aa) => [codec.b58encode(aa.address()), aa.account()]));
      accounts = c.accounts.addresses.map((a) => {
        const acc = post.get(a) ?? this.getAccount(a);
        return acc && acc.lamports() > 0n ? this.encodeAccount(acc, c.accounts.encoding ?? 'base64', null, false) : null;
      });
    }
    return {
      context: this.ctx(s),
      value: {
        err: sim.err, logs: sim.logs, accounts, unitsConsumed: sim.unitsConsumed, returnData: sim.returnData,
        innerInstructions: null, replacementBlockhash, loadedAccountsDataSize: 0, fee: this.computeFee(tx.message).fee,
      },
    };
  }

  getSignatureStatuses(p) {
    if (!Array.isArray(p[0])) throw invalidParams('Invalid params: invalid type: expected an array of signatures');
    if (p[0].length > MAX_SIGNATURE_STATUSES) throw invalidParams(`Too many inputs provided; max ${MAX_SIGNATURE_STATUSES}`);
    const c = configParam(p, 1);
    const value = p[0].map((sig) => {
      const raw = typeof sig === 'string' && sig.length <= 88 ? codec.b58decode(sig) : null;
      if (!raw || raw.length !== 64) throw invalidParams('Invalid param: WrongSize');
      const rec = this.txs.get(sig);
      if (!rec) return null;
      const st = this.statusOf(rec);
      // The recent status cache holds all unrooted slots plus 300 rooted ones.
      if (!c.searchTransactionHistory && rec.slot < this.slot - this.finalizeSlots - MAX_RECENT_BLOCKHASHES) return null;
      return {
        slot: rec.slot, confirmations: st === 'finalized' ? null : this.slot - rec.slot, err: rec.err,
        status: rec.err === null ? { Ok: null } : { Err: rec.err }, confirmationStatus: st,
      };
    });
    return { context: this.ctx(this.slot), value };
  }

  getSignaturesForAddress(p) {
    if (!codec.decodePubkey(p[0])) throw invalidParams('Invalid param: Invalid');
    const c = configParam(p, 1);
    if (['processed', 'recent', 'single'].includes(c.commitment)) throw invalidParams('Method does not support commitment below `confirmed`');
    this.contextSlot(c);
    const limit = c.limit ?? MAX_SIGNATURES_FOR_ADDRESS_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_SIGNATURES_FOR_ADDRESS_LIMIT) throw invalidParams(`Invalid limit; max ${MAX_SIGNATURES_FOR_ADDRESS_LIMIT}`);
    for (const k of ['before', 'until']) {
      if (c[k] !== undefined && c[k] !== null) {
        const raw = codec.b58decode(c[k]);
        if (!raw || raw.length !== 64) throw invalidParams('Invalid param: WrongSize');
      }
    }
    const list = (this.byAddress.get(p[0]) ?? []).filter((sig) => this.meetsCommitment(this.txs.get(sig), c.commitment));
    const out = [];
    let started = !c.before;
    for (let i = list.length - 1; i >= 0 && out.length < limit; i--) {
      const sig = list[i];
      if (c.until && sig === c.until) break;
      if (!started) { if (sig === c.before) started = true; continue; }
      const rec = this.txs.get(sig);
      out.push({ signature: sig, slot: rec.slot, err: rec.err, memo: null, blockTime: rec.blockTime, confirmationStatus: this.statusOf(rec) });
    }
    return out;
  }

  getTransaction(p) {
    const sig = p[0];
    const raw = typeof sig === 'string' ? codec.b58decode(sig) : null;
    if (!raw || raw.length !== 64) throw invalidParams('Invalid param: WrongSize');
    const c = typeof p[1] === 'string' ? { encoding: p[1] } : configParam(p, 1);
    if (['processed', 'recent', 'single'].includes(c.commitment)) throw invalidParams('Method does not support commitment below `confirmed`');
    const rec = this.txs.get(sig);
    if (!rec || !this.meetsCommitment(rec, c.commitment)) return null;
    const version = rec.tx.message.version;
    if (version !== 'legacy' && (c.maxSupportedTransactionVersion === undefined || c.maxSupportedTransactionVersion === null)) {
      throw new RpcError(-32015, `Transaction version (${version}) is not supported by the requesting client. Please try the request again with the following configuration parameter: "maxSupportedTransactionVersion": ${version}`);
    }
    const out = {
      slot: rec.slot, blockTime: rec.blockTime, transaction: this.txJson(rec, c.encoding ?? 'json'),
      meta: {
        err: rec.err, status: rec.err === null ? { Ok: null } : { Err: rec.err }, fee: rec.fee,
        preBalances: rec.pre, postBalances: rec.post, logMessages: rec.logs, innerInstructions: [],
        preTokenBalances: [], postTokenBalances: [], rewards: [], loadedAddresses: { writable: [], readonly: [] },
        computeUnitsConsumed: rec.unitsConsumed,
      },
    };
    if (c.maxSupportedTransactionVersion !== undefined && c.maxSupportedTransactionVersion !== null) out.version = version;
    return out;
  }

  requestAirdrop(p) {
    const to = codec.decodePubkey(p[0]);
    if (!to) throw invalidParams('Invalid param: Invalid');
    const lamports = bigintParam(p[1], 'lamports');
    this.contextSlot(configParam(p, 2));
    if (lamports === 0n) throw new RpcError(-32603, 'Internal error');
    // A unique compute-unit limit per airdrop keeps two equal requests in one
    // slot from being the same transaction (which would be AlreadyProcessed).
    const bh = codec.b58decode(this.blockhashBySlot.get(this.slot));
    const bytes = codec.buildTransfer(this.faucet, to, lamports, bh, { computeUnitLimit: 200_000 + (this.airdropCount % 1_000_000) + this.txs.size });
    const tx = codec.parseTransaction(bytes);
    const rec = this.execute(bytes, tx, { airdrop: lamports });
    if (!rec || rec.err !== null) throw new RpcError(-32603, `Internal error: airdrop failed: ${JSON.stringify(rec ? rec.err : 'dropped')}`);
    return rec.signature;
  }

  getRecentPrioritizationFees(p) {
    const addrs = p[0] ?? [];
    if (!Array.isArray(addrs)) throw invalidParams('Invalid params: invalid type: expected an array of pubkeys');
    if (addrs.length > MAX_PRIORITIZATION_FEE_ADDRESSES) throw invalidParams(`Too many inputs provided; max ${MAX_PRIORITIZATION_FEE_ADDRESSES}`);
    for (const a of addrs) if (!codec.decodePubkey(a)) throw invalidParams('Invalid param: Invalid');
    const out = [];
    for (let s = Math.max(0, this.slot - MAX_PROCESSING_AGE + 1); s <= this.slot; s++) {
      const txs = this.slotTxs.get(s) ?? [];
      let fee = 0n;
      if (txs.length > 0) {
        if (addrs.length === 0) fee = txs.reduce((m, t) => (t.price < m ? t.price : m), txs[0].price);
        else {
          for (const a of addrs) {
            const mine = txs.filter((t) => t.writable.includes(a));
            if (mine.length) { const m = mine.reduce((x, t) => (t.price < x ? t.price : x), mine[0].price); if (m > fee) fee = m; }
          }
        }
      }
      out.push({ slot: s, prioritizationFee: fee });
    }
    return out;
  }

  // Non-standard, tests only: `n` slots (default 1, at most 10,000) pass at
  // once, each with its own blockhash, as the slot timer would make them.
  // Lets a test go past a blockhash's 150-block life in milliseconds.
  qtwAdvanceSlots(p) {
    const n = p[0] === undefined ? 1 : Number(bigintParam(p[0], 'slots'));
    if (n < 1 || n > 10_000) throw invalidParams('Invalid params: slots must be 1..10000');
    for (let i = 0; i < n; i++) this.advance();
    return { slot: this.slot, blockHeight: this.slot };
  }

  // Non-standard: totals for lamport-exact conservation checks in tests.
  qtwLocalnetInfo() {
    return {
      slot: this.slot, blockHeight: this.slot, finalizeSlots: this.finalizeSlots,
      totalFeesCollected: this.totalFees, airdropFeesCollected: this.airdropFees,
      userFeesCollected: this.totalFees - this.airdropFees, airdropped: this.airdropped, airdropCount: this.airdropCount,
      faucet: codec.b58encode(this.faucet.publicKey), faucetBalance: this.balanceOf(this.faucet.publicKey),
      transactionCount: this.txs.size,
    };
  }
}

const METHODS = ['getHealth', 'getVersion', 'getSlot', 'getBlockHeight', 'getGenesisHash', 'getEpochInfo', 'getLatestBlockhash',
  'isBlockhashValid', 'getBalance', 'getAccountInfo', 'getMultipleAccounts', 'getTokenAccountsByOwner', 'getMinimumBalanceForRentExemption',
  'getFeeForMessage', 'sendTransaction', 'simulateTransaction', 'getSignatureStatuses', 'getSignaturesForAddress',
  'getTransaction', 'requestAirdrop', 'getRecentPrioritizationFees', 'qtwLocalnetInfo', 'qtwAdvanceSlots'];

module.exports = { Chain, RpcError, METHODS, MAX_PROCESSING_AGE };
