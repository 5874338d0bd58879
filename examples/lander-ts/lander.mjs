#!/usr/bin/env node
// lander-ts: an out-of-process Lander in JavaScript (@solana/kit) against
// `qtw serve` (docs/DAEMON.md). Each round: lease an Explorer over the API,
// build a real transfer with kit, have the daemon sign it (the secret never
// leaves the daemon; it signs one message per Explorer), send it to the node,
// confirm it, return the Explorer retired. Prints one JSON line per round.
//
//   node examples/lander-ts/lander.mjs --daemon http://127.0.0.1:8686 \
//     --token-file token --rpc http://127.0.0.1:8899 --to <address> [--rounds N] [--lamports N]
//
// --daemon unix:/run/qtw/qtw.sock talks to the daemon over its Unix socket.
//
// Exit code: 0 when every round confirmed, 1 otherwise, 2 on bad usage.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import * as kit from '@solana/kit';
import { getTransferSolInstruction } from '@solana-program/system';

function parseArgs(argv) {
  const o = { rounds: 1, lamports: 1_000_000n };
  for (let i = 0; i < argv.length; i++) {
    const v = () => { if (i + 1 >= argv.length) usage(`missing value for ${argv[i]}`); return argv[++i]; };
    switch (argv[i]) {
      case '--daemon': o.daemon = v(); break;
      case '--token-file': o.token = readFileSync(v(), 'utf8').replace(/\r?\n$/, ''); break;
      case '--rpc': o.rpc = v(); break;
      case '--to': o.to = kit.address(v()); break;
      case '--rounds': o.rounds = Number(v()); break;
      case '--lamports': o.lamports = BigInt(v()); break;
      case '-h': case '--help': usage(); break;
      default: usage(`unknown argument ${argv[i]}`);
    }
  }
  if (!o.daemon || !o.token || !o.rpc || !o.to) usage('--daemon, --token-file, --rpc and --to are required');
  return o;
}
function usage(why) {
  if (why) process.stderr.write(`lander-ts: ${why}\n`);
  process.stderr.write('usage: lander.mjs --daemon URL|unix:PATH --token-file F --rpc URL --to ADDRESS [--rounds N] [--lamports N]\n');
  process.exit(why ? 2 : 0);
}

// One HTTP request to the daemon: fetch for http://, node:http with
// socketPath for unix:PATH (fetch cannot use a Unix socket).
function request(daemon, method, path, headers, body) {
  if (!daemon.startsWith('unix:')) {
    return fetch(daemon + path, { method, headers, body })
      .then(async (res) => ({ status: res.status, text: await res.text() }));
  }
  return new Promise((resolve, reject) => {
    const data = Buffer.from(body);
    const req = http.request({ socketPath: daemon.slice(5), method, path,
      headers: { ...headers, 'content-length': data.length } }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

// The daemon API. Throws with the daemon's reason on any non-2xx.
function api(o) {
  return async (method, path, body) => {
    const res = await request(o.daemon, method, path,
      { authorization: `Bearer ${o.token}`, 'content-type': 'application/json' },
      body === undefined ? '{}' : JSON.stringify(body));
    let json = {};
    try { json = JSON.parse(res.text); } catch { /* not JSON */ }
    if (res.status < 200 || res.status > 299) {
      throw Object.assign(new Error(`${method} ${path}: ${res.status} ${json.error ?? ''}`), { status: res.status });
    }
    return json;
  };
}

// A kit TransactionPartialSigner whose private key lives in the daemon.
function daemonSigner(call, pubkey) {
  const addr = kit.address(pubkey);
  return {
    address: addr,
    async signTransactions(transactions) {
      const out = [];
      for (const tx of transactions) {
        const message = Buffer.from(tx.messageBytes).toString('base64');
        const { signature } = await call('POST', `/v1/explorers/${pubkey}/sign`, { message });
        out.push({ [addr]: kit.getBase58Encoder().encode(signature) });
      }
      return out;
    },
  };
}

async function round(o, call, rpc) {
  const lease = await call('POST', '/v1/explorers/lease');
  const signer = daemonSigner(call, lease.pubkey);
  let ok = false;
  let signature = null;
  try {
    const { value: bh } = await rpc.getLatestBlockhash({ commitment: 'confirmed' }).send();
    const msg = kit.pipe(
      kit.createTransactionMessage({ version: 'legacy' }),
      (m) => kit.setTransactionMessageFeePayerSigner(signer, m),
      (m) => kit.setTransactionMessageLifetimeUsingBlockhash(bh, m),
      (m) => kit.appendTransactionMessageInstruction(
        getTransferSolInstruction({ source: signer, destination: o.to, amount: o.lamports }), m),
    );
    const signed = await kit.signTransactionMessageWithSigners(msg);
    signature = await rpc.sendTransaction(kit.getBase64EncodedWireTransaction(signed), { encoding: 'base64' }).send();
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const { value } = await rpc.getSignatureStatuses([signature]).send();
      const s = value[0];
      if (s && s.err) break;
      if (s && (s.confirmationStatus === 'confirmed' || s.confirmationStatus === 'finalized')) { ok = true; break; }
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    // Retired whatever happened: once the daemon signed, it counts as used.
    await call('POST', `/v1/explorers/${lease.pubkey}/return`, { retire: true });
  }
  return { explorer: lease.pubkey, lease_id: lease.lease_id, signature, confirmed: ok };
}

const o = parseArgs(process.argv.slice(2));
const call = api(o);
const rpc = kit.createSolanaRpc(o.rpc);
let failures = 0;
for (let i = 0; i < o.rounds; i++) {
  let r;
  for (let attempt = 0; ; attempt++) {
    try { r = await round(o, call, rpc); break; } catch (e) {
      if (e.status === 503 && attempt < 100) { await new Promise((res) => setTimeout(res, 200)); continue; }
      r = { error: e.message }; break;
    }
  }
  if (!r.confirmed) failures++;
  process.stdout.write(JSON.stringify(r) + '\n');
}
process.exit(failures === 0 ? 0 : 1);
