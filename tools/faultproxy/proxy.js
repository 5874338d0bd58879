#!/usr/bin/env node
'use strict';
// Fault-injecting HTTP proxy for tests: sits between a JSON-RPC client and
// the real local node (or any HTTP JSON-RPC server) and, by mode, delays,
// drops, answers an HTTP error, truncates, loses the response after the
// request took effect, or answers garbage. See README.md beside this file.
const http = require('node:http');

const BASIC_MODE = 'pass|drop|truncate|lose-response|garbage|delay:\\d+|http:\\d{3}(?::\\d+)?';
// random:<rate>:<mode>[,<mode>...]: each request independently gets, with
// probability <rate>, one of the listed modes (uniformly), else pass.
const MODE_RE = new RegExp(`^(?:${BASIC_MODE}|random:(?:0|1|0?\\.\\d+):(?:${BASIC_MODE})(?:,(?:${BASIC_MODE}))*)$`);

// mulberry32: a small seeded PRNG, so a fault sequence can be replayed.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function parseArgs(argv) {
  const o = { listenPort: 0, host: '127.0.0.1', target: null, mode: 'pass', seed: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => { if (i + 1 >= argv.length) throw new Error(`missing value for ${a}`); return argv[++i]; };
    switch (a) {
      case '--listen-port': o.listenPort = Number(next()); if (!Number.isInteger(o.listenPort) || o.listenPort < 0) throw new Error('bad --listen-port'); break;
      case '--host': o.host = next(); break;
      case '--target': o.target = new URL(next()); break;
      case '--mode': o.mode = next(); if (!MODE_RE.test(o.mode)) throw new Error(`bad --mode ${o.mode}`); break;
      case '--seed': o.seed = Number(next()); if (!Number.isInteger(o.seed)) throw new Error('bad --seed'); break;
      case '-h': case '--help':
        process.stdout.write('usage: proxy.js --listen-port P --target http://127.0.0.1:T [--mode pass|delay:MS|drop|http:STATUS[:RETRY_AFTER_S]|truncate|lose-response|garbage|random:RATE:MODE[,MODE...]] [--seed N] [--host 127.0.0.1]\n');
        process.exit(0);
        break;
      default: throw new Error(`unknown argument ${a}`);
    }
  }
  if (!o.target) throw new Error('--target is required');
  return o;
}

