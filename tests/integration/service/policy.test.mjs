// The daemon's signing policy end to end (docs/DAEMON.md, table "Signing
// policy"): one case per rule. Each leases an Explorer from `qtw serve` on
// the local node, sends the refused message (403 with the rule and the
// instruction index, counted in /metrics, a warning naming the Explorer and
// the rule), then has the same Explorer sign an allowed variant (a refusal
// does not use the lease up) and sends it: it must land. Messages are built
// with @solana/kit, legacy and v0 (with an address lookup table created on
// the local node).
// Usage: QTW=path/to/qtw node --test policy.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as kit from '@solana/kit';
import { getTransferSolInstruction, getCreateAccountInstruction } from '@solana-program/system';
import { getSetComputeUnitLimitInstruction, getSetComputeUnitPriceInstruction } from '@solana-program/compute-budget';

const QTW = process.env.QTW;
const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const work = mkdtempSync(join(tmpdir(), 'qtw-policy-'));
const env = { ...process.env, QTW_PASSPHRASE: 'policy test' };
const TOKEN = 'p'.repeat(24) + '0123456789abcdef';
const FUNDING = 20_000_000n;  // lamports_per_explorer = the default max_outflow_lamports
const { AccountRole: R } = kit;
const SYSTEM = kit.address('11111111111111111111111111111111');
const TOKEN_PROGRAM = kit.address('TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA');
const LOADER_V3 = kit.address('BPFLoaderUpgradeab1e11111111111111111111111');
const ALT = kit.address('AddressLookupTab1e1111111111111111111111111');
const RECENT_BLOCKHASHES = kit.address('SysvarRecentB1ockHashes11111111111111111111');
const RENT = kit.address('SysvarRent111111111111111111111111111111111');
const DENIED = kit.address('Den1ed1111111111111111111111111111111111111');
let node, nodeUrl, rpc, daemon, daemonUrl, strict, strictUrl, bank;
const stranger = kit.address('9iPsPavwxhtv7m1fmSZ44CXJdf7ADthRJjKyM8d7Jwjq');
const refusedByRule = {};
const rent0 = 890_880n;  // rent-exempt minimum of a 0-byte account

function startProcess(cmd, args) {
  const p = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = ''; let err = '';
  p.stderr.on('data', (d) => { err += d; });
  const ready = new Promise((resolve, reject) => {
    p.stdout.on('data', (d) => { out += d; const m = out.match(/READY (\S+)/); if (m) resolve(m[1]); });
    p.on('exit', (code) => reject(new Error(`${cmd} exited ${code}: ${err}`)));
  });
  return { p, ready, log: () => err };
}
function qtw(...args) {
  const r = spawnSync(QTW, ['--store', join(work, 'w.db'), '--rpc-url', nodeUrl, ...args], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`qtw ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
async function call(url, method, path, body) {
  const res = await fetch(url + path, { method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: method === 'GET' ? undefined : (body ?? '{}') });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* metrics */ }
  return { status: res.status, json, text };
}
const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };
const u64 = (v) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); return b; };
const key = (a) => Buffer.from(kit.getAddressEncoder().encode(a));
const ix = (programAddress, accounts, data) => ({ programAddress, accounts: accounts.map(([address, role]) => ({ address, role })), data: Buffer.concat(data) });
const rent = async (space) => rpc.getMinimumBalanceForRentExemption(BigInt(space)).send();
const transfer = (E, lamports = rent0) => ix(SYSTEM, [[E, R.WRITABLE_SIGNER], [stranger, R.WRITABLE]], [u32(2), u64(lamports)]);
const createAccount = (E, n, lamports, space, owner) => ix(SYSTEM, [[E, R.WRITABLE_SIGNER], [n, R.WRITABLE_SIGNER]], [u32(0), u64(lamports), u64(space), key(owner)]);

// Compiles a message with the Explorer as fee payer; returns kit's
// transaction ({messageBytes, signatures}).
async function compile(E, ixs, { version = 'legacy', tables } = {}) {
  const { value: bh } = await rpc.getLatestBlockhash({ commitment: 'confirmed' }).send();
  let m = kit.pipe(kit.createTransactionMessage({ version }),
    (x) => kit.setTransactionMessageFeePayer(E, x),
    (x) => kit.setTransactionMessageLifetimeUsingBlockhash(bh, x),
    (x) => kit.appendTransactionMessageInstructions(ixs, x));
  if (tables) m = kit.compressTransactionMessageUsingAddressLookupTables(m, tables);
  return kit.compileTransaction(m);
}
async function sign(url, E, tx) {
  return call(url, 'POST', `/v1/explorers/${E}/sign`, JSON.stringify({ message: Buffer.from(tx.messageBytes).toString('base64') }));
}
// Adds the daemon's signature and the local co-signers', sends, waits for
// confirmation; returns the status (err null = landed and succeeded).
async function land(E, tx, signatureB58, cosigners = []) {
  const signatures = { ...tx.signatures, [E]: kit.getBase58Encoder().encode(signatureB58) };
  for (const s of cosigners) signatures[s.address] = await kit.signBytes(s.keyPair.privateKey, tx.messageBytes);
  const wire = kit.getBase64EncodedWireTransaction({ ...tx, signatures });
  const sig = await rpc.sendTransaction(wire, { encoding: 'base64' }).send();
  for (let i = 0; i < 300; i++) {
    const { value } = await rpc.getSignatureStatuses([sig]).send();
    if (value[0] && value[0].confirmationStatus !== 'processed') return value[0];
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${sig} never confirmed`);
}

