#!/usr/bin/env bash
# kill -9 of `qtw serve` right after a signature (docs/ARCHITECTURE.md, "Single
# use without a write per signature"): the daemon answers 200 to a sign
# request with no store write before it, and writes the sign record with the
# next ~100 ms flush. Killed between the two, the store shows the Explorer
# `leased` to the dead daemon. The restarted daemon (same --instance) must
# end that lease as used: the Explorer is never handed out again, a second
# signature and a return with it are refused (409), the balancer drains it
# to 0 (retired), and every lamport is accounted for (managed balances +
# fees + what the Lander's transfer sent).
# Usage: serve_crash_test.sh QTW SOURCE_DIR
set -uo pipefail
QTW=$1; SRC=$2
. "$SRC/tests/integration/lib.sh"
qtw_test_begin serve-crash

start_node
export QTW_PASSPHRASE="serve crash test"
AIRDROP=10000000000
fund_hodl $AIRDROP
"$QTW" --store w.db init --banks 1 --hodl-keypair hodl.json "${QUICK_KDF[@]}" >/dev/null || exit 1
MARKET=$("$QTW" --rpc-url "$URL" keygen -o market.json) || exit 1
TOKEN=serve-crash-token-0123456789abcdef
printf '%s' "$TOKEN" >token; chmod 600 token
cat > qtw.toml <<TOML
[rpc]
url = "$URL"
[store]
path = "$WORK/w.db"
[balancer]
min_explorer_keys = 4
explorer_keys_to_create = 6
interval_ms = 300
[service]
token_file = "$WORK/token"
TOML
Q() { "$QTW" --config qtw.toml "$@"; }
api() { curl -s -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d "${2:-{\}}" "$D$1"; }
code() { curl -s -o code.json -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d "${2:-{\}}" "$D$1"; }
serve() {
  "$QTW" --config qtw.toml serve --listen 127.0.0.1:0 --instance crash >serve.out 2>>serve.log & SERVE=$!; PIDS+=($SERVE)
  D=$(wait_ready serve.out)
  [ -n "$D" ] || { echo "daemon did not start"; cat serve.log; exit 1; }
}
wait_pool() {
  local a
  for _ in $(seq 1 150); do
    a=$(curl -s -H "Authorization: Bearer $TOKEN" "$D/v1/status" | jget keys.explorer.available)
    [ "$a" != undefined ] && [ "$a" -ge 4 ] && return
    sleep 0.2
  done
  bad "the pool never reached 4 Explorers"
}
# tx.mjs msg FROM TO: a legacy transfer of 1,000,000 lamports with a real blockhash
# (base64 message). tx.mjs send MSG SIG: sends it and waits for confirmation.
cat > tx.mjs <<'JS'
import { createRequire } from 'node:module';
const require = createRequire(process.argv[2] + '/package.json');
const kit = require('@solana/kit');
const { getTransferSolInstruction } = require('@solana-program/system');
const [, , , url, cmd, a, b] = process.argv;
const rpc = kit.createSolanaRpc(url);
if (cmd === 'msg') {
  const { value: bh } = await rpc.getLatestBlockhash({ commitment: 'confirmed' }).send();
  const from = kit.createNoopSigner(kit.address(a));
  const m = kit.pipe(kit.createTransactionMessage({ version: 'legacy' }),
    (x) => kit.setTransactionMessageFeePayerSigner(from, x),
    (x) => kit.setTransactionMessageLifetimeUsingBlockhash(bh, x),
    (x) => kit.appendTransactionMessageInstruction(getTransferSolInstruction({ source: from, destination: kit.address(b), amount: 1_000_000n }), x));
  console.log(Buffer.from(kit.compileTransaction(m).messageBytes).toString('base64'));
} else {
  const wire = Buffer.concat([Buffer.from([1]), Buffer.from(kit.getBase58Encoder().encode(b)), Buffer.from(a, 'base64')]);
  const sig = await rpc.sendTransaction(wire.toString('base64'), { encoding: 'base64' }).send();
  for (let i = 0; i < 100; i++) {
    const { value } = await rpc.getSignatureStatuses([sig]).send();
    if (value[0]?.err) { console.log('failed'); process.exit(1); }
    if (value[0]?.confirmationStatus === 'confirmed' || value[0]?.confirmationStatus === 'finalized') { console.log('confirmed'); process.exit(0); }
    await new Promise((r) => setTimeout(r, 100));
  }
  console.log('not confirmed'); process.exit(1);
}
JS

serve
wait_pool
E=$(api /v1/explorers/lease | jget pubkey)
[ -n "$E" ] && [ "$E" != undefined ] || { bad "no lease"; finish serve-crash; exit 1; }
MSG=$(node tx.mjs "$SRC" "$URL" msg "$E" "$MARKET")
# Sign, and kill -9 the daemon the moment the 200 is in: before its flush.
SIG=$(api "/v1/explorers/$E/sign" "{\"message\":\"$MSG\"}" | jget signature); kill -9 $SERVE
wait $SERVE 2>/dev/null
[ -n "$SIG" ] && [ "$SIG" != undefined ] && ok || bad "sign answered no signature"
# The Lander sends what it got signed: it lands (the Explorer was funded).
check "the Lander's transaction lands" "$(node tx.mjs "$SRC" "$URL" send "$MSG" "$SIG")" confirmed

serve
grep -q "held by this owner before its restart end as used" serve.log && ok || bad "no log of the held leases ended at the restart"
check "a second signature with the Explorer after the restart" "$(code "/v1/explorers/$E/sign" "{\"message\":\"$MSG\"}")" 409
check "a return of the Explorer after the restart" "$(code "/v1/explorers/$E/return" '{"retire":true}')" 409
# It is never handed out again: lease (and retire) well past the pool size.
handed=0
for _ in $(seq 1 12); do
  wait_pool
  L=$(api /v1/explorers/lease | jget pubkey)
  [ "$L" = "$E" ] && handed=$((handed + 1))
  api "/v1/explorers/$L/return" '{"retire":true}' >/dev/null
done
check "times the crashed lease's Explorer was handed out again" "$handed" 0
# The balancer drains it (and everything the leases above used) to 0.
for _ in $(seq 1 150); do
  Q --json status >s.json
  [ "$(jget keys.explorer.used <s.json)" = undefined ] && [ "$(jget keys.explorer.draining <s.json)" = undefined ] &&
    [ "$(jget keys.explorer.leased <s.json)" = undefined ] && [ "$(jget in_flight <s.json)" = "[]" ] && break
  sleep 0.2
done
kill -TERM $SERVE; wait $SERVE; check "daemon stopped cleanly" $? 0
Q --json status >s.json
Q --json keys list --tier explorer >keys.json
check "the Explorer ended retired (drained)" \
  "$(node -e 'const k=JSON.parse(require("fs").readFileSync(process.argv[1]));console.log(k.find(x=>x.pubkey===process.argv[2])?.state)' keys.json "$E")" retired
check "the Explorer holds 0 lamports" "$("$QTW" --rpc-url "$URL" --json account "$E" | jget lamports)" 0
for st in used draining leased; do check "no explorer $st" "$(jget keys.explorer.$st <s.json)" undefined; done
Q audit verify >/dev/null 2>av.err; check "audit verify" $? 0
# Conservation (I6): managed + fees + what the Lander sent.
total=$(jget balances_lamports.total <s.json)
market=$("$QTW" --rpc-url "$URL" --json account "$MARKET" | jget lamports)
check "conservation (managed $total + fees + market $market)" "$((total + $(fees_collected) + market))" "$AIRDROP"
finish serve-crash