const STATUS_TEXT = { 429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' };

function main() {
  let opts;
  try { opts = parseArgs(process.argv.slice(2)); } catch (e) { process.stderr.write(`proxy.js: ${e.message}\n`); process.exit(2); }
  const log = (m) => process.stderr.write(`[faultproxy ${new Date().toISOString()}] ${m}\n`);
  const agent = new http.Agent({ keepAlive: true });
  const state = { base: opts.mode, override: null };
  const stats = {
    requests: 0, forwarded: 0, dropped: 0, delayed: 0, httpErrors: 0, truncated: 0, lostResponses: 0, garbage: 0,
    upstreamErrors: 0, methods: {}, faults: {},
  };
  const random = prng(opts.seed);

  // A random:<rate>:<modes> mode resolves per request; every fault it picks
  // is counted by mode in stats.faults.
  function resolve(mode) {
    if (!mode.startsWith('random:')) return mode;
    const rest = mode.slice(7);
    const colon = rest.indexOf(':');
    const rate = Number(rest.slice(0, colon));
    const modes = rest.slice(colon + 1).split(',');
    if (random() >= rate) return 'pass';
    const m = modes[Math.floor(random() * modes.length)];
    stats.faults[m] = (stats.faults[m] ?? 0) + 1;
    return m;
  }

  // The mode for the next proxied request; a counted override is consumed.
  function takeMode() {
    if (state.override && state.override.remaining > 0) {
      const m = state.override.mode;
      state.override.remaining -= 1;
      if (state.override.remaining === 0) state.override = null;
      return m;
    }
    return state.base;
  }

  function countMethods(body) {
    try {
      const j = JSON.parse(body.toString('utf8'));
      for (const r of Array.isArray(j) ? j : [j]) {
        if (r && typeof r.method === 'string') stats.methods[r.method] = (stats.methods[r.method] ?? 0) + 1;
      }
    } catch { /* not JSON: forwarded as is */ }
  }

  function forward(req, body) {
    return new Promise((resolve, reject) => {
      stats.forwarded += 1;
      countMethods(body);
      const headers = { ...req.headers, host: opts.target.host, 'content-length': body.length };
      delete headers.connection;
      const up = http.request({ protocol: opts.target.protocol, hostname: opts.target.hostname, port: opts.target.port,
        path: req.url, method: req.method, headers, agent }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      up.on('error', reject);
      up.end(body);
    });
  }

  function sendJson(res, status, obj) {
    const b = JSON.stringify(obj);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(b) });
    res.end(b);
  }

  function control(req, res, body) {
    if (req.method === 'GET' && req.url === '/__proxy/stats') {
      return sendJson(res, 200, { ...stats, mode: state.base, override: state.override });
    }
    if (req.method === 'POST' && req.url === '/__proxy/mode') {
      let j;
      try { j = JSON.parse(body.toString('utf8')); } catch { return sendJson(res, 400, { error: 'body must be JSON {"mode":..., "count":N}' }); }
      if (typeof j.mode !== 'string' || !MODE_RE.test(j.mode)) return sendJson(res, 400, { error: `bad mode ${j.mode}` });
      if (j.count !== undefined && j.count !== null) {
        if (!Number.isInteger(j.count) || j.count < 1) return sendJson(res, 400, { error: 'count must be a positive integer' });
        state.base = 'pass';
        state.override = { mode: j.mode, remaining: j.count };
      } else {
        state.base = j.mode;
        state.override = null;
      }
      log(`mode ${j.mode}${j.count ? ` for ${j.count} requests` : ''}`);
      return sendJson(res, 200, { mode: state.base, override: state.override });
    }
    if (req.method === 'POST' && req.url === '/__proxy/reset-stats') {
      for (const k of Object.keys(stats)) stats[k] = k === 'methods' || k === 'faults' ? {} : 0;
      return sendJson(res, 200, { ok: true });
    }
    return sendJson(res, 404, { error: 'unknown control endpoint' });
  }

  async function proxied(req, res, body) {
    stats.requests += 1;
    const mode = resolve(takeMode());
    if (mode === 'drop') {
      stats.dropped += 1;
      req.socket.destroy();
      return;
    }
    if (mode.startsWith('http:')) {
      const [, status, retryAfter] = mode.split(':');
      stats.httpErrors += 1;
      const text = `${status} ${STATUS_TEXT[status] ?? 'Error'}\n`;
      const headers = { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(text) };
      if (retryAfter !== undefined) headers['Retry-After'] = retryAfter;
      res.writeHead(Number(status), headers);
      res.end(text);
      return;
    }
    if (mode === 'garbage') {
      stats.garbage += 1;
      const text = '<html><body>502 upstream hiccup</body></html>\x00{"jsonrpc":';
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    if (mode.startsWith('delay:')) {
      stats.delayed += 1;
      await new Promise((r) => setTimeout(r, Number(mode.slice(6))));
      if (req.socket.destroyed) return;
    }
    let up;
    try { up = await forward(req, body); } catch (e) {
      stats.upstreamErrors += 1;
      log(`upstream error: ${e.message}`);
      const text = `upstream error: ${e.message}\n`;
      res.writeHead(502, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    if (mode === 'lose-response') {
      // The node has executed the request; the client never learns the outcome.
      stats.lostResponses += 1;
      req.socket.destroy();
      return;
    }
    const headers = { 'Content-Type': up.headers['content-type'] ?? 'application/json', 'Content-Length': up.body.length };
    if (mode === 'truncate') {
      stats.truncated += 1;
      res.writeHead(up.status, headers);
      res.write(up.body.subarray(0, Math.floor(up.body.length / 2)), () => {
        // Give the half body a moment on the wire, then cut the connection.
        setTimeout(() => req.socket.destroy(), 20);
      });
      return;
    }
    res.writeHead(up.status, headers);
    res.end(up.body);
  }

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const p = req.url.startsWith('/__proxy/') ? Promise.resolve(control(req, res, body)) : proxied(req, res, body);
      p.catch((e) => { log(`error: ${e.stack}`); req.socket.destroy(); });
    });
    req.on('error', () => {});
  });
  server.keepAliveTimeout = 30_000;

  const shutdown = () => { server.close(() => process.exit(0)); server.closeAllConnections(); agent.destroy(); setTimeout(() => process.exit(0), 2000).unref(); };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  server.on('error', (e) => { log(`listen failed: ${e.message}`); process.exit(1); });
  server.listen(opts.listenPort, opts.host, () => {
    const { port } = server.address();
    process.stdout.write(`READY http://${opts.host}:${port}\n`);
    log(`listening on ${opts.host}:${port} -> ${opts.target.href} mode=${opts.mode}`);
  });
}

if (require.main === module) main();
module.exports = { parseArgs, MODE_RE, prng };
