// No secret at rest where it should not be. A representative flow on the
// local node (keygen, init with a HODL keypair, balance, acquire --outfile,
// serve with a token and JSON logs, a lease + sign + return over HTTP,
// export-seed), then every log file, the SQLite store (db, -wal, -shm, taken
// while the daemon runs) and a `sqlite3 .dump` of it are scanned for the
// master seed, the HODL secret, a Bank and two Explorer secrets (derived here
// from the master seed with SLIP-10, and checked against the keys qtw uses),
// the daemon token and the passphrase: raw bytes, hex (both cases), base58
// and JSON arrays. None may appear. Also: qtw cannot dump core (RLIMIT_CORE
// 0, and not dumpable: checked on a daemon run as an unprivileged user).
// Usage: QTW=path/to/qtw node --test secrets_scan.test.mjs
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac, createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtempSync, mkdirSync, writeFileSync, chmodSync, chownSync, rmSync, readFileSync,
  readdirSync, existsSync, statSync, copyFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as kit from '@solana/kit';
import { startProcess } from '../../support/node/processes.mjs';

const QTW = process.env.QTW;
const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const work = mkdtempSync(join(tmpdir(), 'qtw-secrets-'));
const logs = join(work, 'logs');
mkdirSync(logs);
const PASSPHRASE = 'correct horse battery staple 4 secrets test';
const TOKEN = 'tok' + 'e1'.repeat(12) + 'f00dfeedbeef';
const env = { ...process.env, QTW_PASSPHRASE: PASSPHRASE };
const procs = [];
let logN = 0;
after(() => {
  for (const p of procs) p.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

function qtw(args, opts = {}) {
  const r = spawnSync(QTW, args, { env, encoding: 'buffer', ...opts });
  const name = `${String(++logN).padStart(2, '0')}-${args.find((a) => !a.startsWith('-') && !a.includes('/')) ?? 'qtw'}`;
  writeFileSync(join(logs, name + '.stderr'), r.stderr);
  if (!opts.secretOutput) writeFileSync(join(logs, name + '.stdout'), r.stdout);
  assert.equal(r.status, 0, `qtw ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.toString();
}
function start(cmd, args, logName) {
  const proc = startProcess(cmd, args, env);
  procs.push(proc.p);
  proc.save = () => {
    writeFileSync(join(logs, logName + '.stderr'), proc.log());
    writeFileSync(join(logs, logName + '.stdout'), proc.out());
  };
  return proc;
}

// SLIP-10 for ed25519 (hardened only), as src/solana/slip10.cpp implements it.
function slip10(seed, path) {
  let I = createHmac('sha512', 'ed25519 seed').update(seed).digest();
  for (const i of path) {
    const data = Buffer.alloc(37);
    I.copy(data, 1, 0, 32);
    data.writeUInt32BE((i | 0x80000000) >>> 0, 33);
    I = createHmac('sha512', I.subarray(32)).update(data).digest();
  }
  return I.subarray(0, 32);
}
function pubkeyOf(secret32) {
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), secret32]);
  const jwk = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })).export({ format: 'jwk' });
  return Buffer.from(jwk.x, 'base64url');
}
const b58 = (bytes) => kit.getBase58Decoder().decode(bytes);

// Every form a secret could be written in.
function forms(name, bytes) {
  const out = [[`${name} raw`, bytes]];
  const text = (label, s) => out.push([`${name} ${label}`, Buffer.from(s)]);
  text('hex', bytes.toString('hex'));
  text('HEX', bytes.toString('hex').toUpperCase());
  text('base58', b58(bytes));
  text('base64', bytes.toString('base64'));
  text('JSON array', [...bytes].join(','));
  text('JSON array (spaced)', [...bytes].join(', '));
  return out;
}

test('no secret in logs, store files or a store dump; qtw cannot dump core', async () => {
  const node = start('node', [join(SRC, 'tools/localnet/server.js'), '--port', '0'], 'localnet');
  const url = await node.ready;
  const db = join(work, 'w.db');
  const Q = (...a) => ['--store', db, '--rpc-url', url, ...a];
  writeFileSync(join(work, 'token'), TOKEN + '\n');
  chmodSync(join(work, 'token'), 0o600);
  const hodl = qtw(['keygen', '-o', join(work, 'hodl.json')]).trim();
  const hodlKeypair = Buffer.from(JSON.parse(readFileSync(join(work, 'hodl.json'), 'utf8')));
  assert.equal(hodlKeypair.length, 64);
  qtw(['--rpc-url', url, 'airdrop', hodl, '10000000000']);
  qtw(Q('init', '--banks', '1', '--hodl-keypair', join(work, 'hodl.json'), '--kdf-opslimit', '1', '--kdf-memlimit-kib', '8'));
  writeFileSync(join(work, 'qtw.toml'), `[rpc]\nurl = "${url}"\n[store]\npath = "${db}"\n` +
    `[balancer]\nmin_explorer_keys = 4\nexplorer_keys_to_create = 4\nlamports_per_explorer = 2000000\n` +
    `lamports_per_bank = 1000000000\ninterval_ms = 500\nleader_ttl_ms = 1000\n[log]\nformat = "json"\nlevel = "debug"\n`);
  qtw(['--config', join(work, 'qtw.toml'), '--json', 'balance']);
  qtw(['--config', join(work, 'qtw.toml'), 'status']);
  // acquire --outfile: the one sanctioned way a secret leaves qtw; removed after.
  qtw(['--config', join(work, 'qtw.toml'), 'acquire', '--outfile', join(work, 'explorer.json')]);
  const acquired = Buffer.from(JSON.parse(readFileSync(join(work, 'explorer.json'), 'utf8')));
  unlinkSync(join(work, 'explorer.json'));
  const seedHex = qtw(['--config', join(work, 'qtw.toml'), 'export-seed', '--yes-i-understand'], { secretOutput: true }).trim();
  assert.match(seedHex, /^[0-9a-f]{64}$/);
  const master = Buffer.from(seedHex, 'hex');

  // Derive keys the way qtw does and check them against what it uses.
  const keys = JSON.parse(qtw(['--config', join(work, 'qtw.toml'), '--json', 'keys', 'list']));
  const bank = keys.find((k) => k.tier === 'bank');
  const bankSecret = slip10(master, [44, 501, 1000, bank.bank_index, 0]);
  assert.equal(b58(pubkeyOf(bankSecret)), bank.pubkey, 'Bank derivation');
  const explorers = keys.filter((k) => k.tier === 'explorer' && k.explorer_index !== null);
  assert.ok(explorers.length >= 4);
  const explorerSecrets = explorers.map((e) => {
    const s = slip10(master, [44, 501, 1001, e.bank_index, e.explorer_index]);
    assert.equal(b58(pubkeyOf(s)), e.pubkey, `Explorer ${e.explorer_index} derivation`);
    return s;
  });
  assert.ok(explorerSecrets.some((s) => s.equals(acquired.subarray(0, 32))), 'acquire --outfile wrote a derived Explorer');

  // The daemon: JSON logs at debug, one lease, sign, return.
  const daemon = start(QTW, ['--config', join(work, 'qtw.toml'), 'serve', '--listen', '127.0.0.1:0',
    '--token-file', join(work, 'token'), '--instance', 'secrets', '--log-format', 'json', '--log-level', 'debug'], 'serve');
  const api = await daemon.ready;
  const call = async (method, path, body) => {
    const r = await fetch(api + path, { method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body });
    return { status: r.status, json: await r.json().catch(() => null) };
  };
  let lease;
  for (let i = 0; i < 100 && !lease; i++) {
    const r = await call('POST', '/v1/explorers/lease', '{}');
    if (r.status === 200) lease = r.json; else await new Promise((res) => setTimeout(res, 100));
  }
  assert.ok(lease, 'a lease');
  const rpc = kit.createSolanaRpc(url);
  const { value: bh } = await rpc.getLatestBlockhash({ commitment: 'confirmed' }).send();
  const signer = { address: kit.address(lease.pubkey), signTransactions: async () => [] };
  const msg = kit.compileTransactionMessage(kit.pipe(
    kit.createTransactionMessage({ version: 'legacy' }),
    (m) => kit.setTransactionMessageFeePayerSigner(signer, m),
    (m) => kit.setTransactionMessageLifetimeUsingBlockhash(bh, m)));
  const message = Buffer.from(kit.getCompiledTransactionMessageEncoder().encode(msg));
  assert.equal((await call('POST', `/v1/explorers/${lease.pubkey}/sign`, JSON.stringify({ message: message.toString('base64') }))).status, 200);
  assert.equal((await call('POST', `/v1/explorers/${lease.pubkey}/return`, JSON.stringify({ retire: true }))).status, 200);
  // A failed authentication is logged: with the wrong token, never the right one.
  await fetch(api + '/v1/status', { headers: { authorization: `Bearer ${TOKEN.slice(0, -1)}X` } });

  // Core dumps: RLIMIT_CORE 0 in the daemon's limits.
  const limits = readFileSync(`/proc/${daemon.p.pid}/limits`, 'utf8');
  assert.match(limits, /^Max core file size\s+0\s+0\s+bytes/m, limits);

  // The store files as they are while the daemon runs (the WAL holds recent pages).
  const snap = join(work, 'snapshot');
  mkdirSync(snap);
  for (const f of readdirSync(work).filter((f) => f.startsWith('w.db'))) copyFileSync(join(work, f), join(snap, f));
  daemon.p.kill('SIGTERM');
  await daemon.exited;
  daemon.save();
  const dump = spawnSync('sqlite3', [db, '.dump'], { encoding: 'buffer' });
  assert.equal(dump.status, 0, String(dump.stderr));
  writeFileSync(join(work, 'dump.sql'), dump.stdout);
  assert.match(dump.stdout.toString(), /CREATE TABLE/);

  // Not dumpable: run the daemon as an unprivileged user. The files under
  // /proc/<pid>/ (environ, mem, status) of a non-dumpable process belong to
  // root, those of a dumpable one to the process's user.
  if (process.getuid() === 0 && spawnSync('setpriv', ['--version']).status === 0) {
    const priv = join(work, 'priv');
    mkdirSync(priv);
    copyFileSync(db, join(priv, 'w.db'));
    copyFileSync(join(work, 'token'), join(priv, 'token'));
    for (const f of ['', 'w.db', 'token']) chownSync(join(priv, f), 65534, 65534);
    chmodSync(priv, 0o700);
    chmodSync(work, 0o755);
    const d2 = start('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--', QTW, '--store', join(priv, 'w.db'),
      '--rpc-url', url, 'serve', '--listen', '127.0.0.1:0', '--token-file', join(priv, 'token'), '--instance', 'nobody'], 'serve-nobody');
    await d2.ready;
    const status = readFileSync(`/proc/${d2.p.pid}/status`, 'utf8');
    assert.match(status, /^Uid:\s+65534\s/m, 'runs as the unprivileged user');
    for (const f of ['environ', 'mem']) {
      assert.equal(statSync(`/proc/${d2.p.pid}/${f}`).uid, 0, `not dumpable: /proc/<pid>/${f} belongs to root`);
    }
    assert.match(readFileSync(`/proc/${d2.p.pid}/limits`, 'utf8'), /^Max core file size\s+0\s+0\s+bytes/m);
    d2.p.kill('SIGTERM');
    await d2.exited;
    d2.save();
  }
  node.p.kill('SIGKILL');
  await node.exited;
  node.save();

  const secrets = [
    ...forms('master seed', master),
    ...forms('HODL secret', hodlKeypair.subarray(0, 32)),
    ...forms('HODL keypair', hodlKeypair),
    ...forms('Bank secret', bankSecret),
    ...explorerSecrets.flatMap((s, i) => forms(`Explorer ${i} secret`, s)),
    ...forms('Explorer keypair', acquired),
    ...forms('token', Buffer.from(TOKEN)),
    ...forms('passphrase', Buffer.from(PASSPHRASE)),
  ];
  // Controls: the scanner finds what is there (export-seed's own output, the
  // HODL keypair file, the token file).
  const hits = (content) => secrets.filter(([, needle]) => content.includes(needle)).map(([w]) => w);
  assert.ok(hits(Buffer.from(seedHex)).includes('master seed hex'));
  assert.ok(hits(readFileSync(join(work, 'hodl.json'))).includes('HODL keypair JSON array'));
  assert.ok(hits(readFileSync(join(work, 'token'))).includes('token raw'));
  assert.ok(hits(Buffer.from(b58(master))).includes('master seed base58'));
  const files = [
    ...readdirSync(logs).map((f) => join(logs, f)),
    ...readdirSync(snap).map((f) => join(snap, f)),
    ...readdirSync(work).filter((f) => f.startsWith('w.db')).map((f) => join(work, f)),
    join(work, 'dump.sql'),
  ];
  assert.ok(files.some((f) => f.endsWith('-wal')), `a WAL file was scanned: ${files.join(' ')}`);
  assert.ok(readFileSync(join(logs, 'serve.stderr'), 'utf8').includes('"level"'), 'JSON logs were written');
  const found = [];
  let bytes = 0;
  for (const f of files) {
    const content = readFileSync(f);
    bytes += content.length;
    for (const [what, needle] of secrets) {
      if (needle.length >= 8 && content.includes(needle)) found.push(`${what} in ${f.slice(work.length + 1)}`);
    }
  }
  assert.ok(bytes > 10000, `scanned ${bytes} bytes`);
  assert.deepEqual(found, [], found.join('\n'));
});
