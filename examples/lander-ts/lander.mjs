#!/usr/bin/env node
// lander-ts: an out-of-process Lander in JavaScript (@solana/kit) against
// `qtw serve` (docs/DAEMON.md). Each round: lease an Explorer over the API,
// build a real transfer with kit, have the daemon sign it (the secret never
// leaves the daemon; it signs one message per Explorer), send it to the node,
// confirm it, return the Explorer retired. Prints one JSON line per round.
//
//   node examples/lander-ts/lander.mjs --daemon http://127.0.0.1:8686 \
//     --token-file token --rpc http://127.0.0.1:8899 --to <address> [--rounds N] [--lamports N]
//
// --daemon unix:/run/qtw/qtw.sock talks to the daemon over its Unix socket.
// --v0 sends versioned (v0) messages whose destination is loaded from an
// address lookup table: first it creates that table (its own authority, paid
// by one leased Explorer, printed as a {"setup": ...} line), then each round
// compresses its message with the table.
//
// Exit code: 0 when every round confirmed, 1 otherwise, 2 on bad usage.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import * as kit from '@solana/kit';
import { getTransferSolInstruction } from '@solana-program/system';

function parseArgs(argv) {
  const o = { rounds: 1, lamports: 1_000_000n };
  for (let i = 0; i < argv.length; i++) {
    const v = () => { if (i + 1 >= argv.length) usage(`missing value for ${argv[i]}`); return argv[++i]; };
    switch (argv[i]) {
      case '--daemon': o.daemon = v(); break;
      case '--token-file': o.token = readFileSync(v(), 'utf8').replace(/\r?\n$/, ''); break;
      case '--rpc': o.rpc = v(); break;
      case '--to': o.to = kit.address(v()); break;
      case '--rounds': o.rounds = Number(v()); break;
      case '--lamports': o.lamports = BigInt(v()); break;
      case '--v0': o.v0 = true; break;
      case '-h': case '--help': usage(); break;
      default: usage(`unknown argument ${argv[i]}`);
    }
  }
  if (!o.daemon || !o.token || !o.rpc || !o.to) usage('--daemon, --token-file, --rpc and --to are required');
  return o;
}
function usage(why) {
  if (why) process.stderr.write(`lander-ts: ${why}\n`);
  process.stderr.write('usage: lander.mjs --daemon URL|unix:PATH --token-file F --rpc URL --to ADDRESS [--rounds N] [--lamports N] [--v0]\n');
  process.exit(why ? 2 : 0);
}

