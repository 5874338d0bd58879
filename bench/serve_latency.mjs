#!/usr/bin/env node
// qtw serve hot path: lease + sign + return round trips through the daemon's
// HTTP API on loopback, 1 client and 8 concurrent clients, on the local node.
// Prints p50/p90/p99 latency of one lifecycle (3 requests) and lifecycles/s.
// Timings are printed, never asserted (bench/RESULTS.md keeps the figures).
//
//   QTW=build/apps/qtw/qtw node bench/serve_latency.mjs [--n 1000] [--clients 8] [--strace]
//
// Also printed, because they do not depend on how busy the machine is: the
// daemon's CPU time per lifecycle (/proc/PID/stat), and with --strace the
// syscalls per lifecycle that cost most on the hot path (fdatasync/fsync: a
// durable commit each; mlock/mprotect: a guarded secret allocation) counted
// over the 1-client run (the daemon runs under strace -f then, so its
// latency figures are not comparable).
//
// The message signed is a legacy System transfer from the Explorer (built
// here byte by byte, so the client costs little); it is never sent.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, chmodSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as kit from '@solana/kit';

const QTW = process.env.QTW;
if (!QTW) { console.error('set QTW=path/to/qtw'); process.exit(2); }
const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : dflt; };
const N = opt('--n', 1000);
const CLIENTS = opt('--clients', 8);
const STRACE = args.includes('--strace');
const SRC = join(dirname(fileURLToPath(import.meta.url)), '..');
const work = mkdtempSync(join(tmpdir(), 'qtw-bench-serve-'));
const env = { ...process.env, QTW_PASSPHRASE: 'bench' };
const TOKEN = 'b'.repeat(40);

