// Soak run (scripts/soak, long mode, not in the test command): 8 Landers
// trade through one `qtw serve` on the local node for --minutes (default
// 10). After a warm-up (a tenth of the run, at least 30 s) it samples the
// daemon's RSS, open descriptors and the store's size (file + WAL) every
// 5 s, and prints their growth from the first sample to the last, the lease
// latency (p50, p99, max, as the Landers saw it) and the trade count. At
// the end the run is settled and checked as the crash harness does it
// (single use on chain, conservation to the lamport).
//   node tools/chaos/soak.mjs --qtw build/apps/qtw/qtw [--minutes 10] [--landers 8] [--json-out F]
import { mkdtempSync, writeFileSync, chmodSync, rmSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as kit from '@solana/kit';
import { sleep, freePort, startProcess, qtwRun, rpcCall, quantile, table, Lander } from './lib.mjs';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const o = { qtw: process.env.QTW, minutes: 10, landers: 8, jsonOut: null, keep: false };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const v = () => process.argv[++i];
  if (a === '--qtw') o.qtw = v();
  else if (a === '--minutes') o.minutes = Number(v());
  else if (a === '--landers') o.landers = Number(v());
  else if (a === '--json-out') o.jsonOut = v();
  else if (a === '--keep') o.keep = true;
  else { process.stderr.write(`soak: unknown argument ${a}\nusage: soak --qtw PATH [--minutes M] [--landers N] [--json-out F] [--keep]\n`); process.exit(2); }
}
if (!o.qtw || !(o.minutes > 0) || !(o.landers >= 1)) { process.stderr.write('soak: --qtw PATH, --minutes > 0 and --landers >= 1 are required\n'); process.exit(2); }

const work = mkdtempSync(join(tmpdir(), 'qtw-soak-'));
const env = { ...process.env, QTW_PASSPHRASE: 'soak run' };
const TOKEN = 'soak-run-token-0123456789abcdef0123';
const AIRDROP = 500_000_000_000n;
const MARKET_AIRDROP = 1_000_000_000n;
const children = [];
const log = (m) => process.stderr.write(`[soak ${(performance.now() / 1000).toFixed(0)}s] ${m}\n`);

function sample(pid, db, trades) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKib = Number(status.match(/VmRSS:\s+(\d+)/)[1]);
  const fds = readdirSync(`/proc/${pid}/fd`).length;
  const size = (f) => { try { return statSync(f).size; } catch { return 0; } };
  const dbBytes = size(db);
  const walBytes = size(`${db}-wal`);
  return { t: performance.now() / 1000, rssKib, fds, dbBytes, walBytes, storeBytes: dbBytes + walBytes, trades };
}

