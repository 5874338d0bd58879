// The crash harness (scripts/chaos): `qtw serve` with out-of-process Landers
// on the local node, the wallet's RPC behind the fault proxy (503, 429,
// dropped, answered-but-lost, delayed 2 s), the daemon killed with SIGKILL at
// random instants in every phase (start-up, claims, signatures, persisted
// intents, sends, confirmations, returns, idle: the daemon prints phase
// markers with QTW_PHASE_MARKERS=1) and restarted at once. After the run,
// from the chain:
//   - no Explorer signed two Lander transactions (getSignaturesForAddress),
//   - none was funded twice,
//   - every Explorer that was used is at 0 lamports, retired in the store,
//   - every available one holds exactly lamports_per_explorer and never
//     signed anything,
//   - conservation to the lamport: airdropped == managed + market + fees,
//   - store and chain agree (nothing pending, leased, used or in flight).
// Prints kills by phase, faults by kind, lifecycles and the time from each
// restart to the first lease it serves (median, worst; goal < 1 s).
//
//   node tools/chaos/chaos.mjs --qtw build/apps/qtw/qtw [--kills 30]
//        [--fault-rate 0.2] [--landers 4] [--hold-ms 1000] [--seed 1] [--postgres] [--keep]
//        [--json-out FILE] [--claim-batch N]
// --postgres: a throw-away PostgreSQL cluster (scripts/pg-test-cluster) and
// two daemons on it, killing either. --hold-ms: how long a Lander holds an
// Explorer for its trade after the transaction landed (demand below what the
// balancer can fund under faults, so an empty pool after a restart is the
// restart's doing). --claim-batch: the daemons' [pool] claim_batch (each
// kill strands the batch claimed and not yet handed out). Exit 0 only if
// every check passes.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, chmodSync, rmSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as kit from '@solana/kit';
import { sleep, prng, freePort, startProcess, qtwRun, rpcCall, rpcBatch, quantile, table, Lander } from './lib.mjs';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const o = { qtw: process.env.QTW, kills: 30, faultRate: 0.2, landers: 4, holdMs: 1000, seed: 1, postgres: false, keep: false, jsonOut: null, claimBatch: null };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const v = () => { if (i + 1 >= process.argv.length) usage(`missing value for ${a}`); return process.argv[++i]; };
  if (a === '--qtw') o.qtw = v();
  else if (a === '--kills') o.kills = Number(v());
  else if (a === '--fault-rate') o.faultRate = Number(v());
  else if (a === '--landers') o.landers = Number(v());
  else if (a === '--hold-ms') o.holdMs = Number(v());
  else if (a === '--seed') o.seed = Number(v());
  else if (a === '--postgres') o.postgres = true;
  else if (a === '--keep') o.keep = true;
  else if (a === '--json-out') o.jsonOut = v();
  else if (a === '--claim-batch') o.claimBatch = Number(v());
  else if (a === '-h' || a === '--help') usage();
  else usage(`unknown argument ${a}`);
}
function usage(err) {
  if (err) process.stderr.write(`chaos: ${err}\n`);
  process.stderr.write('usage: chaos --qtw PATH [--kills N] [--fault-rate R] [--landers N] [--hold-ms MS] [--seed S] [--postgres] [--keep] [--json-out FILE] [--claim-batch N]\n');
  process.exit(err ? 2 : 0);
}
if (!o.qtw) usage('--qtw PATH (or QTW=) is required');
if (!Number.isInteger(o.kills) || o.kills < 0) usage('--kills must be a whole number >= 0');
if (!(o.faultRate >= 0 && o.faultRate < 1)) usage('--fault-rate must be in [0, 1)');
if (!Number.isInteger(o.landers) || o.landers < 1) usage('--landers must be >= 1');

