#!/usr/bin/env node
// bench/lifecycle: what one Explorer lifecycle costs through `qtw serve`,
// beside the naive @solana/kit script a user would write instead, in one run
// on the local node (tools/localnet). Prints one table with ratios.
//
//   QTW=build/apps/qtw/qtw node bench/lifecycle.mjs [--lifecycles 200]
//       [--landers 2] [--naive 20] [--fund 1000] [--api-ops 400]
//       [--interval-ms 1000] [--smoke]
//
// 1. qtw serve + out-of-process Landers (tests/integration/multihost/
//    lander_worker.mjs: lease, the daemon signs a real transfer, send,
//    confirm, return retired) for --lifecycles trades; the balancer creates,
//    funds and recovers the Explorers. The wallet reaches the node through
//    its own counting proxy (tools/faultproxy), the Landers directly, so the
//    wallet's JSON-RPC HTTP requests are counted apart. Fees come from the
//    wallet's confirmed intents (funding and recovery only).
// 2. The naive mode: one funding transfer per transaction, poll each,
//    the Lander transfer, drain each; through a second counting proxy.
// 3. `qtw balance` with a config asking for --fund Explorers: one cycle,
//    timed (process start to exit).
// 4. lease + sign + return against the daemon with 1 and 8 clients over TCP
//    and over the Unix socket (bench/lifecycle_client.mjs): rate and p50.
//
// --interval-ms: the daemon's balancer period (the shipped default is 2000;
// 1000 is kept as this bench's default so its figures compare across runs).
// The wallet's requests are per cycle, so requests per lifecycle follow the
// lifecycles one cycle serves.
// --smoke: a few of each (seconds); for CI, which checks only that the
// table is printed, never the figures.
import { spawnSync } from 'node:child_process';
import { startProcess } from '../tests/support/node/processes.mjs';
import { mkdtempSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as kit from '@solana/kit';
import { getTransferSolInstruction } from '@solana-program/system';

const HERE = dirname(fileURLToPath(import.meta.url));
const SRC = join(HERE, '..');
const QTW = process.env.QTW ?? join(SRC, 'build/apps/qtw/qtw');
const o = { lifecycles: 200, landers: 2, naive: 20, fund: 1000, apiOps: 400, intervalMs: 1000, keep: false };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const v = () => Number(process.argv[++i]);
  if (a === '--lifecycles') o.lifecycles = v();
  else if (a === '--landers') o.landers = v();
  else if (a === '--naive') o.naive = v();
  else if (a === '--fund') o.fund = v();
  else if (a === '--api-ops') o.apiOps = v();
  else if (a === '--interval-ms') o.intervalMs = v();
  else if (a === '--keep') o.keep = true;
  else if (a === '--smoke') Object.assign(o, { lifecycles: 6, landers: 2, naive: 2, fund: 20, apiOps: 16 });
  else { process.stderr.write(`lifecycle: unknown argument ${a}\n`); process.exit(2); }
}
for (const k of ['lifecycles', 'landers', 'naive', 'fund', 'apiOps', 'intervalMs']) {
  if (!Number.isInteger(o[k]) || o[k] < 1) { process.stderr.write(`lifecycle: --${k} must be a positive integer\n`); process.exit(2); }
}

const work = mkdtempSync(join(tmpdir(), 'qtw-bench-lifecycle-'));
const env = { ...process.env, QTW_PASSPHRASE: 'bench lifecycle' };
const TOKEN = 'b'.repeat(20) + '0123456789abcdef';
const SOCK = join(work, 'd.sock');
const STORE = join(work, 'w.db');
const LAMPORTS_PER_EXPLORER = 2_000_000;
const LANDER_LAMPORTS = 1000n;
const procs = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (m) => process.stderr.write(`[lifecycle] ${m}\n`);