// One HTTP request to the daemon: fetch for http://, node:http with
// socketPath for unix:PATH (fetch cannot use a Unix socket).
function request(daemon, method, path, headers, body) {
  if (!daemon.startsWith('unix:')) {
    return fetch(daemon + path, { method, headers, body })
      .then(async (res) => ({ status: res.status, text: await res.text() }));
  }
  return new Promise((resolve, reject) => {
    const data = Buffer.from(body);
    const req = http.request({ socketPath: daemon.slice(5), method, path,
      headers: { ...headers, 'content-length': data.length } }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

// The daemon API. Throws with the daemon's reason on any non-2xx.
function api(o) {
  return async (method, path, body) => {
    const res = await request(o.daemon, method, path,
      { authorization: `Bearer ${o.token}`, 'content-type': 'application/json' },
      body === undefined ? '{}' : JSON.stringify(body));
    let json = {};
    try { json = JSON.parse(res.text); } catch { /* not JSON */ }
    if (res.status < 200 || res.status > 299) {
      throw Object.assign(new Error(`${method} ${path}: ${res.status} ${json.error ?? ''}`), { status: res.status });
    }
    return json;
  };
}

// A kit TransactionPartialSigner whose private key lives in the daemon.
function daemonSigner(call, pubkey) {
  const addr = kit.address(pubkey);
  return {
    address: addr,
    async signTransactions(transactions) {
      const out = [];
      for (const tx of transactions) {
        const message = Buffer.from(tx.messageBytes).toString('base64');
        const { signature } = await call('POST', `/v1/explorers/${pubkey}/sign`, { message });
        out.push({ [addr]: kit.getBase58Encoder().encode(signature) });
      }
      return out;
    },
  };
}

// Signs (daemon and local signers), sends, waits for confirmation.
async function sendAndConfirm(rpc, msg) {
  const signed = await kit.signTransactionMessageWithSigners(msg);
  const signature = await rpc.sendTransaction(kit.getBase64EncodedWireTransaction(signed), { encoding: 'base64' }).send();
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const { value } = await rpc.getSignatureStatuses([signature]).send();
    const s = value[0];
    if (s && s.err) return { signature, ok: false };
    if (s && (s.confirmationStatus === 'confirmed' || s.confirmationStatus === 'finalized')) return { signature, ok: true };
    await new Promise((r) => setTimeout(r, 100));
  }
  return { signature, ok: false };
}

const ALT = kit.address('AddressLookupTab1e1111111111111111111111111');
const SYSTEM = kit.address('11111111111111111111111111111111');
const u64 = (v) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); return b; };

// --v0: a lookup table holding --to, created and extended in one transaction
// whose fee and rent a leased Explorer pays; the table's authority is a key
// of this Lander (an Explorer may not be a table authority: the daemon's
// policy refuses that).
async function createLookupTable(o, call, rpc) {
  const lease = await call('POST', '/v1/explorers/lease');
  const payer = daemonSigner(call, lease.pubkey);
  const authority = await kit.generateKeyPairSigner();
  try {
    const slot = (await rpc.getSlot({ commitment: 'processed' }).send()) - 1n;
    const enc = kit.getAddressEncoder();
    const [table, bump] = await kit.getProgramDerivedAddress({ programAddress: ALT, seeds: [enc.encode(authority.address), u64(slot)] });
    const R = kit.AccountRole;
    // solana-address-lookup-table-interface instruction.rs: CreateLookupTable
    // {recent_slot, bump_seed} [table W, authority, payer S W, system];
    // ExtendLookupTable {new_addresses} [table W, authority S, payer S W, system].
    const create = { programAddress: ALT, data: Buffer.concat([Buffer.from([0, 0, 0, 0]), u64(slot), Buffer.from([bump])]), accounts: [
      { address: table, role: R.WRITABLE }, { address: authority.address, role: R.READONLY },
      { address: payer.address, role: R.WRITABLE_SIGNER, signer: payer }, { address: SYSTEM, role: R.READONLY }] };
    const extend = { programAddress: ALT, data: Buffer.concat([Buffer.from([2, 0, 0, 0]), u64(1), Buffer.from(enc.encode(o.to))]), accounts: [
      { address: table, role: R.WRITABLE }, { address: authority.address, role: R.READONLY_SIGNER, signer: authority },
      { address: payer.address, role: R.WRITABLE_SIGNER, signer: payer }, { address: SYSTEM, role: R.READONLY }] };
    const { value: bh } = await rpc.getLatestBlockhash({ commitment: 'confirmed' }).send();
    const msg = kit.pipe(kit.createTransactionMessage({ version: 0 }),
      (m) => kit.setTransactionMessageFeePayerSigner(payer, m),
      (m) => kit.setTransactionMessageLifetimeUsingBlockhash(bh, m),
      (m) => kit.appendTransactionMessageInstructions([create, extend], m));
    const { signature, ok } = await sendAndConfirm(rpc, msg);
    // Extended addresses are usable from the next slot on.
    const at = await rpc.getSlot({ commitment: 'processed' }).send();
    for (let i = 0; i < 100 && (await rpc.getSlot({ commitment: 'processed' }).send()) <= at; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    return { setup: 'lookup_table', table, explorer: lease.pubkey, signature, confirmed: ok };
  } finally {
    await call('POST', `/v1/explorers/${lease.pubkey}/return`, { retire: true });
  }
}

async function round(o, call, rpc) {
  const lease = await call('POST', '/v1/explorers/lease');
  const signer = daemonSigner(call, lease.pubkey);
  let ok = false;
  let signature = null;
  try {
    const { value: bh } = await rpc.getLatestBlockhash({ commitment: 'confirmed' }).send();
    let msg = kit.pipe(
      kit.createTransactionMessage({ version: o.table ? 0 : 'legacy' }),
      (m) => kit.setTransactionMessageFeePayerSigner(signer, m),
      (m) => kit.setTransactionMessageLifetimeUsingBlockhash(bh, m),
      (m) => kit.appendTransactionMessageInstruction(
        getTransferSolInstruction({ source: signer, destination: o.to, amount: o.lamports }), m),
    );
    // v0: the destination is loaded from the lookup table.
    if (o.table) msg = kit.compressTransactionMessageUsingAddressLookupTables(msg, { [o.table]: [o.to] });
    ({ signature, ok } = await sendAndConfirm(rpc, msg));
  } finally {
    // Retired whatever happened: once the daemon signed, it counts as used.
    await call('POST', `/v1/explorers/${lease.pubkey}/return`, { retire: true });
  }
  return { explorer: lease.pubkey, lease_id: lease.lease_id, signature, confirmed: ok };
}

const o = parseArgs(process.argv.slice(2));
const call = api(o);
const rpc = kit.createSolanaRpc(o.rpc);
let failures = 0;
if (o.v0) {
  const setup = await createLookupTable(o, call, rpc);
  process.stdout.write(JSON.stringify(setup) + '\n');
  if (!setup.confirmed) process.exit(1);
  o.table = setup.table;
}
for (let i = 0; i < o.rounds; i++) {
  let r;
  for (let attempt = 0; ; attempt++) {
    try { r = await round(o, call, rpc); break; } catch (e) {
      if (e.status === 503 && attempt < 100) { await new Promise((res) => setTimeout(res, 200)); continue; }
      // 409: the lease ended under us (the daemon restarted: it ends every
      // lease it held as used). Lease again, a bounded number of times.
      if (e.status === 409 && attempt < 5) continue;
      r = { error: e.message }; break;
    }
  }
  if (!r.confirmed) failures++;
  process.stdout.write(JSON.stringify(r) + '\n');
}
process.exit(failures === 0 ? 0 : 1);
