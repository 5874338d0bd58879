// deploy/grafana/qtw.json and deploy/prometheus/alerts.yml against a live
// daemon: `qtw serve` on the local node, one balancer cycle that hits the
// Bank outflow cap, then the node killed so cycles and RPC requests fail.
// Every qtrade_wallets_* metric the dashboard or the rules query must be one
// the daemon exports (a series, or a family announced by # TYPE), and the
// per-key gauges must equal the chain's balances of every HODL and Bank key.
// Usage: QTW=path/to/qtw node --test metrics_coverage.test.mjs
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, chmodSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProcess } from '../../support/node/processes.mjs';

const QTW = process.env.QTW;
const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const work = mkdtempSync(join(tmpdir(), 'qtw-deploy-metrics-'));
const env = { ...process.env, QTW_PASSPHRASE: 'metrics test' };
const TOKEN = 'b'.repeat(20) + '0123456789abcdef';
const procs = [];

function start(cmd, args) {
  const proc = startProcess(cmd, args, env);
  procs.push(proc.p);
  return proc;
}
function run(args) {
  const r = spawnSync(QTW, args, { env, encoding: 'utf8' });
  assert.equal(r.status, 0, `qtw ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
after(() => {
  for (const p of procs) p.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

// Names of the series a /metrics text exports, histogram children included.
function exported(text) {
  const names = new Set();
  for (const line of text.split('\n')) {
    const t = line.match(/^# TYPE (\S+) (\S+)/);
    if (t) {
      names.add(t[1]);
      if (t[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(t[1] + s);
      continue;
    }
    const s = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/);
    if (s) names.add(s[1]);
  }
  return names;
}
function sample(text, name, labels = '') {
  const esc = (name + labels).replace(/[{}"=,|.]/g, (c) => '\\' + c);
  const m = text.match(new RegExp(`^${esc} (\\S+)$`, 'm'));
  return m ? Number(m[1]) : undefined;
}
// The qtrade_wallets_* names an expression refers to.
const metricNames = (expr) => [...expr.matchAll(/\bqtrade_wallets_[a-z0-9_]+/g)].map((m) => m[0]);

test('every metric the dashboard and the alert rules query is exported by qtw serve', async () => {
  const node = start('node', [join(SRC, 'tools/localnet/server.js'), '--port', '0']);
  const nodeUrl = await node.ready;
  const db = join(work, 'w.db');
  writeFileSync(join(work, 'token'), TOKEN + '\n');
  chmodSync(join(work, 'token'), 0o600);
  const hodl = run(['keygen', '-o', join(work, 'hodl.json')]).trim();
  run(['--rpc-url', nodeUrl, 'airdrop', hodl, '20000000000']);
  run(['--store', db, '--rpc-url', nodeUrl, 'init', '--banks', '2', '--hodl-keypair', join(work, 'hodl.json'),
    '--kdf-opslimit', '1', '--kdf-memlimit-kib', '8']);
  const toml = (min, caps) => `[rpc]\nurl = "${nodeUrl}"\n[store]\npath = "${db}"\n` +
    `[balancer]\nmin_explorer_keys = ${min}\nexplorer_keys_to_create = ${min}\nlamports_per_explorer = 2000000\n` +
    `lamports_per_bank = 1000000000\ninterval_ms = 200\nleader_ttl_ms = 1000\n` +
    // A pool of exactly 4 (no fill up to 21), so the daemon's 10 meets the cap.
    `fill_funding_transactions = false\n` + caps;
  // A pool of 4 made by a one-shot balance; then the daemon wants 10, but
  // the Banks' hourly outflow cap (already spent) allows no more: a cap hit
  // and no transfer, so the balances it reads stay the chain's.
  writeFileSync(join(work, 'fill.toml'), toml(4, ''));
  writeFileSync(join(work, 'serve.toml'), toml(10, '[caps]\nmax_bank_outflow_lamports_per_hour = 1000000\n'));
  run(['--config', join(work, 'fill.toml'), 'balance']);
  const daemon = start(QTW, ['--config', join(work, 'serve.toml'), 'serve', '--listen', '127.0.0.1:0',
    '--token-file', join(work, 'token'), '--instance', 'metrics-test']);
  const url = await daemon.ready;
  const scrape = async () => {
    const r = await fetch(url + '/metrics');
    assert.equal(r.status, 200);
    return r.text();
  };
  let text = '';
  for (let i = 0; i < 300; i++) {
    text = await scrape();
    if ((sample(text, 'qtrade_wallets_cap_hits_total', '{cap="bank_outflow"}') ?? 0) >= 1) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(sample(text, 'qtrade_wallets_cap_hits_total', '{cap="bank_outflow"}') >= 1, text);
  assert.equal(sample(text, 'qtrade_wallets_cap_hits_total', '{cap="hodl_outflow"}'), 0);
  assert.equal(sample(text, 'qtrade_wallets_cap_hits_total', '{cap="explorer_amount"}'), 0);
  assert.equal(sample(text, 'qtrade_wallets_balancer_cycles_failed_total'), 0);

  // One gauge per HODL and Bank key, equal to the chain's balance.
  const keys = JSON.parse(run(['--store', db, '--json', 'keys', 'list']));
  const watched = keys.filter((k) => k.tier === 'hodl' || k.tier === 'bank');
  assert.equal(watched.length, 3);
  const gauges = [...text.matchAll(/^qtrade_wallets_key_lamports\{tier="(\w+)",pubkey="(\w+)"\} (\d+)$/mg)];
  assert.equal(gauges.length, 3, text);
  for (const k of watched) {
    const res = await fetch(nodeUrl, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'getBalance', params: [k.pubkey, { commitment: 'confirmed' }] }) });
    const chain = (await res.json()).result.value;
    assert.ok(chain > 0);
    assert.equal(sample(text, 'qtrade_wallets_key_lamports', `{tier="${k.tier}",pubkey="${k.pubkey}"}`), chain, k.pubkey);
  }
  assert.ok(!/key_lamports\{tier="explorer"/.test(text), 'Explorers stay in the histogram');

  // The node goes away: cycles fail and RPC errors are counted.
  node.p.kill('SIGKILL');
  for (let i = 0; i < 300; i++) {
    text = await scrape();
    if ((sample(text, 'qtrade_wallets_balancer_cycles_failed_total') ?? 0) >= 1 &&
        /^qtrade_wallets_rpc_errors_total\{/m.test(text)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(sample(text, 'qtrade_wallets_balancer_cycles_failed_total') >= 1, text);
  assert.match(text, /^qtrade_wallets_rpc_errors_total\{method="\w+",error="\w+"\} [1-9]/m);

  const have = exported(text);
  const dashboard = JSON.parse(readFileSync(join(SRC, 'deploy/grafana/qtw.json'), 'utf8'));
  const queried = new Map();
  const walk = (x, where) => {
    if (Array.isArray(x)) x.forEach((y) => walk(y, where));
    else if (x && typeof x === 'object') {
      for (const [k, v] of Object.entries(x)) {
        if ((k === 'expr' || k === 'query' || k === 'definition') && typeof v === 'string') {
          for (const n of metricNames(v)) queried.set(n, where);
        } else walk(v, x.title ? `dashboard panel "${x.title}"` : where);
      }
    }
  };
  walk(dashboard, 'dashboard');
  const panels = dashboard.panels.filter((p) => p.targets?.length);
  assert.ok(panels.length >= 7, 'pool, leases, fees, recovered, balances, cycle duration, RPC errors');
  const rules = readFileSync(join(SRC, 'deploy/prometheus/alerts.yml'), 'utf8');
  for (const m of rules.matchAll(/^\s*expr:\s*(>\s*\n((?:\s{10,}.*\n)+)|.*)$/mg)) {
    for (const n of metricNames(m[2] ?? m[1])) queried.set(n, 'alerts.yml');
  }
  for (const a of ['QtwExplorerPoolEmpty', 'QtwBankKeyLow', 'QtwHodlKeyLow',
    'QtwBalancerCyclesFailing', 'QtwCapHit']) assert.match(rules, new RegExp(`alert: ${a}\\b`));
  assert.ok(queried.size >= 12, [...queried.keys()].join(' '));
  const missing = [...queried].filter(([n]) => !have.has(n)).map(([n, w]) => `${n} (${w})`);
  assert.deepEqual(missing, [], `queried but not exported by qtw serve:\n${missing.join('\n')}`);
});
