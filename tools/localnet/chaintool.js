#!/usr/bin/env node
'use strict';
// Test-rig client for the local node: builds, signs and sends the token and
// hostile-Lander transactions the recovery tests and the demo need, with
// raw instructions (SPL Token / Token-2022 / ATA / System layouts; no SDK).
// Every transaction is a real one the runtime executes.
//
//   chaintool.js --rpc URL create-mint --payer KEYFILE [--program token|token-2022]
//                [--decimals 6] [--transfer-fee-bps N] [--max-fee N]        -> mint address
//   chaintool.js --rpc URL mint-to --payer KEYFILE --mint M --owner O --amount N [--program P]
//                                                                           -> owner's ATA
//   chaintool.js --rpc URL freeze --payer KEYFILE --mint M --owner O [--program P]
//   chaintool.js --rpc URL lander --explorer KEYFILE [--mm KEYFILE]
//                [--buy MINT:PROGRAM:DECIMALS:AMOUNT]... [--empty MINT:PROGRAM]... [--wrap LAMPORTS]
//       one Lander transaction: the Explorer creates its ATA per mint (paying
//       the rent) and the market maker sends it AMOUNT tokens, as a buy would;
//       --wrap puts LAMPORTS into its wrapped-SOL account (SyncNative)
//   chaintool.js --rpc URL strand --explorer KEYFILE --how assign|allocate|nonce-self|nonce-stranger
//   chaintool.js --rpc URL holdings --owner O[,O...] -> {"lamports", "tokens":[{pubkey, program, mint, amount, lamports, state}]}
//                                                     (several owners: {"<owner>": {...}})
//   chaintool.js ata --owner O --mint M [--program P]                        -> address (offline)
// Programs: token = TokenkegQ..., token-2022 = TokenzQd... (or the address).
// Exit: 0 ok, 1 the node refused or the transaction failed, 2 bad usage.
const crypto = require('node:crypto');
const fs = require('node:fs');
const codec = require('./lib/codec');

const B = (s) => codec.decodePubkey(s);
const TOKEN = 'TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA';
const TOKEN_2022 = 'TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb';
const ATA_PROGRAM = 'ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL';
const NATIVE_MINT = 'So11111111111111111111111111111111111111112';
const SYSTEM = '11111111111111111111111111111111';
const SYSVAR_RENT = 'SysvarRent111111111111111111111111111111111';
const SYSVAR_RECENT_BLOCKHASHES = 'SysvarRecentB1ockHashes11111111111111111111';

function usage(msg) { process.stderr.write(`chaintool: ${msg}\n`); process.exit(2); }
function program(name) {
  if (name === undefined || name === 'token') return TOKEN;
  if (name === 'token-2022') return TOKEN_2022;
  if (name === TOKEN || name === TOKEN_2022) return name;
  return usage(`unknown token program ${name}`);
}

// ---- ed25519 on-curve test (curve25519-dalek CompressedEdwardsY::decompress)
const P = (1n << 255n) - 19n;
const modp = (x) => ((x % P) + P) % P;
function powmod(b, e) { let r = 1n; b = modp(b); while (e > 0n) { if (e & 1n) r = (r * b) % P; b = (b * b) % P; e >>= 1n; } return r; }
const D = modp(-121665n * powmod(121666n, P - 2n));
function onCurve(bytes) {
  let y = 0n;
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(i === 31 ? bytes[i] & 0x7f : bytes[i]);
  const y2 = modp(y * y);
  const w = modp((y2 - 1n) * (D * y2 + 1n));
  return w === 0n || powmod(w, (P - 1n) / 2n) === 1n;
}
function findPda(seeds, programId) {
  for (let bump = 255; bump >= 0; bump--) {
    const h = crypto.createHash('sha256');
    for (const s of seeds) h.update(s);
    h.update(Buffer.from([bump])); h.update(programId); h.update('ProgramDerivedAddress');
    const out = h.digest();
    if (!onCurve(out)) return out;
  }
  throw new Error('no bump');
}
function ata(owner, mint, prog) { return findPda([owner, B(prog), mint], B(ATA_PROGRAM)); }