// One row of the table: the refused message, then the allowed variant.
async function row({ rule, index, refused, allowed, url = daemonUrl, version = 'legacy', tables }) {
  const lease = await call(url, 'POST', '/v1/explorers/lease');
  assert.equal(lease.status, 200, lease.text);
  const E = kit.address(lease.json.pubkey);
  try {
    const bad = await sign(url, E, await compile(E, await refused(E), { version, tables }));
    assert.equal(bad.status, 403, bad.text);
    assert.equal(bad.json.rule, rule, bad.text);
    assert.equal(bad.json.instruction_index, index, bad.text);
    assert.match(bad.json.error, /\S/);
    assert.equal(bad.json.signature, undefined);
    refusedByRule[rule] = (refusedByRule[rule] ?? 0) + 1;
    const { ixs, cosigners = [] } = await allowed(E);
    const tx = await compile(E, ixs, { version, tables });
    const good = await sign(url, E, tx);
    assert.equal(good.status, 200, good.text);
    const st = await land(E, tx, good.json.signature, cosigners);
    assert.equal(st.err, null, `the allowed variant of ${rule} landed with an error: ${JSON.stringify(st.err, (_, v) => (typeof v === 'bigint' ? String(v) : v))}`);
  } finally {
    assert.equal((await call(url, 'POST', `/v1/explorers/${E}/return`, '{"retire": true}')).status, 200);
  }
  return E;
}

