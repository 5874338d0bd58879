'use strict';
// scripts/localnet start/status/stop: readiness wait, idempotence, state dir.
const { it } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const t = require('../lib/testutil');

const SCRIPT = path.join(__dirname, '..', '..', '..', 'scripts', 'localnet');

function freePort() {
  return new Promise((resolve) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); }); });
}

it('starts, reports, restarts idempotently and stops the node', async () => {
  const port = await freePort();
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qtw-localnet-test-'));
  const env = { ...process.env, QTW_RUN_DIR: runDir };
  const run = (...args) => spawnSync(SCRIPT, args, { env, encoding: 'utf8', timeout: 40000 });
  try {
    const start = run('start', '--port', String(port), '--slot-ms', '50');
    assert.equal(start.status, 0, start.stderr);
    assert.equal(start.stdout.trim(), `http://127.0.0.1:${port}`);
    assert.equal(await t.rpc(start.stdout.trim(), 'getHealth'), 'ok');
    const pid = Number(fs.readFileSync(path.join(runDir, 'localnet.pid'), 'utf8'));
    assert.ok(pid > 0);
    assert.equal(run('status', '--port', String(port)).status, 0);
    const again = run('start', '--port', String(port));
    assert.equal(again.status, 0);
    assert.equal(Number(fs.readFileSync(path.join(runDir, 'localnet.pid'), 'utf8')), pid, 'no second node');
    assert.equal(run('stop', '--port', String(port)).status, 0);
    assert.throws(() => process.kill(pid, 0), 'process is gone');
    assert.equal(run('status', '--port', String(port)).status, 1);
    assert.equal(run('stop', '--port', String(port)).status, 0, 'stop is idempotent');
    assert.match(fs.readFileSync(path.join(runDir, 'localnet.log'), 'utf8'), /SIGTERM: shutting down/);
  } finally {
    run('stop', '--port', String(port));
    fs.rmSync(runDir, { recursive: true, force: true });
  }
});
