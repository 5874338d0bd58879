#!/usr/bin/env node
// The API half of bench/lifecycle: `--clients` concurrent Landers, each on
// its own keep-alive connection, run `--ops` lease + sign + return(retire)
// lifecycles in all against a daemon (http://host:port or unix:/path). The
// message signed is a real legacy transfer from the leased Explorer, built
// here in bytes (no network). Prints one JSON line: ops, seconds,
// per_second, p50_ms, p99_ms (per lifecycle), non_200, and the p50 of each
// request apart (lease_p50_ms, sign_p50_ms, return_p50_ms).
// --healthz: GET /healthz instead of a lifecycle (the transport alone).
//   node lifecycle_client.mjs --target URL|unix:PATH --token T --ops N
//        --clients C --blockhash B58 --to B58 [--healthz]
import http from 'node:http';
import * as kit from '@solana/kit';

const o = { clients: 1 };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const v = () => process.argv[++i];
  if (a === '--target') o.target = v();
  else if (a === '--token') o.token = v();
  else if (a === '--ops') o.ops = Number(v());
  else if (a === '--clients') o.clients = Number(v());
  else if (a === '--blockhash') o.blockhash = v();
  else if (a === '--to') o.to = v();
  else if (a === '--healthz') o.healthz = true;
  else { process.stderr.write(`lifecycle_client: unknown argument ${a}\n`); process.exit(2); }
}
const b58 = kit.getBase58Encoder();
const where = o.target.startsWith('unix:')
  ? { socketPath: o.target.slice(5) }
  : { host: new URL(o.target).hostname, port: Number(new URL(o.target).port) };
const agent = new http.Agent({ keepAlive: true, maxSockets: o.clients });
const blockhash = b58.encode(o.blockhash);
const to = b58.encode(o.to);

// Legacy message: Explorer -> `to`, 1,000 lamports (System transfer).
function transfer(pubkey) {
  const from = b58.encode(pubkey);
  const data = Buffer.alloc(12);
  data.writeUInt32LE(2, 0);
  data.writeBigUInt64LE(1000n, 4);
  return Buffer.concat([
    Buffer.from([1, 0, 1, 3]), from, to, Buffer.alloc(32), blockhash,
    Buffer.from([1, 2, 2, 0, 1, 12]), data,
  ]);
}

function call(method, path, body) {
  return new Promise((resolve, reject) => {
    const data = Buffer.from(body ?? '');
    const headers = { authorization: `Bearer ${o.token}` };
    if (body !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': data.length });
    const req = http.request({ ...where, agent, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

const latencies = [];
const steps = { lease: [], sign: [], return: [] };
const since = (t) => Number(process.hrtime.bigint() - t) / 1e6;
let non200 = 0;
let next = 0;
const started = process.hrtime.bigint();
await Promise.all(Array.from({ length: o.clients }, async () => {
  while (next < o.ops) {
    next++;
    const t = process.hrtime.bigint();
    if (o.healthz) {
      if ((await call('GET', '/healthz')).status !== 200) non200++;
      latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
      continue;
    }
    const l = await call('POST', '/v1/explorers/lease', '{}');
    if (l.status !== 200) { non200++; await new Promise((r) => setTimeout(r, 50)); continue; }
    steps.lease.push(since(t));
    const { pubkey } = JSON.parse(l.text);
    const body = JSON.stringify({ message: transfer(pubkey).toString('base64') });
    const ts = process.hrtime.bigint();
    const s = await call('POST', `/v1/explorers/${pubkey}/sign`, body);
    if (s.status !== 200) non200++;
    steps.sign.push(since(ts));
    const tr = process.hrtime.bigint();
    const r = await call('POST', `/v1/explorers/${pubkey}/return`, '{"retire":true}');
    if (r.status !== 200) non200++;
    steps.return.push(since(tr));
    latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
}));
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
agent.destroy();
const pct = (xs, p) => { xs.sort((a, b) => a - b); return xs[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? 0; };
const at = (p) => pct(latencies, p);
const out = { ops: latencies.length, seconds, per_second: latencies.length / seconds, p50_ms: at(0.5), p99_ms: at(0.99), non_200: non200 };
if (!o.healthz) for (const [k, xs] of Object.entries(steps)) out[`${k}_p50_ms`] = pct(xs, 0.5);
process.stdout.write(JSON.stringify(out) + '\n');