const start = (cmd, args) => {
  const proc = startProcess(cmd, args, env);
  procs.push(proc.p);
  return proc;
};
function run(cmd, args) {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}
const qtw = (...args) => run(QTW, ['--store', STORE, ...args]);
async function proxyStats(url) { return (await fetch(url + '/__proxy/stats')).json(); }
async function proxyReset(url) { await fetch(url + '/__proxy/reset-stats', { method: 'POST' }); }
function toml(path, rpcUrl, { min, create, extra = '' }) {
  writeFileSync(path, `[rpc]\nurl = "${rpcUrl}"\n[store]\npath = "${STORE}"\n` +
    `[balancer]\nmin_explorer_keys = ${min}\nexplorer_keys_to_create = ${create}\n` +
    `lamports_per_explorer = ${LAMPORTS_PER_EXPLORER}\nlamports_per_bank = 5000000000\ninterval_ms = ${o.intervalMs}\n` +
    `leader_ttl_ms = 2000\n${extra}\n[log]\nlevel = "warn"\n`);
  return path;
}
// Confirmed intents of the wallet by kind: fees and transfers (Explorers).
function intentBook() {
  const rows = run('sqlite3', ['-readonly', STORE,
    'SELECT kind, COALESCE(SUM(fee_lamports),0), COUNT(*), ' +
    '(SELECT COUNT(*) FROM intent_transfers t JOIN intents j ON t.intent_id = j.id WHERE j.kind = i.kind AND j.status = 2) ' +
    'FROM intents i WHERE status = 2 GROUP BY kind']).trim().split('\n').filter(Boolean);
  const book = {};
  for (const r of rows) {
    const [kind, fee, txs, transfers] = r.split('|').map(Number);
    book[kind] = { fee, txs, transfers };
  }
  return book;
}
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(s.length * p))]; };