// ---- messages
const meta = (pubkey, signer, writable) => ({ pubkey: Buffer.from(pubkey), signer, writable });
function compile(payer, ixs, blockhash) {
  const keys = new Map();
  const add = (pk, signer, writable) => {
    const k = codec.b58encode(pk);
    const e = keys.get(k) ?? { pubkey: Buffer.from(pk), signer: false, writable: false };
    e.signer = e.signer || signer; e.writable = e.writable || writable; keys.set(k, e);
  };
  add(payer, true, true);
  for (const ix of ixs) { for (const a of ix.keys) add(a.pubkey, a.signer, a.writable); add(ix.programId, false, false); }
  const all = [...keys.values()];
  const rank = (k) => (k.signer ? (k.writable ? 0 : 1) : (k.writable ? 2 : 3));
  const payerB58 = codec.b58encode(payer);
  const ordered = [all.find((k) => codec.b58encode(k.pubkey) === payerB58), ...all.filter((k) => codec.b58encode(k.pubkey) !== payerB58).sort((a, b) => rank(a) - rank(b))];
  const index = new Map(ordered.map((k, i) => [codec.b58encode(k.pubkey), i]));
  const compiled = ixs.map((ix) => ({ programIndex: index.get(codec.b58encode(ix.programId)), accounts: ix.keys.map((a) => index.get(codec.b58encode(a.pubkey))), data: ix.data }));
  return { bytes: codec.buildLegacyMessage(ordered, blockhash, compiled), signers: ordered.filter((k) => k.signer).map((k) => codec.b58encode(k.pubkey)) };
}

// ---- instructions
const u16 = (n) => { const b = Buffer.alloc(2); b.writeUInt16LE(n); return b; };
const sys = {
  createAccount: (from, to, lamports, space, owner) => ({ programId: B(SYSTEM), keys: [meta(from, true, true), meta(to, true, true)], data: Buffer.concat([codec.u32le(0), codec.u64le(lamports), codec.u64le(space), owner]) }),
  transfer: (from, to, lamports) => ({ programId: B(SYSTEM), keys: [meta(from, true, true), meta(to, false, true)], data: Buffer.concat([codec.u32le(2), codec.u64le(lamports)]) }),
  assign: (acct, owner) => ({ programId: B(SYSTEM), keys: [meta(acct, true, true)], data: Buffer.concat([codec.u32le(1), owner]) }),
  allocate: (acct, space) => ({ programId: B(SYSTEM), keys: [meta(acct, true, true)], data: Buffer.concat([codec.u32le(8), codec.u64le(space)]) }),
  initializeNonce: (nonce, authority) => ({ programId: B(SYSTEM), keys: [meta(nonce, false, true), meta(B(SYSVAR_RECENT_BLOCKHASHES), false, false), meta(B(SYSVAR_RENT), false, false)], data: Buffer.concat([codec.u32le(6), authority]) }),
};
const tok = {
  initializeMint2: (prog, mint, decimals, authority) => ({ programId: B(prog), keys: [meta(mint, false, true)], data: Buffer.concat([Buffer.from([20, decimals]), authority, Buffer.from([1]), authority]) }),
  initializeTransferFee: (mint, authority, bps, maxFee) => ({ programId: B(TOKEN_2022), keys: [meta(mint, false, true)], data: Buffer.concat([Buffer.from([26, 0, 1]), authority, Buffer.from([1]), authority, u16(bps), codec.u64le(maxFee)]) }),
  mintToChecked: (prog, mint, account, authority, amount, decimals) => ({ programId: B(prog), keys: [meta(mint, false, true), meta(account, false, true), meta(authority, true, false)], data: Buffer.concat([Buffer.from([14]), codec.u64le(amount), Buffer.from([decimals])]) }),
  freeze: (prog, account, mint, authority) => ({ programId: B(prog), keys: [meta(account, false, true), meta(mint, false, false), meta(authority, true, false)], data: Buffer.from([10]) }),
  transferChecked: (prog, src, mint, dst, owner, amount, decimals) => ({ programId: B(prog), keys: [meta(src, false, true), meta(mint, false, false), meta(dst, false, true), meta(owner, true, false)], data: Buffer.concat([Buffer.from([12]), codec.u64le(amount), Buffer.from([decimals])]) }),
  syncNative: (prog, account) => ({ programId: B(prog), keys: [meta(account, false, true)], data: Buffer.from([17]) }),
  createAtaIdempotent: (payer, owner, mint, prog) => ({ programId: B(ATA_PROGRAM), keys: [meta(payer, true, true), meta(ata(owner, mint, prog), false, true), meta(owner, false, false), meta(mint, false, false), meta(B(SYSTEM), false, false), meta(B(prog), false, false)], data: Buffer.from([1]) }),
};