const rand = prng(o.seed);
const pick = (list) => list[Math.floor(rand() * list.length)];
const work = mkdtempSync(join(tmpdir(), 'qtw-chaos-'));
const env = { ...process.env, QTW_PASSPHRASE: 'chaos harness' };
const TOKEN = 'chaos-harness-token-0123456789abcdef';
const LAMPORTS_PER_EXPLORER = 10_000_000n;
const MIN_EXPLORERS = 24;
const AIRDROP = 200_000_000_000n;
const MARKET_AIRDROP = 1_000_000_000n;
const FAULTS = ['http:503', 'http:429:1', 'drop', 'lose-response', 'delay:2000'];
// Phases the daemon marks (tools: QTW_PHASE_MARKERS); `idle` = no marker in
// the last 30 ms; `startup` = killed before READY.
const TARGETS = ['startup', 'claim', 'sign', 'persist', 'send', 'confirm', 'return', 'idle'];
const children = [];
let pgState = null;
const log = (m) => process.stderr.write(`[chaos ${((performance.now()) / 1000).toFixed(1)}s] ${m}\n`);

async function cleanup() {
  for (const c of children) { try { c.p.kill('SIGKILL'); } catch { /* gone */ } }
  if (pgState) spawnSync(join(SRC, 'scripts', 'pg-test-cluster'), ['stop', '--state', pgState], { stdio: 'ignore' });
  if (!o.keep) rmSync(work, { recursive: true, force: true });
  else process.stderr.write(`chaos: work directory kept: ${work}\n`);
}
// SIGINT or SIGUSR1: stop killing, then settle, check and report what was
// done (a long run cut short still proves what it covered). A second
// SIGINT aborts.
let stopEarly = false;
const stopKilling = async (sig) => {
  if (stopEarly && sig === 'SIGINT') { await cleanup(); process.exit(130); }
  stopEarly = true;
  log(`${sig}: no more kills; settling and checking`);
};
process.on('SIGINT', () => stopKilling('SIGINT'));
process.on('SIGUSR1', () => stopKilling('SIGUSR1'));

class Daemon {
  constructor(index, instance, port, storeArgs) {
    Object.assign(this, { index, instance, port, storeArgs, url: `http://127.0.0.1:${port}` });
    this.phase = 'none'; this.phaseAt = 0; this.readyAt = null; this.proc = null; this.starts = 0;
    this.restartAt = null; this.firstLeaseWaiter = null;
  }
  start() {
    this.phase = 'startup'; this.phaseAt = performance.now(); this.readyAt = null; this.starts++;
    const p = startProcess(o.qtw, ['--config', join(work, 'qtw.toml'), ...this.storeArgs, 'serve',
      '--listen', `127.0.0.1:${this.port}`, '--token-file', join(work, 'token'), '--instance', this.instance],
    { env: { ...env, QTW_PHASE_MARKERS: '1' }, logPath: join(work, `daemon-${this.instance}.log`),
      onLine: (line) => {
        if (!line.startsWith('QTW_PHASE ')) return;
        this.phase = line.slice(10).trim();
        this.phaseAt = performance.now();
        this.onPhase?.(this.phase);
      } });
    children.push(p);
    this.proc = p;
    p.ready.then(() => { this.readyAt = performance.now(); }, () => {});
    return p;
  }
  // What it was doing: the last marker, unless it is older than 30 ms.
  currentPhase() {
    if (this.readyAt === null) return 'startup';
    if (this.phase === 'ready' || performance.now() - this.phaseAt > 30) return 'idle';
    return this.phase;
  }
  async kill9() {
    const phase = this.currentPhase();
    this.proc.p.kill('SIGKILL');
    await this.proc.exited;
    return phase;
  }
  async stop() {
    this.proc.p.kill('SIGTERM');
    return this.proc.exited;
  }
}