async function main() {
  log(`work dir ${work}; ${cpus().length} CPUs, load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  const node = start('node', [join(SRC, 'tools/localnet/server.js'), '--port', '0']);
  const nodeUrl = await node.ready;
  const proxy = start('node', [join(SRC, 'tools/faultproxy/proxy.js'), '--listen-port', '0', '--target', nodeUrl]);
  const walletUrl = await proxy.ready;
  const naiveProxy = start('node', [join(SRC, 'tools/faultproxy/proxy.js'), '--listen-port', '0', '--target', nodeUrl]);
  const naiveUrl = await naiveProxy.ready;
  writeFileSync(join(work, 'token'), TOKEN + '\n');
  chmodSync(join(work, 'token'), 0o600);
  const hodl = run(QTW, ['keygen', '-o', join(work, 'hodl.json')]).trim();
  const market = run(QTW, ['keygen', '-o', join(work, 'market.json')]).trim();
  run(QTW, ['--rpc-url', nodeUrl, 'airdrop', hodl, String(1000n * 1_000_000_000n)]);
  // The market exists (rent exempt), so a Lander's small transfer to it lands.
  run(QTW, ['--rpc-url', nodeUrl, 'airdrop', market, '1000000000']);
  qtw('--rpc-url', nodeUrl, 'init', '--banks', '4', '--hodl-keypair', join(work, 'hodl.json'), '--kdf-opslimit', '1', '--kdf-memlimit-kib', '8');
  // Banks topped up once, before anything is measured.
  run(QTW, ['--config', toml(join(work, 'banks.toml'), nodeUrl, { min: 0, create: 0 }), 'balance']);

  // ---- 1. qtw serve + out-of-process Landers ----
  const N = o.lifecycles;
  const perLander = Math.ceil(N / o.landers);
  const batch = Math.min(64, Math.max(4, Math.ceil(N / 4)));
  const serveToml = toml(join(work, 'serve.toml'), walletUrl, { min: batch, create: batch });
  await proxyReset(walletUrl);
  const bookBefore = intentBook();
  const t1 = Date.now();
  const daemon = start(QTW, ['--config', serveToml, 'serve', '--listen', '127.0.0.1:0', '--unix-socket', SOCK,
    '--token-file', join(work, 'token'), '--instance', 'bench']);
  const daemonUrl = await daemon.ready;
  const landers = [];
  for (let w = 0; w < o.landers; w++) {
    landers.push(start('node', [join(SRC, 'tests/integration/multihost/lander_worker.mjs'), '--daemons', daemonUrl,
      '--token', TOKEN, '--rpc', nodeUrl, '--market', market, '--leases', String(perLander), '--concurrency', '4',
      '--lamports', String(LANDER_LAMPORTS), '--worker', String(w)]));
  }
  let confirmed = 0;
  for (const l of landers) {
    const r = await l.exited;
    if (r.code !== 0) throw new Error(`a Lander failed: ${r.err}`);
    confirmed += JSON.parse(r.out.trim().split('\n').at(-1)).confirmed;
  }
  const landersSeconds = (Date.now() - t1) / 1000;
  // Until the balancer has recovered every used Explorer.
  const status = async () => (await fetch(daemonUrl + '/v1/status', { headers: { authorization: `Bearer ${TOKEN}` } })).json();
  for (let i = 0; ; i++) {
    const s = await status();
    const e = s.keys?.explorer ?? {};
    if ((e.used ?? 0) + (e.draining ?? 0) + (e.leased ?? 0) === 0) break;
    if (i > 1200) throw new Error(`the balancer did not recover the used Explorers: ${JSON.stringify(e)}`);
    await sleep(100);
  }
  const serveSeconds = (Date.now() - t1) / 1000;
  daemon.p.kill('SIGTERM');
  await daemon.exited;
  const wallet = await proxyStats(walletUrl);
  const bookAfter = intentBook();
  const delta = (kind, f) => (bookAfter[kind]?.[f] ?? 0) - (bookBefore[kind]?.[f] ?? 0);
  const fundFee = delta(1, 'fee') / Math.max(1, delta(1, 'transfers'));
  const recoverFee = delta(2, 'fee') / Math.max(1, delta(2, 'transfers'));
  const qtwRow = {
    lifecycles: confirmed, recovered: delta(2, 'transfers'), created: delta(1, 'transfers'),
    fee: fundFee + recoverFee, fundFee, recoverFee,
    requests: wallet.requests / confirmed, methods: wallet.methods, rpcCalls: Object.values(wallet.methods).reduce((a, b) => a + b, 0),
    seconds: serveSeconds, landersSeconds,
  };
  log(`qtw serve: ${confirmed} lifecycles in ${landersSeconds.toFixed(1)} s (+ recovery: ${serveSeconds.toFixed(1)} s); wallet ${wallet.requests} HTTP requests ${JSON.stringify(wallet.methods)}`);

  // ---- 2. the naive script ----
  const naive = await naiveRun(nodeUrl, naiveUrl, market, o.naive);
  log(`naive: ${o.naive} lifecycles; ${naive.requests} HTTP requests ${JSON.stringify(naive.methods)}`);

  // ---- 3. qtw balance creating and funding --fund Explorers in one cycle ----
  const fundToml = toml(join(work, 'fund.toml'), walletUrl, { min: o.fund, create: o.fund });
  await proxyReset(walletUrl);
  const tf = process.hrtime.bigint();
  run(QTW, ['--config', fundToml, 'balance']);
  const fundSeconds = Number(process.hrtime.bigint() - tf) / 1e9;
  const fundRequests = (await proxyStats(walletUrl)).requests;
  const available = JSON.parse(qtw('--json', 'status', '--no-balances'));
  log(`qtw balance: ${o.fund} Explorers created and funded in ${fundSeconds.toFixed(2)} s, ${fundRequests} wallet HTTP requests; status ${JSON.stringify(available.keys?.explorer ?? available)}`);

  // ---- 4. lease + sign + return: 1 and 8 clients, TCP and Unix socket ----
  const apiToml = toml(join(work, 'api.toml'), walletUrl, { min: 0, create: 0 });
  const api = start(QTW, ['--config', apiToml, 'serve', '--listen', '127.0.0.1:0', '--unix-socket', SOCK,
    '--token-file', join(work, 'token'), '--instance', 'bench-api']);
  const apiUrl = await api.ready;
  const { value: { blockhash } } = await kit.createSolanaRpc(nodeUrl).getLatestBlockhash().send();
  const apiRows = [];
  const opsEach = Math.max(1, Math.floor(Math.min(o.apiOps, o.fund / 4)));
  for (const via of ['tcp', 'unix']) {
    for (const clients of [1, 8]) {
      const c = start('node', [join(HERE, 'lifecycle_client.mjs'), '--target', via === 'tcp' ? apiUrl : `unix:${SOCK}`,
        '--token', TOKEN, '--ops', String(opsEach), '--clients', String(clients), '--blockhash', blockhash, '--to', market]);
      const r = await c.exited;
      if (r.code !== 0) throw new Error(`lifecycle_client failed: ${r.err}`);
      const res = JSON.parse(r.out.trim());
      apiRows.push({ via, clients, ...res });
      log(`api ${via} x${clients}: ${res.ops} lease+sign+return, ${res.per_second.toFixed(0)}/s, p50 ${res.p50_ms.toFixed(2)} ms, p99 ${res.p99_ms.toFixed(2)} ms`);
    }
  }
  // The transport alone: GET /healthz (no store, no signature).
  const healthRows = [];
  for (const via of ['tcp', 'unix']) {
    for (const clients of [1, 8]) {
      const c = start('node', [join(HERE, 'lifecycle_client.mjs'), '--target', via === 'tcp' ? apiUrl : `unix:${SOCK}`,
        '--token', TOKEN, '--ops', String(opsEach * 8), '--clients', String(clients), '--blockhash', blockhash, '--to', market, '--healthz']);
      const r = await c.exited;
      if (r.code !== 0) throw new Error(`lifecycle_client --healthz failed: ${r.err}`);
      healthRows.push({ via, clients, ...JSON.parse(r.out.trim()) });
    }
  }
  api.p.kill('SIGTERM');
  await api.exited;

  // ---- the table ----
  const ratio = (a, b) => (b === 0 ? '-' : `${(a / b).toFixed(2)}x`);
  const f0 = (x) => Math.round(x).toLocaleString('en-US');
  const lines = [];
  lines.push(`bench/lifecycle: ${qtwRow.lifecycles} qtw lifecycles (${o.landers} Lander processes, balancer interval ${o.intervalMs} ms), ${o.naive} naive, ${o.fund} funded in one cycle, ${opsEach} API lifecycles per row; ${cpus().length} CPUs, load ${loadavg()[0].toFixed(1)}`);
  lines.push('');
  lines.push('| figure | qtw | naive script | qtw / naive |');
  lines.push('|---|---|---|---|');
  lines.push(`| fees per Explorer lifecycle (lamports) | ${qtwRow.fee.toFixed(1)} (funding ${qtwRow.fundFee.toFixed(1)} + recovery ${qtwRow.recoverFee.toFixed(1)}) | ${naive.fee.toFixed(1)} | ${ratio(qtwRow.fee, naive.fee)} |`);
  lines.push(`| wallet JSON-RPC HTTP requests per lifecycle | ${qtwRow.requests.toFixed(2)} | ${naive.requestsEach.toFixed(2)} | ${ratio(qtwRow.requests, naive.requestsEach)} |`);
  lines.push(`| ${f0(o.fund)} Explorers created and funded, one cycle (s) | ${fundSeconds.toFixed(2)} (${fundRequests} wallet requests) | ${(naive.fundSecondsEach * o.fund).toFixed(1)} (${naive.fundSecondsEach.toFixed(3)} s each x ${f0(o.fund)}, measured on ${o.naive}) | ${ratio(fundSeconds, naive.fundSecondsEach * o.fund)} |`);
  for (const r of apiRows) {
    lines.push(`| qtw serve lease + sign + return, ${r.clients} client${r.clients > 1 ? 's' : ''}, ${r.via === 'tcp' ? 'TCP' : 'Unix socket'} | ${r.per_second.toFixed(0)}/s, p50 ${r.p50_ms.toFixed(2)} ms | - | - |`);
  }
  for (const r of healthRows) {
    lines.push(`| transport alone: GET /healthz, ${r.clients} client${r.clients > 1 ? 's' : ''}, ${r.via === 'tcp' ? 'TCP' : 'Unix socket'} | ${r.per_second.toFixed(0)}/s, p50 ${r.p50_ms.toFixed(2)} ms | - | - |`);
  }
  lines.push('');
  lines.push(`wallet requests by method over ${qtwRow.lifecycles} lifecycles: ${JSON.stringify(qtwRow.methods)} (${qtwRow.rpcCalls} JSON-RPC calls in ${wallet.requests} HTTP requests)`);
  lines.push(`naive requests by method over ${o.naive} lifecycles: ${JSON.stringify(naive.methods)}`);
  process.stdout.write(lines.join('\n') + '\n');
}

// The script a user would write with @solana/kit: per Explorer, one funding
// transfer (poll until confirmed), the Lander's transfer (not the wallet's:
// sent directly), then a drain of the balance back (poll until confirmed).
async function naiveRun(nodeUrl, naiveUrl, market, m) {
  const direct = kit.createSolanaRpc(nodeUrl);
  const rpc = kit.createSolanaRpc(naiveUrl);
  const funder = await kit.generateKeyPairSigner();
  await direct.requestAirdrop(funder.address, kit.lamports(100_000_000_000n)).send();
  for (let i = 0; i < 100; i++) {
    const { value } = await direct.getBalance(funder.address).send();
    if (value > 0n) break;
    await sleep(100);
  }
  const { value: startBalance } = await direct.getBalance(funder.address).send();
  await proxyReset(naiveUrl);
  const send = async (client, payer, ix) => {
    const { value: bh } = await client.getLatestBlockhash().send();
    const msg = kit.pipe(kit.createTransactionMessage({ version: 'legacy' }),
      (x) => kit.setTransactionMessageFeePayerSigner(payer, x),
      (x) => kit.setTransactionMessageLifetimeUsingBlockhash(bh, x),
      (x) => kit.appendTransactionMessageInstruction(ix, x));
    const signed = await kit.signTransactionMessageWithSigners(msg);
    const sig = await client.sendTransaction(kit.getBase64EncodedWireTransaction(signed), { encoding: 'base64' }).send();
    for (let i = 0; i < 600; i++) {
      await sleep(100);
      const { value } = await client.getSignatureStatuses([sig]).send();
      if (value[0]?.err) throw new Error(`naive: transaction failed ${JSON.stringify(value[0].err)}`);
      if (value[0]?.confirmationStatus === 'confirmed' || value[0]?.confirmationStatus === 'finalized') return sig;
    }
    throw new Error('naive: not confirmed in 60 s');
  };
  let fundNs = 0n;
  for (let i = 0; i < m; i++) {
    const t = process.hrtime.bigint();
    const explorer = await kit.generateKeyPairSigner();
    await send(rpc, funder, getTransferSolInstruction({ source: funder, destination: explorer.address, amount: BigInt(LAMPORTS_PER_EXPLORER) }));
    fundNs += process.hrtime.bigint() - t;
    await send(direct, explorer, getTransferSolInstruction({ source: explorer, destination: kit.address(market), amount: LANDER_LAMPORTS }));
    const { value: left } = await rpc.getBalance(explorer.address).send();
    await send(rpc, explorer, getTransferSolInstruction({ source: explorer, destination: funder.address, amount: left - 5000n }));
  }
  const stats = await proxyStats(naiveUrl);
  const { value: endBalance } = await direct.getBalance(funder.address).send();
  // What left the funder beyond the Lander's own transfer and fee: the
  // wallet's fees.
  const fee = Number(startBalance - endBalance) / m - Number(LANDER_LAMPORTS) - 5000;
  return { fee, requests: stats.requests, requestsEach: stats.requests / m, methods: stats.methods, fundSecondsEach: Number(fundNs) / 1e9 / m };
}

try {
  await main();
} catch (e) {
  process.stderr.write(`lifecycle: ${e.stack ?? e.message}\n`);
  process.exitCode = 1;
} finally {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  if (!o.keep) rmSync(work, { recursive: true, force: true });
}