async function main() {
  const node = startProcess('node', [join(SRC, 'tools', 'localnet', 'server.js'), '--port', '0', '--slot-ms', '100'],
    { logPath: join(work, 'node.log') });
  children.push(node);
  const nodeUrl = await node.ready;
  const db = join(work, 'w.db');
  const Q = (...args) => qtwRun(o.qtw, ['--config', join(work, 'qtw.toml'), '--store', db, ...args], env);
  writeFileSync(join(work, 'token'), TOKEN); chmodSync(join(work, 'token'), 0o600);
  writeFileSync(join(work, 'qtw.toml'), `[rpc]
url = "${nodeUrl}"
[balancer]
min_explorer_keys = 48
explorer_keys_to_create = 64
lamports_per_explorer = 10000000
lamports_per_bank = 5000000000
interval_ms = 500
[caps]
# Throughput run: 8 Landers fund ~40 Explorers a second (0.01 SOL each), far
# past the default 100 SOL per Bank an hour; the cap would stop funding.
max_bank_outflow_lamports_per_hour = 100000000000000
max_hodl_outflow_lamports_per_hour = 1000000000000
[service]
lease_timeout_ms = 10000
[log]
level = "warn"
`);
  const hodl = (await qtwRun(o.qtw, ['keygen', '-o', join(work, 'hodl.json')], env)).stdout.trim();
  await rpcCall(nodeUrl, 'requestAirdrop', [hodl, Number(AIRDROP)]);
  const market = (await kit.generateKeyPairSigner()).address;
  await rpcCall(nodeUrl, 'requestAirdrop', [market, Number(MARKET_AIRDROP)]);
  const init = await Q('init', '--banks', '4', '--hodl-keypair', join(work, 'hodl.json'), '--kdf-opslimit', '1', '--kdf-memlimit-kib', '8');
  if (init.code !== 0) throw new Error(`init: ${init.stderr}`);
  const port = await freePort();
  const daemon = startProcess(o.qtw, ['--config', join(work, 'qtw.toml'), '--store', db, 'serve', '--listen',
    `127.0.0.1:${port}`, '--token-file', join(work, 'token'), '--instance', 'soak'], { env, logPath: join(work, 'daemon.log') });
  children.push(daemon);
  const url = await daemon.ready;
  const landers = Array.from({ length: o.landers }, (_, id) => new Lander({ id, daemons: () => [url], token: TOKEN, nodeUrl, market }));
  const runs = landers.map((l) => l.run());
  const totalMs = o.minutes * 60_000;
  const warmMs = Math.max(30_000, totalMs / 10);
  const started = performance.now();
  const samples = [];
  let warmLatencyCut = null;
  while (performance.now() - started < totalMs) {
    await sleep(5000);
    if (performance.now() - started < warmMs) continue;
    if (warmLatencyCut === null) warmLatencyCut = landers.map((l) => l.stats.leaseLatencyMs.length);
    samples.push(sample(daemon.p.pid, db, landers.reduce((a, l) => a + l.stats.confirmed, 0)));
    if (samples.length % 12 === 0) {
      const s = samples.at(-1);
      log(`${((performance.now() - started) / 60000).toFixed(1)} min: RSS ${(s.rssKib / 1024).toFixed(1)} MiB, ${s.fds} fds, store ${(s.storeBytes / 1048576).toFixed(2)} MiB, ${landers.reduce((a, l) => a + l.stats.confirmed, 0)} trades`);
    }
  }
  for (const l of landers) l.stopping = true;
  await Promise.all(runs);
  daemon.p.kill('SIGTERM');
  await daemon.exited;

  const lat = landers.flatMap((l, i) => l.stats.leaseLatencyMs.slice(warmLatencyCut ? warmLatencyCut[i] : 0));
  const first = samples[0];
  const last = samples.at(-1);
  const minutes = (last.t - first.t) / 60;
  const trades = landers.reduce((a, l) => a + l.stats.confirmed, 0);
  const leases = landers.reduce((a, l) => a + l.stats.leases, 0);
  const dry = landers.reduce((a, l) => a + l.stats.dry503, 0);
  // Settle and check conservation.
  let status = null;
  for (let i = 0; i < 75; i++) {  // kept leases end up to 30 s after the stop
    await Q('--json', 'balance');
    status = JSON.parse((await Q('--json', 'status')).stdout);
    const ex = status.keys?.explorer ?? {};
    if ((status.in_flight ?? []).length === 0 && !ex.used && !ex.leased && !ex.draining && !ex.pending) break;
    await sleep(1000);
  }
  const info = await rpcCall(nodeUrl, 'qtwLocalnetInfo');
  const marketNow = BigInt((await rpcCall(nodeUrl, 'getBalance', [market])).value);
  const conserved = BigInt(status.balances_lamports.total) + (marketNow - MARKET_AIRDROP) + BigInt(info.userFeesCollected) === AIRDROP;
  const signedTwice = landers.flatMap((l) => [...l.stats.signedBy.values()]).filter((n) => n > 1).length;
  const mib = (b) => (b / 1048576).toFixed(2);
  // The longest stretch after warm-up in which no trade landed: a pool that
  // stays dry (the balancer stuck or held back) shows here, not in RSS.
  let stallS = 0;
  for (let i = 1, since = 0; i < samples.length; i++) {
    if (samples[i].trades > samples[since].trades) since = i;
    else stallS = Math.max(stallS, samples[i].t - samples[since].t);
  }
  const stalled = stallS >= 60;
  const out = [
    `soak: ${o.landers} Landers, ${o.minutes} min (${(warmMs / 1000).toFixed(0)} s warm-up), ${trades} trades confirmed, ${leases} leases, ${dry} pool-empty answers`,
    '',
    table(['after warm-up', 'first', 'last', 'growth', 'per minute'], [
      ['RSS (MiB)', (first.rssKib / 1024).toFixed(1), (last.rssKib / 1024).toFixed(1), ((last.rssKib - first.rssKib) / 1024).toFixed(1), ((last.rssKib - first.rssKib) / 1024 / minutes).toFixed(2)],
      ['open descriptors', first.fds, last.fds, last.fds - first.fds, ((last.fds - first.fds) / minutes).toFixed(2)],
      ['store file (MiB)', mib(first.dbBytes), mib(last.dbBytes), mib(last.dbBytes - first.dbBytes), mib((last.dbBytes - first.dbBytes) / minutes)],
      ['WAL file (MiB)', mib(first.walBytes), mib(last.walBytes), mib(last.walBytes - first.walBytes), mib((last.walBytes - first.walBytes) / minutes)],
      ['trades confirmed', first.trades, last.trades, last.trades - first.trades, ((last.trades - first.trades) / minutes).toFixed(0)],
    ]),
    '',
    table(['lease latency (ms)', 'value'], [['leases after warm-up', lat.length], ['p50', quantile(lat, 0.5).toFixed(2)],
      ['p99', quantile(lat, 0.99).toFixed(2)], ['max', Math.max(...lat).toFixed(2)]]),
    '',
    `longest stretch without a trade after warm-up: ${stallS.toFixed(0)} s`,
    `checks: ${conserved && signedTwice === 0 && !stalled ? 'conservation to the lamport, no Explorer signed twice, trades never stalled for a minute: OK' : `FAILED (conserved ${conserved}, signed twice ${signedTwice}, stalled ${stallS.toFixed(0)} s)`}`,
  ];
  process.stdout.write(out.join('\n') + '\n');
  if (o.jsonOut) writeFileSync(o.jsonOut, JSON.stringify({ options: o, samples, trades, leases, dry, p50: quantile(lat, 0.5), p99: quantile(lat, 0.99) }, null, 1));
  return conserved && signedTwice === 0 && !stalled ? 0 : 1;
}

let code = 1;
try { code = await main(); } catch (e) { process.stderr.write(`soak: ${e.stack ?? e}\n`); }
for (const c of children) { try { c.p.kill('SIGKILL'); } catch { /* gone */ } }
if (!o.keep) rmSync(work, { recursive: true, force: true });
process.exit(code);