async function main() {
  const t0 = performance.now();
  // ---- the node, the fault proxy, the wallet ----
  const node = startProcess('node', [join(SRC, 'tools', 'localnet', 'server.js'), '--port', '0', '--slot-ms', '100'],
    { logPath: join(work, 'node.log') });
  children.push(node);
  const nodeUrl = await node.ready;
  const faultMode = o.faultRate > 0 ? `random:${o.faultRate}:${FAULTS.join(',')}` : 'pass';
  const proxy = startProcess('node', [join(SRC, 'tools', 'faultproxy', 'proxy.js'), '--listen-port', '0',
    '--target', nodeUrl, '--mode', faultMode, '--seed', String(o.seed)], { logPath: join(work, 'proxy.log') });
  children.push(proxy);
  const proxyUrl = await proxy.ready;

  let storeArgs = ['--store', join(work, 'w.db')];
  if (o.postgres) {
    pgState = join(work, 'pg.state');
    const r = spawnSync(join(SRC, 'scripts', 'pg-test-cluster'), ['start', '--state', pgState], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`pg-test-cluster: ${r.stderr}`);
    storeArgs = ['--store', r.stdout.trim()];
  }
  const Q = (...args) => qtwRun(o.qtw, ['--config', join(work, 'qtw.toml'), ...storeArgs, ...args], env);
  const must = async (...args) => {
    const r = await Q(...args);
    if (r.code !== 0) throw new Error(`qtw ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  writeFileSync(join(work, 'token'), TOKEN); chmodSync(join(work, 'token'), 0o600);
  writeFileSync(join(work, 'qtw.toml'), `[rpc]
url = "${proxyUrl}"
timeout_ms = 5000
[balancer]
min_explorer_keys = ${MIN_EXPLORERS}
explorer_keys_to_create = 24
lamports_per_explorer = ${LAMPORTS_PER_EXPLORER}
lamports_per_bank = 2000000000
interval_ms = 300
[caps]
max_hodl_outflow_lamports_per_hour = 1000000000000
[service]
lease_timeout_ms = 4000
${o.claimBatch ? `[pool]\nclaim_batch = ${o.claimBatch}\n` : ''}
[log]
level = "info"
`);
  const hodl = (await qtwRun(o.qtw, ['keygen', '-o', join(work, 'hodl.json')], env)).stdout.trim();
  await rpcCall(nodeUrl, 'requestAirdrop', [hodl, Number(AIRDROP)]);
  const marketKey = await kit.generateKeyPairSigner();
  const market = marketKey.address;
  await rpcCall(nodeUrl, 'requestAirdrop', [market, Number(MARKET_AIRDROP)]);
  await must('init', '--banks', '3', '--hodl-keypair', join(work, 'hodl.json'), '--kdf-opslimit', '1', '--kdf-memlimit-kib', '8');

  // ---- daemons and Landers ----
  const daemons = [];
  const instances = o.postgres ? ['chaos-a', 'chaos-b'] : ['chaos-a'];
  for (let i = 0; i < instances.length; i++) daemons.push(new Daemon(i, instances[i], await freePort(), storeArgs));
  for (const d of daemons) d.start();
  for (const d of daemons) await d.proc.ready;
  // Warm-up: the first cycles fund the Banks and fill the pool.
  for (let i = 0; i < 300; i++) {
    const st = await fetch(`${daemons[0].url}/v1/status`, { headers: { authorization: `Bearer ${TOKEN}` } })
      .then((r) => r.json()).catch(() => ({}));
    if ((st.keys?.explorer?.available ?? 0) >= MIN_EXPLORERS) break;
    await sleep(200);
  }
  const ttfl = [];  // ms from a restart to the first lease that daemon served
  // Per measured restart: the phase killed, ms to READY, what the store held
  // at READY (available / pending Explorers) and the time to the first lease:
  // tells a slow start from an empty pool.
  const restarts = [];
  const onLease = (i) => {
    const d = daemons[i];
    if (d.restartAt !== null) {
      ttfl.push(performance.now() - d.restartAt);
      if (d.restartInfo) { d.restartInfo.ttflMs = ttfl[ttfl.length - 1]; restarts.push(d.restartInfo); d.restartInfo = null; }
      d.restartAt = null;
      d.firstLeaseWaiter?.();
    }
  };
  const landers = Array.from({ length: o.landers }, (_, id) => new Lander({
    id, daemons: () => daemons.map((d) => d.url), token: TOKEN, nodeUrl, market, onLease, holdMs: o.holdMs }));
  const landerRuns = landers.map((l) => l.run());

  // ---- kills ----
  const kills = {};
  for (const t of TARGETS) kills[t] = 0;
  let waitedOut = 0;
  let refusedSecond = null;
  let done = 0;
  // Kills `d` now, counts the phase it was in, and starts it again.
  const killAndRestart = async (d) => {
    const phase = await d.kill9();
    kills[phase] = (kills[phase] ?? 0) + 1;
    done++;
    d.restartAt = performance.now();
    d.restartInfo = { phase };
    d.start();
  };
  while (done < o.kills && !stopEarly) {
    const d = pick(daemons);
    const target = pick(TARGETS);
    if (target === 'startup' && done + 2 <= o.kills) {
      // Kill it, then kill the new process again at a random instant of its
      // start-up (opening the store, unsealing, binding, the first cycle).
      await killAndRestart(d);
      await sleep(Math.floor(rand() * 150));
    } else if (target !== 'idle' && target !== 'startup') {
      // Wait for the daemon to mark the phase (a few ms of jitter after it).
      const seen = await new Promise((resolve) => {
        const timer = setTimeout(() => { d.onPhase = null; resolve(false); }, 6000);
        d.onPhase = (p) => { if (p === target) { clearTimeout(timer); d.onPhase = null; resolve(true); } };
      });
      if (!seen) waitedOut++;
      const jitter = Math.floor(rand() * 4);
      if (jitter) await sleep(jitter);
    }
    await killAndRestart(d);
    const first = new Promise((r) => { d.firstLeaseWaiter = r; });
    try { await d.proc.ready; } catch (e) { throw new Error(`restart after kill ${done} failed: ${e.message}`); }
    const info = d.restartInfo;
    if (info && d.restartAt !== null) {
      info.readyMs = performance.now() - d.restartAt;
      const st = await fetch(`${d.url}/v1/status`, { headers: { authorization: `Bearer ${TOKEN}` } })
        .then((r) => r.json()).catch(() => ({}));
      info.availableAtReady = st.keys?.explorer?.available ?? 0;
      info.pendingAtReady = st.keys?.explorer?.pending ?? 0;
    }
    if (refusedSecond === null) {
      // While it runs, a second daemon with the same instance is refused.
      const second = startProcess(o.qtw, ['--config', join(work, 'qtw.toml'), ...storeArgs, 'serve', '--listen',
        '127.0.0.1:0', '--token-file', join(work, 'token'), '--instance', d.instance], { env });
      const r = await Promise.race([second.exited, second.ready.then(() => null, () => second.exited)]);
      if (r === null) {
        second.p.kill('SIGKILL');
        refusedSecond = 'NOT refused: it started';
      } else {
        refusedSecond = r.code === 1 && /already running/.test(second.errTail()) ? 'refused'
          : `NOT refused as expected (exit ${r.code}: ${second.errTail().trim()})`;
      }
    }
    // Let it serve again (the first lease after the restart), then run a while.
    await Promise.race([first, sleep(15_000)]);
    d.firstLeaseWaiter = null;
    if (d.restartAt !== null) {
      log(`restart after kill ${done}: no lease within 15 s`);
      ttfl.push(15_000); d.restartAt = null;
      if (d.restartInfo) { d.restartInfo.ttflMs = 15_000; restarts.push(d.restartInfo); d.restartInfo = null; }
    }
    await sleep(200 + Math.floor(rand() * 800));
    if (done % 10 === 0 || done === o.kills) log(`${done}/${o.kills} kills`);
  }

  // ---- settle ----
  for (const l of landers) l.stopping = true;
  await Promise.all(landerRuns);
  for (const d of daemons) await d.stop();
  const fstats = await (await fetch(`${proxyUrl}/__proxy/stats`)).json();
  const direct = (...args) => Q('--rpc-url', nodeUrl, ...args);
  let status = null;
  // Leases a stopped daemon keeps for its next start (handed out, or
  // returned but not yet written when it was killed) end at their deadline
  // (up to [pool] store lease, 30 s, after the stop): wait for them.
  for (let i = 0; i < 75; i++) {
    await direct('--json', 'balance');
    status = JSON.parse((await direct('--json', 'status')).stdout);
    const ex = status.keys?.explorer ?? {};
    if ((status.in_flight ?? []).length === 0 && !ex.used && !ex.leased && !ex.draining && !ex.pending) break;
    await sleep(1000);  // leases abandoned by killed daemons end at their deadline
  }
  const keys = JSON.parse((await direct('--json', 'keys', 'list', '--tier', 'explorer')).stdout);

  // ---- checks, from the chain ----
  const failures = [];
  const check = (ok, what) => { if (!ok) failures.push(what); };
  const ex = status.keys?.explorer ?? {};
  check((status.in_flight ?? []).length === 0, `nothing in flight (got ${JSON.stringify(status.in_flight)})`);
  for (const st of ['used', 'leased', 'draining', 'pending']) check(!ex[st], `no explorer ${st} (got ${ex[st]})`);
  const known = new Set(keys.map((k) => k.pubkey));
  const bankSet = new Set(JSON.parse((await direct('--json', 'keys', 'list', '--tier', 'bank')).stdout).map((k) => k.pubkey));
  const sigLists = await rpcBatch(nodeUrl, keys.map((k) => ['getSignaturesForAddress', [k.pubkey, { commitment: 'confirmed' }]]), 50);
  const allSigs = [...new Set(sigLists.flat().map((s) => s.signature))];
  const txs = await rpcBatch(nodeUrl, allSigs.map((s) => ['getTransaction', [s, { encoding: 'json', commitment: 'confirmed' }]]), 50);
  const txBySig = new Map(allSigs.map((s, i) => [s, txs[i]]));
  const accounts = await rpcBatch(nodeUrl, keys.map((k) => ['getBalance', [k.pubkey, { commitment: 'confirmed' }]]), 100);
  let lifecycles = 0;
  let landerTxs = 0;
  const signedByLanders = new Set(landers.flatMap((l) => [...l.stats.signedBy.keys()]));
  const stateCount = {};
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    stateCount[k.state] = (stateCount[k.state] ?? 0) + 1;
    let funded = 0; let lander = 0; let recovered = 0;
    for (const s of sigLists[i]) {
      const tx = txBySig.get(s.signature);
      if (!tx) continue;
      const m = tx.transaction.message;
      const signers = m.accountKeys.slice(0, m.header.numRequiredSignatures);
      const idx = m.accountKeys.indexOf(k.pubkey);
      const delta = BigInt(tx.meta.postBalances[idx]) - BigInt(tx.meta.preBalances[idx]);
      // A trade counts once it is on chain, even if it failed: it was signed.
      if (signers.includes(k.pubkey) && m.accountKeys.includes(market)) { lander++; continue; }
      if (tx.meta.err !== null) continue;  // funding and recovery: only what took effect
      if (!signers.includes(k.pubkey)) { if (delta > 0n) funded++; continue; }
      if (m.accountKeys.some((a) => bankSet.has(a))) recovered++;
      else failures.push(`${k.pubkey} signed a transaction that is neither a trade nor its recovery: ${s.signature}`);
    }
    landerTxs += lander;
    const lamports = BigInt(accounts[i].value);
    check(lander <= 1, `${k.pubkey} signed ${lander} Lander transactions (I2)`);
    check(funded <= 1, `${k.pubkey} was funded ${funded} times (I4)`);
    if (lander > 0 || k.state === 'retired') {
      check(k.state === 'retired', `${k.pubkey} signed a trade but is ${k.state}`);
      check(lamports === 0n, `${k.pubkey} (${k.state}) holds ${lamports} lamports, want 0`);
    }
    if (k.state === 'available') {
      check(lamports === LAMPORTS_PER_EXPLORER, `available ${k.pubkey} holds ${lamports}, want ${LAMPORTS_PER_EXPLORER}`);
      check(lander === 0 && !signedByLanders.has(k.pubkey), `available ${k.pubkey} has signed`);
    }
    if (k.state === 'dropped') check(lamports === 0n && funded === 0, `dropped ${k.pubkey} holds ${lamports} / funded ${funded}`);
    if (funded === 1 && lander === 1 && recovered >= 1) lifecycles++;
  }
  // What the Landers saw: no Explorer outside the store, none signed twice.
  const signedTwice = [];
  for (const l of landers) for (const [pk, n] of l.stats.signedBy) { if (n > 1) signedTwice.push(pk); if (!known.has(pk)) failures.push(`leased ${pk} is not in the store`); }
  check(signedTwice.length === 0, `the daemon signed twice for ${signedTwice.join(', ')}`);
  const sum = (f) => landers.reduce((a, l) => a + f(l.stats), 0);
  check(landerTxs >= sum((s) => s.confirmed),
    `chain holds ${landerTxs} trades, Landers confirmed ${sum((s) => s.confirmed)}`);
  // Conservation (I6), to the lamport.
  const info = await rpcCall(nodeUrl, 'qtwLocalnetInfo');
  const marketNow = BigInt((await rpcCall(nodeUrl, 'getBalance', [market])).value);
  const managed = BigInt(status.balances_lamports.total);
  const fees = BigInt(info.userFeesCollected);
  check(managed + (marketNow - MARKET_AIRDROP) + fees === AIRDROP,
    `conservation: managed ${managed} + market ${marketNow - MARKET_AIRDROP} + fees ${fees} != ${AIRDROP}`);
  check(refusedSecond === null || refusedSecond === 'refused', `second daemon with the same instance: ${refusedSecond}`);

  // ---- report ----
  const seconds = (performance.now() - t0) / 1000;
  const faults = Object.entries(fstats.faults ?? {}).sort();
  const med = quantile(ttfl, 0.5);
  const worst = ttfl.length ? Math.max(...ttfl) : NaN;
  const out = [];
  out.push(`chaos: ${done} kills${done < o.kills ? ` (of ${o.kills} asked; stopped early)` : ''}, fault rate ${o.faultRate}, ${o.landers} Landers, ${o.postgres ? 'PostgreSQL, 2 daemons' : 'SQLite, 1 daemon'}, seed ${o.seed}, ${seconds.toFixed(0)} s`);
  out.push('');
  out.push(table(['kills by phase', 'count'], [...Object.entries(kills).filter(([, n]) => n > 0), ['total', done]]));
  if (waitedOut) out.push(`(${waitedOut} targeted phases not seen within 6 s: killed in whatever phase it was)`);
  out.push('');
  out.push(table(['faults by kind', 'count'], [...faults, ['wallet RPC requests', fstats.requests]]));
  out.push('');
  out.push(table(['lifecycles', 'count'], [
    ['leases served', sum((s) => s.leases)], ['signatures', sum((s) => s.signed)],
    ['trades confirmed (Landers)', sum((s) => s.confirmed)], ['trades on chain', landerTxs],
    ['trades not landed', sum((s) => s.notLanded)], ['trades abandoned (daemon died)', sum((s) => s.abandoned)],
    ['pool empty (503)', sum((s) => s.dry503)], ['daemon unreachable', sum((s) => s.daemonErrors)],
    ['full lifecycles on chain (fund, trade, recover)', lifecycles],
    ...Object.entries(stateCount).map(([st, n]) => [`explorers ${st}`, n])]));
  out.push('');
  out.push(table(['time to first lease after restart', 'ms'], [
    ['restarts measured', ttfl.length], ['median', med.toFixed(0)], ['p90', quantile(ttfl, 0.9).toFixed(0)], ['worst', worst.toFixed(0)]]));
  // The slow restarts (first lease > 1 s): slow to start, or an empty pool?
  const slow = restarts.filter((r) => r.ttflMs > 1000);
  const dry = slow.filter((r) => r.availableAtReady === 0);
  out.push(`restarts over 1 s: ${slow.length} of ${restarts.length}; of those, the store had no available Explorer at READY: ${dry.length}` +
    (slow.length ? `; median READY ${quantile(slow.map((r) => r.readyMs), 0.5).toFixed(0)} ms` : ''));
  out.push('');
  out.push(`second live daemon with the same --instance: ${refusedSecond ?? 'not tried (no kills)'}`);
  out.push(failures.length === 0 ? 'checks: all passed (single use, funded once, drained to 0, conservation, store = chain)'
    : `checks: ${failures.length} FAILED\n  ${failures.slice(0, 40).join('\n  ')}`);
  process.stdout.write(out.join('\n') + '\n');
  if (o.jsonOut) {
    writeFileSync(o.jsonOut, JSON.stringify({ options: o, seconds, killsDone: done, kills, faults: Object.fromEntries(faults),
      requests: fstats.requests, ttfl_ms: { median: med, worst, samples: ttfl }, restarts, lifecycles, landerTxs, failures }, null, 1));
  }
  return failures.length === 0 ? 0 : 1;
}

let code = 1;
try { code = await main(); } catch (e) { process.stderr.write(`chaos: ${e.stack ?? e}\n`); code = 1; }
await cleanup();
process.exit(code);