// ---- RPC
let RPC = null;
async function rpc(method, params) {
  const res = await fetch(RPC, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
  const j = await res.json();
  if (j.error) { const e = new Error(`${method}: ${j.error.message}${j.error.data ? ' ' + JSON.stringify(j.error.data.err ?? '') : ''}`); e.rpc = j.error; throw e; }
  return j.result;
}
function readKeypair(path) {
  const bytes = Buffer.from(JSON.parse(fs.readFileSync(path, 'utf8')));
  if (bytes.length !== 64) usage(`${path} is not a 64-byte keypair file`);
  return codec.keypairFromSeed(bytes.subarray(0, 32));
}
async function send(payer, ixs, signers) {
  const bh = await rpc('getLatestBlockhash', [{ commitment: 'confirmed' }]);
  const { bytes, signers: need } = compile(payer.publicKey, ixs, codec.b58decode(bh.value.blockhash));
  const bySig = new Map(signers.map((s) => [codec.b58encode(s.publicKey), s]));
  const ordered = need.map((k) => { const s = bySig.get(k); if (!s) throw new Error(`missing signer ${k}`); return s; });
  const wire = codec.signTransaction(bytes, ordered);
  const sig = await rpc('sendTransaction', [wire.toString('base64'), { encoding: 'base64', preflightCommitment: 'confirmed' }]);
  for (let i = 0; i < 150; i++) {
    const st = (await rpc('getSignatureStatuses', [[sig]])).value[0];
    if (st && st.err) throw new Error(`transaction ${sig} failed: ${JSON.stringify(st.err)}`);
    if (st && (st.confirmationStatus === 'confirmed' || st.confirmationStatus === 'finalized')) return sig;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`transaction ${sig} not confirmed`);
}

// ---- commands
function parse(argv) {
  const o = { multi: {} };
  const positional = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) { positional.push(a); continue; }
    const k = a.slice(2);
    if (i + 1 >= argv.length) usage(`missing value for ${a}`);
    const v = argv[++i];
    if (k === 'buy' || k === 'empty') (o.multi[k] ??= []).push(v); else o[k] = v;
  }
  o.cmd = positional[0];
  return o;
}
const need = (o, k) => { if (o[k] === undefined) usage(`${o.cmd} needs --${k}`); return o[k]; };
const pk = (s, what) => { const b = B(s); if (!b) usage(`bad ${what} ${s}`); return b; };

