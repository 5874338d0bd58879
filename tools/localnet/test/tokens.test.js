'use strict';
// Token support of the local node: the native mint exists as on a cluster,
// chaintool.js builds real SPL Token / Token-2022 / ATA transactions, and
// getTokenAccountsByOwner answers as agave does (filters, errors, layout).
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const t = require('../lib/testutil');
const { codec, rpc, rpcCall } = t;

const TOKEN = 'TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA';
const TOKEN_2022 = 'TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb';
const TOOL = path.join(__dirname, '..', 'chaintool.js');

describe('localnet tokens', () => {
  let node; let url; let dir;
  const tool = (...args) => execFileSync(process.execPath, [TOOL, '--rpc', url, ...args], { encoding: 'utf8' }).trim();
  const keyfile = (name) => {
    const k = codec.keypairFromSeed(crypto.randomBytes(32));
    const f = path.join(dir, name);
    fs.writeFileSync(f, JSON.stringify([...k.seed, ...k.publicKey]), { mode: 0o600 });
    return { file: f, pubkey: codec.b58encode(k.publicKey) };
  };
  before(async () => {
    node = await t.startNode(['--slot-ms', '50']);
    url = node.url;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qtw-tokens-'));
  });
  after(async () => { await node.close(); fs.rmSync(dir, { recursive: true, force: true }); });

  it('has the wrapped-SOL mint from genesis', async () => {
    const r = await rpc(url, 'getAccountInfo', ['So11111111111111111111111111111111111111112', { encoding: 'base64' }]);
    assert.equal(r.value.owner, TOKEN);
    const d = Buffer.from(r.value.data[0], 'base64');
    assert.equal(d.length, 82);
    assert.equal(d[44], 9);
    assert.equal(d[45], 1);
  });

  it('lists token accounts by owner per program and per mint', async () => {
    const payer = keyfile('payer.json'); const ex = keyfile('ex.json');
    await rpc(url, 'requestAirdrop', [payer.pubkey, 10_000_000_000]);
    await rpc(url, 'requestAirdrop', [ex.pubkey, 20_000_000]);
    const m1 = tool('create-mint', '--payer', payer.file);
    const m2 = tool('create-mint', '--payer', payer.file, '--program', 'token-2022');
    tool('mint-to', '--payer', payer.file, '--mint', m1, '--owner', payer.pubkey, '--amount', '1000');
    tool('lander', '--explorer', ex.file, '--mm', payer.file, '--buy', `${m1}:token:6:250`, '--empty', `${m2}:token-2022`, '--wrap', '5000');
    const byProgram = await rpc(url, 'getTokenAccountsByOwner', [ex.pubkey, { programId: TOKEN }, { encoding: 'base64' }]);
    assert.equal(byProgram.value.length, 2, 'the SPL Token ATA and wrapped SOL');
    const amounts = byProgram.value.map(({ account }) => Buffer.from(account.data[0], 'base64').readBigUInt64LE(64)).sort();
    assert.deepEqual(amounts, [250n, 5000n]);
    for (const { pubkey, account } of byProgram.value) {
      assert.equal(account.owner, TOKEN);
      assert.equal(tool('ata', '--owner', ex.pubkey, '--mint', codec.b58encode(Buffer.from(account.data[0], 'base64').subarray(0, 32))), pubkey);
    }
    const t22 = await rpc(url, 'getTokenAccountsByOwner', [ex.pubkey, { programId: TOKEN_2022 }, { encoding: 'base64' }]);
    assert.equal(t22.value.length, 1);
    assert.equal(t22.value[0].account.space, 170, 'Token-2022 ATA: 165 + type + ImmutableOwner');
    const byMint = await rpc(url, 'getTokenAccountsByOwner', [ex.pubkey, { mint: m1 }, { encoding: 'base64' }]);
    assert.equal(byMint.value.length, 1);
    // The mint itself and the payer's account are not the Explorer's.
    const none = await rpc(url, 'getTokenAccountsByOwner', [payer.pubkey, { mint: m2 }, { encoding: 'base64' }]);
    assert.deepEqual(none.value, []);
  });

  it('refuses bad filters as agave does', async () => {
    const owner = codec.b58encode(crypto.randomBytes(32));
    const bad = async (params, re) => {
      const r = await rpcCall(url, 'getTokenAccountsByOwner', params);
      assert.equal(r.error.code, -32602, JSON.stringify(r));
      assert.match(r.error.message, re);
    };
    await bad([owner, { programId: '11111111111111111111111111111111' }], /unrecognized Token program id/);
    await bad([owner, { mint: codec.b58encode(crypto.randomBytes(32)) }], /could not find mint/);
    await bad([owner, {}], /expected/);
    await bad(['not-a-key', { programId: TOKEN }], /Invalid/);
  });
});
