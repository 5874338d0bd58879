#!/usr/bin/env node
// Leases per second through the daemons with 1, 2 and 4 hosts (`qtw serve`
// processes) sharing one PostgreSQL database (issue #8). Each host gets 8
// concurrent clients doing lease + return(retire) over HTTP for a fixed count;
// the pool is filled (by `qtw balance`) before each run, so the figure is the
// API + database path; every 503 (pool dry) is counted. Prints a Markdown table.
//   QTW=build/apps/qtw/qtw node bench/multihost_bench.mjs [--leases-per-host 600] [--pool-size 4]
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const QTW = process.env.QTW ?? 'build/apps/qtw/qtw';
const SRC = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, dflt) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : dflt);
const PER_HOST = Number(arg('--leases-per-host', 600));
// PostgreSQL sessions per daemon ([store] postgres_pool_size; 1 = every call
// of a daemon serialised on one session, as before the pool).
const POOL = Number(arg('--pool-size', 4));
const work = mkdtempSync(join(tmpdir(), 'qtw-bench-mh-'));
const env = { ...process.env, QTW_PASSPHRASE: 'bench' };
const TOKEN = 'bench-token-0123456789abcdef';
const pgState = join(work, 'pg.state');
const procs = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function start(cmd, args) {
  const p = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(p);
  let out = '';
  return new Promise((resolve, reject) => {
    p.stdout.on('data', (d) => { out += d; const m = out.match(/READY (\S+)/); if (m) resolve({ p, url: m[1] }); });
    p.on('exit', (c) => reject(new Error(`${cmd} exited ${c}`)));
  });
}
function cleanup() {
  for (const p of procs) p.kill('SIGKILL');
  try { execFileSync(join(SRC, 'scripts/pg-test-cluster'), ['stop', '--state', pgState]); } catch { /* gone */ }
  rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);

const pgUri = execFileSync(join(SRC, 'scripts/pg-test-cluster'), ['start', '--state', pgState], { encoding: 'utf8' }).trim().split('\n').pop();
const node = await start('node', [join(SRC, 'tools/localnet/server.js'), '--port', '0']);
const q = (...a) => {
  const r = spawnSync(QTW, ['--store', pgUri, '--rpc-url', node.url, ...a], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
};
// A one-shot `qtw balance` is refused while another balancer holds the
// store's leader slot: a running daemon always does (each `qtw serve` runs
// a balancer), and a stopping one until it has released it. So the pool is
// filled only while no daemon runs, and a refusal is retried (a previous
// run's daemon still stopping) instead of ending the bench.
async function fill(want) {
  for (let tries = 0; available() < want; ) {
    try {
      q('--config', join(work, 'fill.toml'), 'balance');
    } catch (e) {
      if (!/leader slot/.test(e.message) || ++tries > 30) throw e;
      await sleep(1000);
    }
  }
}
// SIGTERM, then wait for the exit (the daemon releases its leader slot on
// the way out); SIGKILL after 20 s.
function stop(p) {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => p.kill('SIGKILL'), 20_000);
    p.once('exit', () => { clearTimeout(t); resolve(); });
    p.kill('SIGTERM');
  });
}
const hodl = spawnSync(QTW, ['keygen', '-o', join(work, 'hodl.json')], { env, encoding: 'utf8' }).stdout.trim();
q('airdrop', hodl, '100000000000');
q('init', '--banks', '4', '--hodl-keypair', join(work, 'hodl.json'), '--kdf-opslimit', '1', '--kdf-memlimit-kib', '8');
writeFileSync(join(work, 'token'), TOKEN);
chmodSync(join(work, 'token'), 0o600);
// Each daemon claims a few Explorers ahead into its in-memory pool as soon
// as it starts ([pool] claim_batch, 8): fill that much more than the leases.
const HEADROOM_PER_HOST = 32;
const need = (PER_HOST + HEADROOM_PER_HOST) * 4;
// fill.toml: one-shot `qtw balance` runs fill the pool before each
// measurement; serve.toml: the daemons' balancers create nothing during it
// (min 0), so the figure is the API + database path, not the node's.
const toml = (min) => `[rpc]\nurl = "${node.url}"\n[balancer]\nmin_explorer_keys = ${min}\n` +
  `explorer_keys_to_create = ${min}\nlamports_per_explorer = 1000000\nlamports_per_bank = 10000000000\ninterval_ms = 500\n[log]\nlevel = "warn"\n` +
  `[store]\npostgres_pool_size = ${POOL}\n`;
writeFileSync(join(work, 'fill.toml'), toml(need));
writeFileSync(join(work, 'serve.toml'), toml(0));
const available = () => JSON.parse(q('--json', 'status', '--no-balances')).keys.explorer?.available ?? 0;

const rows = [];
const load = () => execFileSync('cat', ['/proc/loadavg']).toString().split(' ').slice(0, 3).join(' ');
for (const hosts of [1, 2, 4]) {
  await fill((PER_HOST + HEADROOM_PER_HOST) * hosts);
  const daemons = [];
  for (let i = 0; i < hosts; i++) {
    daemons.push(await start(QTW, ['--config', join(work, 'serve.toml'), '--store', pgUri, 'serve', '--listen', '127.0.0.1:0',
      '--token-file', join(work, 'token'), '--instance', `bench-${hosts}-${i}`]));
  }
  const workers = daemons.map((d, i) => new Promise((resolve, reject) => {
    const p = spawn('node', [join(SRC, 'tests/integration/multihost/lander_worker.mjs'), '--daemons', d.url, '--token', TOKEN,
      '--leases', String(PER_HOST), '--concurrency', '8', '--lease-only', '--worker', String(i)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (x) => { out += x; });
    p.on('exit', (c) => (c === 0 ? resolve(JSON.parse(out)) : reject(new Error(`worker exited ${c}`))));
  }));
  const t0 = Date.now();
  const results = await Promise.all(workers);
  const seconds = (Date.now() - t0) / 1000;
  const leases = results.reduce((a, r) => a + r.leased.length, 0);
  const unique = new Set(results.flatMap((r) => r.leased)).size;
  const dry = results.reduce((a, r) => a + r.dry503, 0);
  rows.push({ hosts, leases, unique, seconds, rate: leases / seconds, dry, load: load() });
  await Promise.all(daemons.map((d) => stop(d.p)));
}
console.log(`| hosts | leases | distinct | seconds | leases/s (lease + return) | 503 (pool dry) | load after |`);
console.log(`|---|---|---|---|---|---|---|`);
for (const r of rows) console.log(`| ${r.hosts} | ${r.leases} | ${r.unique} | ${r.seconds.toFixed(2)} | ${r.rate.toFixed(0)} | ${r.dry} | ${r.load} |`);
console.log(`\n${cpus().length} CPUs; PostgreSQL ${execFileSync('sh', ['-c', 'ls /usr/lib/postgresql']).toString().trim()} test cluster (fsync off); 8 clients per host; ${POOL} PostgreSQL sessions per daemon.`);
process.exit(0);