before(async () => {
  node = startProcess('node', [join(SRC, 'tools/localnet/server.js'), '--port', '0', '--slot-ms', '100']);
  nodeUrl = await node.ready;
  rpc = kit.createSolanaRpc(nodeUrl);
  writeFileSync(join(work, 'token'), TOKEN + '\n');
  chmodSync(join(work, 'token'), 0o600);
  const hodl = spawnSync(QTW, ['keygen', '-o', join(work, 'hodl.json')], { env, encoding: 'utf8' }).stdout.trim();
  qtw('airdrop', hodl, '20000000000');
  qtw('init', '--banks', '1', '--hodl-keypair', join(work, 'hodl.json'), '--kdf-opslimit', '1', '--kdf-memlimit-kib', '8');
  bank = JSON.parse(qtw('--json', 'keys', 'list', '--tier', 'bank'))[0].pubkey;
  const toml = (min, policy = '') => `[rpc]\nurl = "${nodeUrl}"\n[store]\npath = "${join(work, 'w.db')}"\n` +
    `[balancer]\nmin_explorer_keys = ${min}\nexplorer_keys_to_create = ${min}\nlamports_per_explorer = ${FUNDING}\n` +
    `lamports_per_bank = 2000000000\nleader_ttl_ms = 1000\n[policy]\n${policy}`;
  // Both daemons lease from this one fill, and each claims ahead of its
  // demand (up to 16 batches of 8 at a high lease rate): enough that the
  // first daemon's claims never leave the second one an empty pool.
  writeFileSync(join(work, 'fill.toml'), toml(300));
  writeFileSync(join(work, 'qtw.toml'), toml(0, `denied_programs = ["${DENIED}"]\n`));
  writeFileSync(join(work, 'strict.toml'), toml(0, `allowed_programs = ["${SYSTEM}", "ComputeBudget111111111111111111111111111111"]\n`));
  const fill = spawnSync(QTW, ['--config', join(work, 'fill.toml'), 'balance'], { env, encoding: 'utf8' });
  assert.equal(fill.status, 0, fill.stderr);
  daemon = startProcess(QTW, ['--config', join(work, 'qtw.toml'), 'serve', '--listen', '127.0.0.1:0', '--token-file', join(work, 'token'), '--instance', 'policy']);
  strict = startProcess(QTW, ['--config', join(work, 'strict.toml'), 'serve', '--listen', '127.0.0.1:0', '--token-file', join(work, 'token'), '--instance', 'strict']);
  daemonUrl = await daemon.ready;
  strictUrl = await strict.ready;
});
after(() => {
  daemon?.p.kill('SIGKILL');
  strict?.p.kill('SIGKILL');
  node?.p.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

// The allowed variant most rows use: a plain trade-like transfer.
const plainTransfer = async (E) => ({ ixs: [transfer(E)] });

test('system_assign: Assign of the Explorer refused; creating and assigning a new account lands', () => row({
  rule: 'system_assign', index: 0,
  refused: async (E) => [ix(SYSTEM, [[E, R.WRITABLE_SIGNER]], [u32(1), key(TOKEN_PROGRAM)])],
  allowed: async (E) => { const n = await kit.generateKeyPairSigner(); return { ixs: [createAccount(E, n.address, await rent(0), 0n, TOKEN_PROGRAM)], cosigners: [n] }; },
}));

test('system_allocate: Allocate on the Explorer refused; a new account with data lands', () => row({
  rule: 'system_allocate', index: 0,
  refused: async (E) => [ix(SYSTEM, [[E, R.WRITABLE_SIGNER]], [u32(8), u64(16)])],
  allowed: async (E) => { const n = await kit.generateKeyPairSigner(); return { ixs: [createAccount(E, n.address, await rent(16), 16n, DENIED)], cosigners: [n] }; },
}));

test('system_create_explorer: CreateAccount of the Explorer refused; of a new key lands', () => row({
  rule: 'system_create_explorer', index: 0,
  refused: async (E) => [ix(SYSTEM, [[E, R.WRITABLE_SIGNER], [E, R.WRITABLE_SIGNER]], [u32(0), u64(1), u64(0), key(TOKEN_PROGRAM)])],
  allowed: async (E) => { const n = await kit.generateKeyPairSigner(); return { ixs: [createAccount(E, n.address, await rent(0), 0n, SYSTEM)], cosigners: [n] }; },
}));

test('system_nonce: the Explorer as a nonce account refused; a transfer lands', () => row({
  rule: 'system_nonce', index: 0,
  refused: async (E) => [ix(SYSTEM, [[E, R.WRITABLE], [RECENT_BLOCKHASHES, R.READONLY], [RENT, R.READONLY]], [u32(6), key(stranger)])],
  allowed: plainTransfer,
}));

test('system_fund_nonce: funding and initializing a nonce account for a stranger refused; a 0-byte account lands', () => row({
  rule: 'system_fund_nonce', index: 0,
  refused: async (E) => { const n = (await kit.generateKeyPairSigner()).address; return [createAccount(E, n, await rent(80), 80n, SYSTEM), ix(SYSTEM, [[n, R.WRITABLE], [RECENT_BLOCKHASHES, R.READONLY], [RENT, R.READONLY]], [u32(6), key(stranger)])]; },
  allowed: async (E) => { const n = await kit.generateKeyPairSigner(); return { ixs: [createAccount(E, n.address, await rent(0), 0n, SYSTEM)], cosigners: [n] }; },
}));

test('durable_nonce: a first AdvanceNonceAccount refused; a blockhash transaction lands', () => row({
  rule: 'durable_nonce', index: 0,
  refused: async (E) => [ix(SYSTEM, [[stranger, R.WRITABLE], [RECENT_BLOCKHASHES, R.READONLY], [E, R.READONLY_SIGNER]], [u32(4)]), transfer(E)],
  allowed: plainTransfer,
}));

// A mint and a token account of the Explorer, made in the same message; the
// last instruction is the one under test.
async function tokenFlow(E, last) {
  const mint = await kit.generateKeyPairSigner();
  const acct = await kit.generateKeyPairSigner();
  return { ixs: [
    createAccount(E, mint.address, await rent(82), 82n, TOKEN_PROGRAM),
    ix(TOKEN_PROGRAM, [[mint.address, R.WRITABLE]], [Buffer.from([20, 0]), key(E), Buffer.from([0])]),  // InitializeMint2
    createAccount(E, acct.address, await rent(165), 165n, TOKEN_PROGRAM),
    ix(TOKEN_PROGRAM, [[acct.address, R.WRITABLE], [mint.address, R.READONLY]], [Buffer.from([18]), key(E)]),  // InitializeAccount3
    last(acct.address),
  ], cosigners: [mint, acct] };
}
const closeTo = (E, dest) => (a) => ix(TOKEN_PROGRAM, [[a, R.WRITABLE], [dest, R.WRITABLE], [E, R.READONLY_SIGNER]], [Buffer.from([9])]);

test('token_set_authority: SetAuthority of the Explorer\'s token account refused; closing it to the Explorer lands', () => row({
  rule: 'token_set_authority', index: 4,
  refused: async (E) => (await tokenFlow(E, (a) => ix(TOKEN_PROGRAM, [[a, R.WRITABLE], [E, R.READONLY_SIGNER]], [Buffer.from([6, 2, 1]), key(stranger)]))).ixs,
  allowed: async (E) => tokenFlow(E, closeTo(E, E)),
}));

test('token_approve: Approve on the Explorer\'s token account refused; closing it to the Explorer lands', () => row({
  rule: 'token_approve', index: 4,
  refused: async (E) => (await tokenFlow(E, (a) => ix(TOKEN_PROGRAM, [[a, R.WRITABLE], [stranger, R.READONLY], [E, R.READONLY_SIGNER]], [Buffer.from([4]), u64(1)]))).ixs,
  allowed: async (E) => tokenFlow(E, closeTo(E, E)),
}));

test('token_close_to_other: CloseAccount to a stranger refused; to the Explorer lands', () => row({
  rule: 'token_close_to_other', index: 4,
  refused: async (E) => (await tokenFlow(E, closeTo(E, stranger))).ixs,
  allowed: async (E) => tokenFlow(E, closeTo(E, E)),
}));

test('loader_authority: the Explorer as upgrade authority refused; a transfer lands', () => row({
  rule: 'loader_authority', index: 0,
  refused: async (E) => [ix(LOADER_V3, [[stranger, R.WRITABLE], [E, R.READONLY_SIGNER]], [u32(4)])],
  allowed: plainTransfer,
}));

// CreateLookupTable(recent_slot) with `authority`, paid by `payer`.
async function createTable(authority, payer) {
  const slot = (await rpc.getSlot({ commitment: 'processed' }).send()) - 1n;
  const [table, bump] = await kit.getProgramDerivedAddress({ programAddress: ALT, seeds: [key(authority), u64(slot)] });
  return { table, ix: ix(ALT, [[table, R.WRITABLE], [authority, R.READONLY], [payer, R.WRITABLE_SIGNER], [SYSTEM, R.READONLY]], [u32(0), u64(slot), Buffer.from([bump])]) };
}

test('lookup_table_authority: the Explorer as table authority refused; a table for a stranger, paid by the Explorer, lands', () => row({
  rule: 'lookup_table_authority', index: 0,
  refused: async (E) => [ix(ALT, [[stranger, R.WRITABLE], [E, R.READONLY_SIGNER], [E, R.WRITABLE]], [u32(4)])],
  allowed: async (E) => ({ ixs: [(await createTable(stranger, E)).ix] }),
}));

test('managed_signer: a Bank beside the Explorer refused; a stranger co-signer lands', () => row({
  rule: 'managed_signer', index: null,
  refused: async (E) => [transfer(E), ix(SYSTEM, [[kit.address(bank), R.WRITABLE_SIGNER], [stranger, R.WRITABLE]], [u32(2), u64(1)])],
  allowed: async (E) => { const n = await kit.generateKeyPairSigner(); return { ixs: [transfer(E), createAccount(E, n.address, await rent(0), 0n, SYSTEM)], cosigners: [n] }; },
}));

test('max_outflow: a transfer of the whole funding refused; within it lands', () => row({
  rule: 'max_outflow', index: 0,
  refused: async (E) => [transfer(E, FUNDING)],
  allowed: async (E) => ({ ixs: [transfer(E, FUNDING / 2n)] }),
}));

test('max_priority_fee: 1,400,000 CU at 1,000 lamports each refused; a small priority fee lands', () => row({
  rule: 'max_priority_fee', index: null,
  refused: async (E) => [getSetComputeUnitLimitInstruction({ units: 1_400_000 }), getSetComputeUnitPriceInstruction({ microLamports: 1_000_000_000n }), transfer(E)],
  allowed: async (E) => ({ ixs: [getSetComputeUnitLimitInstruction({ units: 10_000 }), getSetComputeUnitPriceInstruction({ microLamports: 1_000n }), transfer(E)] }),
}));

test('program_denied: a program in denied_programs refused; without it lands', () => row({
  rule: 'program_denied', index: 1,
  refused: async (E) => [transfer(E), ix(DENIED, [[E, R.WRITABLE_SIGNER]], [Buffer.from([1])])],
  allowed: plainTransfer,
}));

test('program_not_allowed: with allowed_programs = System and ComputeBudget, SPL Token refused; a transfer lands', () => row({
  url: strictUrl, rule: 'program_not_allowed', index: 1,
  refused: async (E) => [transfer(E), ix(TOKEN_PROGRAM, [[stranger, R.WRITABLE], [E, R.READONLY_SIGNER]], [Buffer.from([9])])],
  allowed: plainTransfer,
}));

test('malformed_instruction: a System transfer with short data refused; a whole one lands', () => row({
  rule: 'malformed_instruction', index: 0,
  refused: async (E) => [ix(SYSTEM, [[E, R.WRITABLE_SIGNER], [stranger, R.WRITABLE]], [u32(2), Buffer.from([1])])],
  allowed: plainTransfer,
}));

test('v0 with a lookup table: Assign refused; a transfer to an address loaded from the table lands', async () => {
  // A table (authority: a local key) holding a fresh destination.
  const owner = await kit.generateKeyPairSigner();
  await rpc.requestAirdrop(owner.address, 1_000_000_000n).send();
  for (let i = 0; i < 100 && (await rpc.getBalance(owner.address, { commitment: 'confirmed' }).send()).value === 0n; i++) await new Promise((r) => setTimeout(r, 50));
  const dest = (await kit.generateKeyPairSigner()).address;
  const { table, ix: create } = await createTable(owner.address, owner.address);
  const extend = ix(ALT, [[table, R.WRITABLE], [owner.address, R.READONLY_SIGNER], [owner.address, R.WRITABLE_SIGNER], [SYSTEM, R.READONLY]], [u32(2), u64(1), key(dest)]);
  const setup = await compile(owner.address, [create, extend]);
  const ownerSig = await kit.signBytes(owner.keyPair.privateKey, setup.messageBytes);
  const st = await land(owner.address, setup, kit.getBase58Decoder().decode(ownerSig));
  assert.equal(st.err, null);
  await new Promise((r) => setTimeout(r, 300));  // extended addresses are usable from the next slot
  const tables = { [table]: [dest] };
  await row({
    rule: 'system_assign', index: 1, version: 0, tables,
    refused: async (E) => [ix(SYSTEM, [[E, R.WRITABLE_SIGNER], [dest, R.WRITABLE]], [u32(2), u64(1000)]), ix(SYSTEM, [[E, R.WRITABLE_SIGNER]], [u32(1), key(TOKEN_PROGRAM)])],
    allowed: async (E) => ({ ixs: [ix(SYSTEM, [[E, R.WRITABLE_SIGNER], [dest, R.WRITABLE]], [u32(2), u64(rent0)])] }),
  });
  assert.equal((await rpc.getBalance(dest, { commitment: 'confirmed' }).send()).value, rent0);
});
test('every refusal is counted by rule in /metrics and logged with the Explorer and the rule', async () => {
  const m = await call(daemonUrl, 'GET', '/metrics');
  for (const [rule, n] of Object.entries(refusedByRule)) {
    if (rule === 'program_not_allowed') continue;  // the strict daemon's
    const got = Number(m.text.match(new RegExp(`^qtrade_wallets_sign_refused_total\\{rule="${rule}"\\} (\\d+)$`, 'm'))?.[1]);
    assert.equal(got, n, `${rule}: ${m.text.split('\n').filter((l) => l.includes('sign_refused')).join('\n')}`);
  }
  const s = await call(strictUrl, 'GET', '/metrics');
  assert.match(s.text, /^qtrade_wallets_sign_refused_total\{rule="program_not_allowed"\} 1$/m);
  assert.match(daemon.log(), /refused to sign with Explorer [1-9A-HJ-NP-Za-km-z]{32,44} \(lease \d+\): rule max_outflow/);
});
