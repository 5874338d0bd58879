#!/usr/bin/env node
'use strict';
// One Lander transaction signed by `qtw serve`: a System transfer of
// LAMPORTS from a leased Explorer to TO, on a fresh blockhash; the daemon
// signs the message (POST /v1/explorers/{pubkey}/sign), this script sends
// the transaction and waits until it is confirmed. Prints its signature.
//   daemon_lander.js SRC RPC_URL DAEMON_URL TOKEN EXPLORER TO LAMPORTS
// Exit: 0 confirmed, 1 refused/failed/not confirmed in 20 s.
const [src, rpcUrl, daemon, token, explorer, to, lamports] = process.argv.slice(2);
const codec = require(`${src}/tools/localnet/lib/codec`);

async function rpc(method, params) {
  const res = await fetch(rpcUrl, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
  const body = await res.json();
  if (body.error) throw new Error(`${method}: ${JSON.stringify(body.error)}`);
  return body.result;
}

(async () => {
  const { value } = await rpc('getLatestBlockhash', [{ commitment: 'confirmed' }]);
  const keys = [{ pubkey: codec.decodePubkey(explorer), signer: true, writable: true },
    { pubkey: codec.decodePubkey(to), signer: false, writable: true },
    { pubkey: codec.SYSTEM_PROGRAM, signer: false, writable: false }];
  const data = Buffer.concat([codec.u32le(2), codec.u64le(BigInt(lamports))]);
  const message = codec.buildLegacyMessage(keys, codec.decodePubkey(value.blockhash),
    [{ programIndex: 2, accounts: [0, 1], data }]);
  const res = await fetch(`${daemon}/v1/explorers/${explorer}/sign`, { method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ message: message.toString('base64') }) });
  const signed = await res.json();
  if (res.status !== 200) throw new Error(`sign: HTTP ${res.status} ${JSON.stringify(signed)}`);
  const wire = Buffer.concat([codec.encodeShortVec(1), Buffer.from(codec.b58decode(signed.signature)), message]);
  const sig = await rpc('sendTransaction', [wire.toString('base64'), { encoding: 'base64' }]);
  for (let i = 0; i < 200; i++) {
    const st = (await rpc('getSignatureStatuses', [[sig]])).value[0];
    if (st && st.err) throw new Error(`landed with an error: ${JSON.stringify(st.err)}`);
    if (st && (st.confirmationStatus === 'confirmed' || st.confirmationStatus === 'finalized')) {
      console.log(sig);
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${sig} not confirmed in 20 s`);
})().catch((e) => { process.stderr.write(`daemon_lander: ${e.message}\n`); process.exit(1); });
