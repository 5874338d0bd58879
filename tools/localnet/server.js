#!/usr/bin/env node
'use strict';
// qtw local Solana node: a JSON-RPC 2.0 HTTP server over LiteSVM that adds
// what a validator has (slot clock, 150-block blockhash window, dedup,
// commitment levels, agave error shapes). See README.md beside this file.
const http = require('node:http');
const { Chain, RpcError, METHODS } = require('./lib/chain');

// agave rpc.rs MAX_REQUEST_BODY_SIZE.
const MAX_REQUEST_BODY_SIZE = 50 * 1024;

function parseArgs(argv) {
  const o = { port: 8899, host: '127.0.0.1', slotMs: 400, ledgerSeed: 0, finalizeSlots: 32, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => { if (i + 1 >= argv.length) throw new Error(`missing value for ${a}`); return argv[++i]; };
    const int = (v) => { const n = Number(v); if (!Number.isInteger(n) || n < 0) throw new Error(`bad value for ${a}: ${v}`); return n; };
    switch (a) {
      case '--port': o.port = int(next()); break;
      case '--host': o.host = next(); break;
      case '--slot-ms': o.slotMs = int(next()); if (o.slotMs < 1) throw new Error('--slot-ms must be >= 1'); break;
      case '--ledger-seed': o.ledgerSeed = int(next()); break;
      case '--finalize-slots': o.finalizeSlots = int(next()); if (o.finalizeSlots < 1) throw new Error('--finalize-slots must be >= 1'); break;
      case '--verbose': o.verbose = true; break;
      case '-h': case '--help':
        process.stdout.write('usage: server.js [--port P (8899; 0 = any)] [--host 127.0.0.1] [--slot-ms 400] [--ledger-seed 0] [--finalize-slots 32] [--verbose]\n');
        process.exit(0);
        break;
      default: throw new Error(`unknown argument ${a}`);
    }
  }
  return o;
}

// JSON with exact u64s: BigInt values are written as bare integers.
function stringify(v) {
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `__u64__${x}__` : x)).replace(/"__u64__(\d+)__"/g, '$1');
}

function errorResponse(id, code, message, data) {
  const error = { code, message };
  if (data !== undefined) error.data = data;
  return { jsonrpc: '2.0', error, id: id === undefined ? null : id };
}

function handleOne(chain, req, log) {
  if (req === null || typeof req !== 'object' || Array.isArray(req) || req.jsonrpc !== '2.0' || typeof req.method !== 'string'
      || (req.params !== undefined && typeof req.params !== 'object')) {
    const id = req && typeof req === 'object' && ['string', 'number'].includes(typeof req.id) ? req.id : null;
    return errorResponse(id, -32600, 'Invalid request');
  }
  const isNotification = !('id' in req);
  let resp;
  if (!METHODS.includes(req.method)) {
    resp = errorResponse(req.id, -32601, 'Method not found');
  } else {
    const params = req.params === undefined || req.params === null ? [] : req.params;
    if (!Array.isArray(params)) {
      resp = errorResponse(req.id, -32602, 'Invalid params: invalid type: map, expected a sequence');
    } else {
      try {
        resp = { jsonrpc: '2.0', result: chain[req.method](params), id: req.id };
      } catch (e) {
        if (e instanceof RpcError) resp = errorResponse(req.id, e.code, e.message, e.data);
        else { log(`internal error in ${req.method}: ${e.stack}`); resp = errorResponse(req.id, -32603, 'Internal error'); }
      }
    }
  }
  return isNotification ? undefined : resp;
}

function handleBody(chain, body, log) {
  let parsed;
  try { parsed = JSON.parse(body); } catch { return errorResponse(null, -32700, 'Parse error'); }
  if (Array.isArray(parsed)) {
    if (parsed.length === 0) return errorResponse(null, -32600, 'Invalid request');
    const out = parsed.map((r) => handleOne(chain, r, log)).filter((r) => r !== undefined);
    return out.length ? out : undefined;
  }
  return handleOne(chain, parsed, log);
}

function main() {
  let opts;
  try { opts = parseArgs(process.argv.slice(2)); } catch (e) { process.stderr.write(`server.js: ${e.message}\n`); process.exit(2); }
  const log = (m) => process.stderr.write(`[localnet ${new Date().toISOString()}] ${m}\n`);
  const chain = new Chain({ finalizeSlots: opts.finalizeSlots, ledgerSeed: opts.ledgerSeed, log: opts.verbose ? log : () => {} });

  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/health') { res.writeHead(200, { 'Content-Type': 'text/plain' }); res.end('ok'); return; }
    if (req.method !== 'POST') {
      res.writeHead(405, { 'Content-Type': 'text/plain' });
      res.end('Used HTTP Method is not allowed. POST or OPTIONS is required\n');
      return;
    }
    const chunks = []; let size = 0; let tooBig = false;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_REQUEST_BODY_SIZE) { tooBig = true; return; }
      chunks.push(c);
    });
    req.on('end', () => {
      if (tooBig) { res.writeHead(413, { 'Content-Type': 'text/plain' }); res.end('Payload Too Large\n'); return; }
      const out = handleBody(chain, Buffer.concat(chunks).toString('utf8'), log);
      const body = out === undefined ? '' : stringify(out);
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    });
    req.on('error', () => {});
  });
  server.keepAliveTimeout = 30_000;

  const timer = setInterval(() => chain.advance(), opts.slotMs);
  const shutdown = (sig) => {
    log(`${sig}: shutting down at slot ${chain.slot}`);
    clearInterval(timer);
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  server.on('error', (e) => { log(`listen failed: ${e.message}`); process.exit(1); });
  server.listen(opts.port, opts.host, () => {
    const { port } = server.address();
    process.stdout.write(`READY http://${opts.host}:${port}\n`);
    log(`listening on ${opts.host}:${port} slot-ms=${opts.slotMs} finalize-slots=${opts.finalizeSlots} faucet=${chain.qtwLocalnetInfo().faucet}`);
  });
}

if (require.main === module) main();
module.exports = { handleBody, stringify, parseArgs };
