'use strict';
// Shared by the localnet and faultproxy tests: start a process that prints
// "READY <url>", JSON-RPC helpers, funded keypairs.
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const path = require('node:path');
const codec = require('./codec');

const SERVER = path.join(__dirname, '..', 'server.js');

function startReady(script, args) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = ''; let err = '';
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`no READY from ${script}: ${err}`)); }, 15000);
    proc.stderr.on('data', (d) => { err += d; });
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/^READY (http:\/\/\S+)\n/);
      if (m) {
        clearTimeout(timer);
        const exited = new Promise((r) => proc.on('exit', (code, signal) => r({ code, signal })));
        resolve({
          url: m[1], proc, stdout: () => out, stderr: () => err, exited,
          close: async () => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM'); return exited; },
        });
      }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`${script} exited ${code}: ${err}`)); });
  });
}

const startNode = (args = []) => startReady(SERVER, ['--port', '0', ...args]);

let nextId = 1;
async function rpcRaw(url, body, headers = {}) {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let json; try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}

// Returns the full response object {jsonrpc, result|error, id}.
async function rpcCall(url, method, params) {
  const req = { jsonrpc: '2.0', id: nextId++, method };
  if (params !== undefined) req.params = params;
  return (await rpcRaw(url, req)).json;
}

// Returns result or throws an Error carrying .rpc = error object.
async function rpc(url, method, params) {
  const r = await rpcCall(url, method, params);
  if (r.error) { const e = new Error(`${method}: ${r.error.code} ${r.error.message}`); e.rpc = r.error; throw e; }
  return r.result;
}

const newKeypair = () => codec.keypairFromSeed(crypto.randomBytes(32));
const addr = (kp) => codec.b58encode(kp.publicKey);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(fn, timeoutMs = 10000, stepMs = 20) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('waitFor timed out');
    await sleep(stepMs);
  }
}

async function fundedKeypair(url, lamports = 10_000_000_000) {
  const kp = newKeypair();
  await rpc(url, 'requestAirdrop', [addr(kp), lamports]);
  return kp;
}

async function latestBlockhash(url, commitment = 'processed') {
  const r = await rpc(url, 'getLatestBlockhash', [{ commitment }]);
  return { ...r.value, bytes: codec.b58decode(r.value.blockhash) };
}

module.exports = { startReady, startNode, rpcRaw, rpcCall, rpc, newKeypair, addr, sleep, waitFor, fundedKeypair, latestBlockhash, codec };