async function main() {
  const o = parse(process.argv.slice(2));
  if (o.cmd === 'ata') {
    console.log(codec.b58encode(ata(pk(need(o, 'owner'), 'owner'), pk(need(o, 'mint'), 'mint'), program(o.program))));
    return;
  }
  RPC = need(o, 'rpc');
  switch (o.cmd) {
    case 'create-mint': {
      const payer = readKeypair(need(o, 'payer'));
      const mint = codec.keypairFromSeed(crypto.randomBytes(32));
      const bps = o['transfer-fee-bps'] === undefined ? null : Number(o['transfer-fee-bps']);
      const prog = bps === null ? program(o.program) : TOKEN_2022;
      const decimals = Number(o.decimals ?? 6);
      const space = bps === null ? 82 : 165 + 1 + 4 + 108;
      const rent = BigInt(await rpc('getMinimumBalanceForRentExemption', [space]));
      const ixs = [sys.createAccount(payer.publicKey, mint.publicKey, rent, space, B(prog))];
      if (bps !== null) ixs.push(tok.initializeTransferFee(mint.publicKey, payer.publicKey, bps, BigInt(o['max-fee'] ?? '1000000000')));
      ixs.push(tok.initializeMint2(prog, mint.publicKey, decimals, payer.publicKey));
      await send(payer, ixs, [payer, mint]);
      console.log(codec.b58encode(mint.publicKey));
      return;
    }
    case 'mint-to': {
      const payer = readKeypair(need(o, 'payer'));
      const mint = pk(need(o, 'mint'), 'mint'); const owner = pk(need(o, 'owner'), 'owner');
      const prog = program(o.program);
      const info = await rpc('getAccountInfo', [codec.b58encode(mint), { encoding: 'base64' }]);
      const decimals = Buffer.from(info.value.data[0], 'base64')[44];
      await send(payer, [tok.createAtaIdempotent(payer.publicKey, owner, mint, prog), tok.mintToChecked(prog, mint, ata(owner, mint, prog), payer.publicKey, BigInt(need(o, 'amount')), decimals)], [payer]);
      console.log(codec.b58encode(ata(owner, mint, prog)));
      return;
    }
    case 'freeze': {
      const payer = readKeypair(need(o, 'payer'));
      const mint = pk(need(o, 'mint'), 'mint'); const owner = pk(need(o, 'owner'), 'owner');
      const prog = program(o.program);
      await send(payer, [tok.freeze(prog, ata(owner, mint, prog), mint, payer.publicKey)], [payer]);
      return;
    }
    case 'lander': {
      const ex = readKeypair(need(o, 'explorer'));
      const mm = o.mm ? readKeypair(o.mm) : null;
      const ixs = []; const signers = [ex];
      for (const spec of o.multi.buy ?? []) {
        const [m, p, d, amount] = spec.split(':');
        if (!mm) usage('--buy needs --mm');
        const mint = pk(m, 'mint'); const prog = program(p);
        ixs.push(tok.createAtaIdempotent(ex.publicKey, ex.publicKey, mint, prog));
        ixs.push(tok.transferChecked(prog, ata(mm.publicKey, mint, prog), mint, ata(ex.publicKey, mint, prog), mm.publicKey, BigInt(amount), Number(d)));
        if (!signers.includes(mm)) signers.push(mm);
      }
      for (const spec of o.multi.empty ?? []) {
        const [m, p] = spec.split(':');
        ixs.push(tok.createAtaIdempotent(ex.publicKey, ex.publicKey, pk(m, 'mint'), program(p)));
      }
      if (o.wrap !== undefined) {
        const native = B(NATIVE_MINT); const w = ata(ex.publicKey, native, TOKEN);
        ixs.push(tok.createAtaIdempotent(ex.publicKey, ex.publicKey, native, TOKEN), sys.transfer(ex.publicKey, w, BigInt(o.wrap)), tok.syncNative(TOKEN, w));
      }
      if (ixs.length === 0) usage('lander needs --buy, --empty or --wrap');
      console.log(await send(ex, ixs, signers));
      return;
    }
    case 'strand': {
      const ex = readKeypair(need(o, 'explorer'));
      const how = need(o, 'how');
      let ixs;
      if (how === 'assign') ixs = [sys.assign(ex.publicKey, B('Stake11111111111111111111111111111111111111'))];
      else if (how === 'allocate') ixs = [sys.allocate(ex.publicKey, 64)];
      else if (how === 'nonce-self' || how === 'nonce-stranger') {
        const authority = how === 'nonce-self' ? ex.publicKey : codec.keypairFromSeed(crypto.randomBytes(32)).publicKey;
        ixs = [sys.allocate(ex.publicKey, 80), sys.initializeNonce(ex.publicKey, authority)];
      } else return usage(`unknown --how ${how}`);
      console.log(await send(ex, ixs, [ex]));
      return;
    }
    case 'holdings': {
      // One owner: {lamports, tokens}; a comma-separated list: {owner: {...}}.
      const owners = need(o, 'owner').split(',');
      const out = {};
      for (const owner of owners) {
        const lamports = (await rpc('getBalance', [owner, { commitment: 'confirmed' }])).value;
        const tokens = [];
        for (const prog of [TOKEN, TOKEN_2022]) {
          const r = await rpc('getTokenAccountsByOwner', [owner, { programId: prog }, { encoding: 'base64', commitment: 'confirmed' }]);
          for (const { pubkey, account } of r.value) {
            const d = Buffer.from(account.data[0], 'base64');
            tokens.push({ pubkey, program: prog, mint: codec.b58encode(d.subarray(0, 32)), amount: d.readBigUInt64LE(64).toString(), lamports: account.lamports, state: d[108] });
          }
        }
        out[owner] = { lamports, tokens };
      }
      console.log(JSON.stringify(owners.length === 1 ? out[owners[0]] : out));
      return;
    }
    default: usage(`unknown command ${o.cmd ?? '(none)'}`);
  }
}

main().catch((e) => { process.stderr.write(`chaintool: ${e.message}\n`); process.exit(1); });
