// Shared plumbing of the crash harness (chaos.mjs) and the soak run
// (soak.mjs): child processes that print `READY <url>`, the qtw CLI, JSON-RPC
// (batched) to the local node, a free loopback port, a seeded PRNG, and a
// Lander that trades through `qtw serve` (lease, sign one transfer, send it
// to the node, wait for it, return the Explorer retired), as
// tests/integration/multihost/lander_worker.mjs does.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { createWriteStream } from 'node:fs';
import * as kit from '@solana/kit';
import { getTransferSolInstruction } from '@solana-program/system';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Replayable randomness (--seed): the fault proxy's seeded PRNG.
export const { prng } = createRequire(import.meta.url)('../faultproxy/proxy.js');

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

// Starts a process; `ready` resolves with the URL of its `READY <url>` line.
// stdout/stderr go to `logPath` too; `onLine(line)` sees every stderr line.
export function startProcess(cmd, args, { env, logPath, onLine } = {}) {
  const p = spawn(cmd, args, { env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = logPath ? createWriteStream(logPath, { flags: 'a' }) : null;
  let out = '';
  let errTail = '';
  let partial = '';
  p.stderr.on('data', (d) => {
    log?.write(d);
    errTail = (errTail + d).slice(-4000);
    if (!onLine) return;
    partial += d;
    let nl;
    while ((nl = partial.indexOf('\n')) >= 0) {
      onLine(partial.slice(0, nl));
      partial = partial.slice(nl + 1);
    }
  });
  const exited = new Promise((resolve) => p.on('exit', (code, signal) => { log?.end(); resolve({ code, signal }); }));
  const ready = new Promise((resolve, reject) => {
    p.stdout.on('data', (d) => {
      log?.write(d);
      out += d;
      const m = out.match(/READY (\S+)/);
      if (m) resolve(m[1]);
    });
    exited.then(({ code, signal }) => reject(new Error(`${cmd} ${args[0] ?? ''} exited ${code ?? signal}: ${errTail}`)));
  });
  ready.catch(() => {});
  return { p, ready, exited, errTail: () => errTail };
}

// Runs the qtw CLI; resolves {code, stdout, stderr} (never rejects).
export function qtwRun(qtw, args, env) {
  return new Promise((resolve) => {
    const p = spawn(qtw, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

// JSON-RPC to the node: one call, or many as batches of `chunk`.
export async function rpcCall(url, method, params = []) {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
  const j = await r.json();
  if (j.error) throw new Error(`${method}: ${JSON.stringify(j.error)}`);
  return j.result;
}
export async function rpcBatch(url, calls, chunk = 100) {
  const out = [];
  for (let i = 0; i < calls.length; i += chunk) {
    const part = calls.slice(i, i + chunk).map(([method, params], k) => ({ jsonrpc: '2.0', id: i + k, method, params }));
    const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(part) });
    const j = await r.json();
    j.sort((a, b) => a.id - b.id);
    for (const e of j) {
      if (e.error) throw new Error(`${part[e.id - i].method}: ${JSON.stringify(e.error)}`);
      out.push(e.result);
    }
  }
  return out;
}

export function quantile(values, q) {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
}

export function table(header, rows) {
  const w = header.map((h, i) => Math.max(String(h).length, ...rows.map((r) => String(r[i] ?? '').length)));
  const line = (cells) => cells.map((c, i) => String(c ?? '').padEnd(w[i])).join('  ').trimEnd();
  return [line(header), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n');
}

// A Lander: trades until stop() through the daemons given by `daemons()`
// (a function: the harness restarts them). Everything it saw is in `stats`;
// `onLease(daemonIndex, ms)` is told of every lease served.
export class Lander {
  constructor({ id, daemons, token, nodeUrl, market, lamports = 1000n, onLease, holdMs = 0 }) {
    Object.assign(this, { id, daemons, token, nodeUrl, market, lamports, onLease, holdMs });
    this.rpc = kit.createSolanaRpc(nodeUrl);
    this.stopping = false;
    this.cursor = id;
    this.stats = { leases: 0, dry503: 0, daemonErrors: 0, signed: 0, confirmed: 0, notLanded: 0, abandoned: 0,
      signedBy: new Map(), leaseLatencyMs: [] };
  }

  async call(url, method, path, body) {
    const res = await fetch(url + path, {
      method, headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body ?? {}), signal: AbortSignal.timeout(10_000),
    });
    const json = await res.json().catch(() => ({}));
    return { status: res.status, json, retryAfter: Number(res.headers.get('retry-after') ?? 1) };
  }

  async lease() {
    while (!this.stopping) {
      const list = this.daemons();
      const i = this.cursor++ % list.length;
      const t0 = performance.now();
      try {
        const r = await this.call(list[i], 'POST', '/v1/explorers/lease');
        if (r.status === 200) {
          const ms = performance.now() - t0;
          this.stats.leases++;
          this.stats.leaseLatencyMs.push(ms);
          this.onLease?.(i, ms);
          return { url: list[i], lease: r.json };
        }
        if (r.status === 503) { this.stats.dry503++; await sleep(50); continue; }
        this.stats.daemonErrors++;
      } catch { this.stats.daemonErrors++; }
      await sleep(20);  // a daemon restarting: try again soon
    }
    return null;
  }

  // One trade; false when it did not end confirmed.
  async trade() {
    const got = await this.lease();
    if (!got) return false;
    const { url, lease } = got;
    const pk = lease.pubkey;
    let ok = false;
    try {
      const { value: bh } = await this.rpc.getLatestBlockhash({ commitment: 'confirmed' }).send();
      const signer = { address: kit.address(pk), signTransactions: async (txs) => {
        const out = [];
        for (const tx of txs) {
          const r = await this.call(url, 'POST', `/v1/explorers/${pk}/sign`, { message: Buffer.from(tx.messageBytes).toString('base64') });
          if (r.status !== 200) throw new Error(`sign ${r.status} ${r.json.error}`);
          this.stats.signed++;
          this.stats.signedBy.set(pk, (this.stats.signedBy.get(pk) ?? 0) + 1);
          out.push({ [kit.address(pk)]: kit.getBase58Encoder().encode(r.json.signature) });
        }
        return out;
      } };
      const msg = kit.pipe(
        kit.createTransactionMessage({ version: 'legacy' }),
        (m) => kit.setTransactionMessageFeePayerSigner(signer, m),
        (m) => kit.setTransactionMessageLifetimeUsingBlockhash(bh, m),
        (m) => kit.appendTransactionMessageInstruction(getTransferSolInstruction({ source: signer, destination: kit.address(this.market), amount: this.lamports }), m),
      );
      const signed = await kit.signTransactionMessageWithSigners(msg);
      const sig = await this.rpc.sendTransaction(kit.getBase64EncodedWireTransaction(signed), { encoding: 'base64' }).send();
      for (let i = 0; i < 150 && !ok; i++) {
        const { value } = await this.rpc.getSignatureStatuses([sig]).send();
        if (value[0]?.err) break;
        if (value[0]?.confirmationStatus === 'confirmed' || value[0]?.confirmationStatus === 'finalized') ok = true;
        else await sleep(100);
      }
      if (ok) this.stats.confirmed++; else this.stats.notLanded++;
      if (this.holdMs > 0) await sleep(this.holdMs);
    } catch {
      // The daemon died between lease and sign: the lease ends by its
      // deadline and the key counts as used (I2).
      this.stats.abandoned++;
    }
    // Return it retired. A restarted daemon ended the lease as used (409):
    // nothing more to do, the next trade leases again.
    for (let i = 0; i < 100; i++) {
      try {
        const r = await this.call(url, 'POST', `/v1/explorers/${pk}/return`, { retire: true });
        if (r.status === 200 || r.status === 409 || r.status === 404) break;
      } catch { /* restarting */ }
      await sleep(50);
    }
    return ok;
  }

  async run() {
    while (!this.stopping) await this.trade();
  }
}