function start(cmd, argv) {
  const p = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = ''; let err = '';
  p.stderr.on('data', (d) => { err += d; });
  const ready = new Promise((resolve, reject) => {
    p.stdout.on('data', (d) => { out += d; const m = out.match(/READY (\S+)/); if (m) resolve(m[1]); });
    p.on('exit', (code) => reject(new Error(`${cmd} exited ${code}: ${err}`)));
  });
  return { p, ready };
}
function qtw(nodeUrl, ...a) {
  const r = spawnSync(QTW, ['--store', join(work, 'w.db'), '--rpc-url', nodeUrl, ...a], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`qtw ${a.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

// Legacy message: [1,0,1] header, keys [explorer, dest, system], a transfer.
const b58 = kit.getBase58Encoder();
function transfer(explorer, blockhash) {
  const dest = b58.encode('11111111111111111111111111111112');
  const data = Buffer.alloc(12); data.writeUInt32LE(2, 0); data.writeBigUInt64LE(1000n, 4);
  return Buffer.concat([Buffer.from([1, 0, 1, 3]), Buffer.from(b58.encode(explorer)), Buffer.from(dest),
    Buffer.alloc(32), Buffer.from(b58.encode(blockhash)), Buffer.from([1, 2, 2, 0, 1, 12]), data]);
}

const node = start('node', [join(SRC, 'tools/localnet/server.js'), '--port', '0']);
const nodeUrl = await node.ready;
let daemon;
try {
  writeFileSync(join(work, 'token'), TOKEN + '\n'); chmodSync(join(work, 'token'), 0o600);
  const hodl = spawnSync(QTW, ['keygen', '-o', join(work, 'hodl.json')], { env, encoding: 'utf8' }).stdout.trim();
  qtw(nodeUrl, 'airdrop', hodl, '500000000000');
  qtw(nodeUrl, 'init', '--banks', '4', '--hodl-keypair', join(work, 'hodl.json'), '--kdf-opslimit', '1', '--kdf-memlimit-kib', '8');
  const total = N * 2 + 50;
  const toml = (min) => `[rpc]\nurl = "${nodeUrl}"\n[store]\npath = "${join(work, 'w.db')}"\n` +
    `[balancer]\nmin_explorer_keys = ${min}\nexplorer_keys_to_create = ${min}\nlamports_per_explorer = 1000000\n` +
    `lamports_per_bank = 100000000000\ninterval_ms = 60000\n[caps]\nmax_bank_outflow_lamports_per_hour = 1000000000000\n` +
    `max_hodl_outflow_lamports_per_hour = 1000000000000\n[log]\nlevel = "warn"\n`;
  writeFileSync(join(work, 'fill.toml'), toml(total));
  writeFileSync(join(work, 'qtw.toml'), toml(0));
  const fill = spawnSync(QTW, ['--config', join(work, 'fill.toml'), 'balance'], { env, encoding: 'utf8' });
  if (fill.status !== 0) throw new Error(fill.stderr);
  const serve = [QTW, '--config', join(work, 'qtw.toml'), 'serve', '--listen', '127.0.0.1:0', '--token-file', join(work, 'token')];
  const traceFile = join(work, 'strace.txt');
  daemon = STRACE
    ? start('strace', ['-f', '-ttt', '-e', 'trace=fdatasync,fsync,mlock,mprotect', '-o', traceFile, ...serve])
    : start(serve[0], serve.slice(1));
  const url = await daemon.ready;
  const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
  const post = async (path, body) => {
    const r = await fetch(url + path, { method: 'POST', headers, body });
    const j = await r.json();
    if (r.status !== 200) throw new Error(`${path}: ${r.status} ${JSON.stringify(j)}`);
    return j;
  };
  const { value: bh } = await kit.createSolanaRpc(nodeUrl).getLatestBlockhash().send();
  async function lifecycle() {
    const t0 = process.hrtime.bigint();
    const l = await post('/v1/explorers/lease', '{}');
    await post(`/v1/explorers/${l.pubkey}/sign`, JSON.stringify({ message: transfer(l.pubkey, bh.blockhash).toString('base64') }));
    await post(`/v1/explorers/${l.pubkey}/return`, '{"retire":true}');
    return Number(process.hrtime.bigint() - t0) / 1e6;
  }
  const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor(xs.length * p))];
  async function run(clients, n) {
    const lat = [];
    const t0 = Date.now();
    await Promise.all(Array.from({ length: clients }, async () => {
      while (lat.length < n) lat.push(await lifecycle());
    }));
    const secs = (Date.now() - t0) / 1000;
    lat.sort((a, b) => a - b);
    return { clients, lifecycles: lat.length, per_s: Math.round(lat.length / secs),
      p50_ms: +pct(lat, 0.5).toFixed(2), p90_ms: +pct(lat, 0.9).toFixed(2), p99_ms: +pct(lat, 0.99).toFixed(2) };
  }
  for (let i = 0; i < 20; i++) await lifecycle();  // warm up (connections, first claims)
  const cpuMs = () => {
    const f = readFileSync(`/proc/${daemon.p.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;  // utime + stime, 100 ticks/s
  };
  const cpu0 = cpuMs();
  const t0 = Date.now() / 1000;
  const one = await run(1, N);
  const t1 = Date.now() / 1000;
  if (!STRACE) one.daemon_cpu_ms_per_lifecycle = +((cpuMs() - cpu0) / one.lifecycles).toFixed(3);
  if (STRACE) {
    const counts = {};
    for (const line of readFileSync(traceFile, 'utf8').split('\n')) {
      const m = line.match(/^\d+\s+(\d+\.\d+) (\w+)\(/);
      if (m && Number(m[1]) >= t0 && Number(m[1]) <= t1) counts[m[2]] = (counts[m[2]] ?? 0) + 1;
    }
    for (const [k, v] of Object.entries(counts)) one[`${k}_per_lifecycle`] = +(v / one.lifecycles).toFixed(2);
  }
  console.log(JSON.stringify(one));
  console.log(JSON.stringify(await run(CLIENTS, N)));
} finally {
  daemon?.p.kill('SIGKILL');
  node.p.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}
