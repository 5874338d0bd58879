// A Lander process for the multi-host tests and bench: `concurrency` loops
// share `leases` rounds. A round: lease from one of the daemons (round robin;
// on a dead daemon or a 5xx it moves to the next, on 503 it waits
// Retry-After), then (unless --lease-only) has the daemon sign a real
// transfer to `market`, sends it, waits for confirmation, and returns the
// Explorer retired. Prints one JSON summary line on stdout.
//   node lander_worker.mjs --daemons URL[,URL...] --token T --rpc URL --market ADDR
//        --leases N [--concurrency C] [--lamports N] [--lease-only] [--worker I]
import * as kit from '@solana/kit';
import { getTransferSolInstruction } from '@solana-program/system';

const o = { concurrency: 8, lamports: 1000n, leaseOnly: false, worker: 0 };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const v = () => process.argv[++i];
  if (a === '--daemons') o.daemons = v().split(',');
  else if (a === '--token') o.token = v();
  else if (a === '--rpc') o.rpc = v();
  else if (a === '--market') o.market = v();
  else if (a === '--leases') o.leases = Number(v());
  else if (a === '--concurrency') o.concurrency = Number(v());
  else if (a === '--lamports') o.lamports = BigInt(v());
  else if (a === '--lease-only') o.leaseOnly = true;
  else if (a === '--worker') o.worker = Number(v());
  else { process.stderr.write(`lander_worker: unknown argument ${a}\n`); process.exit(2); }
}
const rpc = o.rpc ? kit.createSolanaRpc(o.rpc) : null;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const stats = { leased: [], signed: [], confirmed: 0, failed: 0, dry503: 0, daemonErrors: 0, abandoned: 0 };
let next = 0;
let cursor = o.worker;

async function call(daemon, method, path, body) {
  const res = await fetch(daemon + path, {
    method, headers: { authorization: `Bearer ${o.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body ?? {}), signal: AbortSignal.timeout(15_000),
  });
  const json = await res.json().catch(() => ({}));
  return { status: res.status, json, retryAfter: Number(res.headers.get('retry-after') ?? 1) };
}

// Lease from any live daemon; returns {daemon, lease}.
async function lease() {
  for (let attempt = 0; attempt < 600; attempt++) {
    const daemon = o.daemons[cursor++ % o.daemons.length];
    try {
      const r = await call(daemon, 'POST', '/v1/explorers/lease');
      if (r.status === 200) return { daemon, lease: r.json };
      if (r.status === 503) { stats.dry503++; await sleep(r.retryAfter * 100); continue; }
      stats.daemonErrors++;
    } catch { stats.daemonErrors++; }
    await sleep(50);
  }
  throw new Error('no daemon leased an Explorer for a minute');
}

// One trade. Returns true when it is done (confirmed, or lease-only); a
// trade whose transaction did not land is retried with a fresh Explorer, as
// a real Lander would (the one that signed is never used again).
async function round() {
  const { daemon, lease: l } = await lease();
  stats.leased.push(l.pubkey);
  if (o.leaseOnly) {
    const r = await call(daemon, 'POST', `/v1/explorers/${l.pubkey}/return`, { retire: true });
    if (r.status !== 200) stats.abandoned++;
    return true;
  }
  const confirmedBefore = stats.confirmed;
  try {
    const { value: bh } = await rpc.getLatestBlockhash({ commitment: 'confirmed' }).send();
    const signer = { address: kit.address(l.pubkey), signTransactions: async (txs) => {
      const out = [];
      for (const tx of txs) {
        const r = await call(daemon, 'POST', `/v1/explorers/${l.pubkey}/sign`, { message: Buffer.from(tx.messageBytes).toString('base64') });
        if (r.status !== 200) throw new Error(`sign ${r.status} ${r.json.error}`);
        out.push({ [kit.address(l.pubkey)]: kit.getBase58Encoder().encode(r.json.signature) });
      }
      return out;
    } };
    const msg = kit.pipe(
      kit.createTransactionMessage({ version: 'legacy' }),
      (m) => kit.setTransactionMessageFeePayerSigner(signer, m),
      (m) => kit.setTransactionMessageLifetimeUsingBlockhash(bh, m),
      (m) => kit.appendTransactionMessageInstruction(getTransferSolInstruction({ source: signer, destination: kit.address(o.market), amount: o.lamports }), m),
    );
    const signed = await kit.signTransactionMessageWithSigners(msg);
    const sig = await rpc.sendTransaction(kit.getBase64EncodedWireTransaction(signed), { encoding: 'base64' }).send();
    const entry = [l.pubkey, sig, false];
    stats.signed.push(entry);
    for (let i = 0; i < 300; i++) {
      const { value } = await rpc.getSignatureStatuses([sig]).send();
      if (value[0]?.err) { stats.failed++; break; }
      if (value[0]?.confirmationStatus === 'confirmed' || value[0]?.confirmationStatus === 'finalized') {
        stats.confirmed++;
        entry[2] = true;
        break;
      }
      await sleep(100);
    }
  } catch (e) {
    // The daemon died between lease and sign, or the node refused: the
    // lease ends by its deadline and the key counts as used (I2).
    stats.abandoned++;
    process.stderr.write(`worker ${o.worker}: ${e.message}\n`);
    return false;
  }
  for (let i = 0; i < 100; i++) {
    try {
      const r = await call(daemon, 'POST', `/v1/explorers/${l.pubkey}/return`, { retire: true });
      if (r.status === 200 || r.status === 409 || r.status === 404) break;
    } catch { /* daemon restarting */ }
    await sleep(100);
  }
  return stats.confirmed > confirmedBefore;
}

const started = Date.now();
let done = 0;
let attempts = 0;
await Promise.all(Array.from({ length: o.concurrency }, async () => {
  while (next < o.leases) {
    next++;
    // A trade that did not land is retried (at most 3 times as many tries).
    let ok = false;
    while (!ok && attempts < 3 * o.leases) { attempts++; ok = await round(); }
    if (ok) done++;
  }
}));
stats.done = done;
const seconds = (Date.now() - started) / 1000;
process.stdout.write(JSON.stringify({ worker: o.worker, seconds, leases_per_second: stats.leased.length / seconds, ...stats }) + '\n');
