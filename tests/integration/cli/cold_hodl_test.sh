#!/usr/bin/env bash
# Cold HODL end to end on the real local node (docs/COLD_HODL.md): a
# watch-only HODL key, Banks drained by Explorer creation, a durable-nonce
# top-up request exported, signed by `qtw hodl sign` in a process with no
# store and no network, submitted 300+ blocks later; the Banks reach their
# targets; conservation to the lamport. Every bad input is refused with its
# reason: tampered amount/destination/nonce account, an added instruction,
# the wrong key, a signature of another message, a stale request; a request
# submitted twice lands once. Also: hodl add/list/remove (the last HODL key
# while Banks hold funds), banks add, HODL key validation in init, hodl add
# and rescue, the sweep confirmation with a watch-only HODL.
# Usage: cold_hodl_test.sh QTW_BINARY SOURCE_DIR
QTW=$1; SRC=$2
HELPER="$SRC/tests/integration/cli/cold_hodl_helper.js"
. "$SRC/tests/integration/lib.sh"
qtw_test_begin cold-test
has() { if grep -q -- "$2" "$3"; then ok; else bad "$1: '$2' not in $3: $(cat "$3")"; fi; }
jlen() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{let v=JSON.parse(s);for(const k of (process.argv[1]||"").split(".").filter(Boolean))v=v[k];console.log(v.length)})' "${1:-}"; }

start_node --slot-ms 100
export QTW_PASSPHRASE="cold test passphrase"
write_config <<TOML
min_explorer_keys = 18
explorer_keys_to_create = 18
TOML
Q() { "$QTW" --config qtw.toml --store "$WORK/w.db" --rpc-url "$URL" "$@"; }
rpc() { curl -s -X POST -H 'Content-Type: application/json' -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":${2:-[]}}" "$URL"; }
lamports() { rpc getBalance "[\"$1\",{\"commitment\":\"confirmed\"}]" | jget result.value; }
# I6: everything airdropped is in a managed key, a nonce account's deposit,
# or was paid as a fee.
conserved() {
  local st total nonce fees
  st=$(Q --json status)
  total=$(echo "$st" | jget balances_lamports.total)
  nonce=$(echo "$st" | jget balances_lamports.nonce)
  fees=$(fees_collected)
  check "$1 conservation (managed $total + nonce $nonce + fees $fees)" "$((total + nonce + fees))" "$AIRDROP"
}

AIRDROP=20000000000
fund_hodl $AIRDROP

# ---- HODL key validation (init, hodl add, rescue) ----
I() { "$QTW" --store "$WORK/v.db" --rpc-url "$URL" --json init --kdf-opslimit 1 --kdf-memlimit-kib 8 "$@"; }
for bad_key in 11111111111111111111111111111111 ComputeBudget111111111111111111111111111111 \
               SysvarC1ock11111111111111111111111111111111 TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA; do
  I --hodl-pubkey "$bad_key" >out 2>err; check "init refuses $bad_key" $? 2
  grep -q "not a wallet" err && ok || bad "init $bad_key reason: $(cat err)"
  [ -e v.db ] && bad "init $bad_key created a store" || ok
done
I --hodl-pubkey "HoDLmistyped0OIl" >out 2>err; check "init refuses a mistyped pubkey" $? 2
rm -f v.db*
NOWHERE=$("$QTW" keygen -o nowhere.json)
OFFCURVE=H8bQHca6EfHnUCnTp7vysPabSVXokP85SNz7Y5xaz74x  # a PDA (@solana/kit getProgramDerivedAddress)
I --hodl-pubkey "$NOWHERE" >out 2>err; check "init accepts an account that does not exist yet" $? 0
has "warns that the account does not exist" "does not exist on chain" err
V() { "$QTW" --store "$WORK/v.db" --rpc-url "$URL" "$@"; }
V hodl add --pubkey 11111111111111111111111111111111 >out 2>err; check "hodl add refuses the System Program" $? 2
has "hodl add names the System Program" "System Program" err
V hodl add --pubkey SysvarRent111111111111111111111111111111111 >out 2>err; check "hodl add refuses a sysvar" $? 2
V hodl add --pubkey ComputeBudget111111111111111111111111111111 >out 2>err; check "hodl add refuses ComputeBudget" $? 2
V hodl add --pubkey "not base58!" >out 2>err; check "hodl add refuses a mistyped pubkey" $? 2
V hodl add --pubkey "$OFFCURVE" >out 2>err; check "hodl add allows an off-curve address" $? 0
has "off-curve warning" "off-curve" err
V hodl add --pubkey "$OFFCURVE" >out 2>err; check "hodl add twice" $? 2
V hodl add --keypair hodl.json --kdf-opslimit 1 --kdf-memlimit-kib 8 >out 2>err; check "hodl add --keypair" $? 0
V hodl add --pubkey "$HODL" >out 2>err; check "hodl add of a registered key" $? 2
V --json hodl list >hl.json; check "hodl list" "$(jlen <hl.json)" 3
check "hodl list sealed" "$(jget 2.watch_only <hl.json)" false
V hodl add --keypair hodl.json --pubkey "$HODL" >out 2>err; check "hodl add with both" $? 2

# ---- watch-only wallet; Bank 0 seeded by an airdrop ----
Q --json init --banks 2 --hodl-pubkey "$HODL" --kdf-opslimit 1 --kdf-memlimit-kib 8 >init.json 2>err || bad "init: $(cat err)"
BANK0=$(jget banks.0.pubkey <init.json); BANK1=$(jget banks.1.pubkey <init.json)
"$QTW" --rpc-url "$URL" airdrop "$BANK0" 200000000 >/dev/null || bad "airdrop bank"
AIRDROP=$((AIRDROP + 200000000))

# Without a nonce account a watch-only HODL only gets a short-lived request.
Q --json balance >b1.json || bad "balance 1: $(cat b1.json)"
check "18 Explorers drain Bank 0" "$(jget explorers_created <b1.json)" 18
check "no stored request without a nonce account" "$(jget topup_requests <b1.json)" "[]"
check "one blockhash request for Bank 1" "$(jget unsigned_requests <b1.json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).length))')" 1
grep -q "hodl nonce create" b1.json && ok || bad "balance suggests qtw hodl nonce create"

# The nonce account: authority HODL, rent from the richest Bank.
Q --json hodl nonce create >nc.json 2>err || bad "nonce create: $(cat err)"
NONCE=$(jget nonce_account <nc.json)
check "nonce authority" "$(jget authority <nc.json)" "$HODL"
check "nonce funded by Bank 0" "$(jget funding_bank <nc.json)" "$BANK0"
check "nonce rent deposit" "$(jget lamports <nc.json)" 1447680
Q --json status >s.json
check "status shows the nonce account" "$(jget nonce_accounts.0.address <s.json)" "$NONCE"
check "nonce account active" "$(jget nonce_accounts.0.status <s.json)" active
check "nonce balance" "$(jget nonce_accounts.0.lamports <s.json)" 1447680
Q status >s.txt; has "status text shows the nonce account" "$NONCE" s.txt
conserved "after nonce create"

# Both Banks are low: ONE request covers both.
B0=$(lamports "$BANK0")
Q --json balance >b2.json || bad "balance 2"
check "one request written" "$(jget topup_requests <b2.json)" "[1]"
Q --json hodl requests >r.json
check "requests list" "$(jlen <r.json)" 1
check "request id" "$(jget 0.id <r.json)" 1
check "request covers both Banks" "$(jlen 0.transfers <r.json)" 2
check "request nonce account" "$(jget 0.nonce_account <r.json)" "$NONCE"
check "request tops Bank 0 up to target" "$(jget 0.transfers.0.lamports <r.json)" "$((100000000 - B0))"
# I4: no second request for the same Banks while one is pending.
Q --json balance >b3.json
check "no new request while one is pending" "$(jget topup_requests <b3.json)" "[]"
grep -q "waits for top-up request 1" b3.json && ok || bad "balance says the Banks wait: $(cat b3.json)"
Q --json hodl requests >r.json; check "still one request" "$(jlen <r.json)" 1

Q hodl request export 1 --outfile req.json >out 2>err || bad "export: $(cat err)"
check "request file format" "$(jget format <req.json)" qtw-hodl-topup-request
check "request file nonce" "$(jget nonce_account <req.json)" "$NONCE"
[ -n "$(jget message_base58 <req.json)" ] && [ -n "$(jget transaction_base64 <req.json)" ] && ok || bad "base58/base64 forms"
Q hodl request export 1 --outfile req.json >out 2>err; check "export refuses to overwrite" $? 2
Q hodl request export 99 --outfile x.json >out 2>err; check "export of an unknown id" $? 2

# ---- offline signing: no store, no network ----
if unshare -n true 2>/dev/null; then OFFLINE="unshare -n"; else OFFLINE=""; fi
S() {  # S STDIN ARGS...: hodl sign in a process pointed at nothing
  local input=$1; shift
  printf '%s\n' "$input" | env -u QTW_PASSPHRASE $OFFLINE "$QTW" --store "$WORK/offline/none.db" \
    --rpc-url http://127.0.0.1:9 hodl sign "$@"
}
"$QTW" keygen -o other.json >/dev/null
ATTACKER=$("$QTW" pubkey other.json)
node "$HELPER" tamper-amount req.json t_amount.json
node "$HELPER" tamper-dest req.json t_dest.json "$ATTACKER"
node "$HELPER" tamper-nonce req.json t_nonce.json "$ATTACKER"
node "$HELPER" add-ix req.json t_addix.json
node "$HELPER" json-amount req.json t_json.json
for case in "amount:t_amount.json:lamports where the request lists" \
            "destination:t_dest.json:not a Bank listed in the request" \
            "nonce account:t_nonce.json:not the request's nonce account" \
            "added instruction:t_addix.json:instruction(s) after the nonce advance" \
            "listed amount:t_json.json:lamports where the request lists"; do
  IFS=: read -r name file reason <<<"$case"
  S "sign 1" "$file" --keypair hodl.json --outfile "s_$file" >out 2>err
  check "sign refuses a tampered $name" $? 2
  has "tampered $name reason" "$reason" err
  [ -e "s_$file" ] && bad "a signed file was written for the tampered $name" || ok
done
S "sign 1" req.json --keypair other.json --outfile s_other.json >out 2>err
check "sign refuses another key" $? 2
has "another key reason" "but --keypair is" err
S "no" req.json --keypair hodl.json --outfile s_no.json >out 2>err
check "sign without the typed confirmation" $? 2
[ -e s_no.json ] && bad "signed without confirmation" || ok
# Past a blockhash's life: 320 blocks later the request is still good.
rpc qtwAdvanceSlots '[320]' >/dev/null
S "sign 1" req.json --keypair hodl.json --outfile signed.json >sign.out 2>sign.err
check "offline sign" $? 0
has "sign shows the nonce account" "$NONCE" sign.err
has "sign shows Bank 1" "$BANK1" sign.err
has "sign shows SOL" "SOL" sign.err
[ -e "$WORK/offline" ] && bad "hodl sign created a store directory" || ok

# ---- submit ----
node "$HELPER" swap-tx signed.json s_swapped.json
Q hodl submit s_swapped.json >out 2>err; check "submit refuses a transaction with another message" $? 2
has "swapped message reason" "differs from request 1" err
OTHER_SIG=$(node "$HELPER" sign-other hodl.json)
Q hodl submit --request 1 --signer "$HODL=$OTHER_SIG" >out 2>err
check "submit refuses a signature of another message" $? 2
has "other message reason" "signature of request 1" err
HODL_BEFORE=$(lamports "$HODL")
Q --json hodl submit signed.json >sub.json 2>err || bad "submit: $(cat err) $(cat sub.json)"
check "submitted request landed" "$(jget status <sub.json)" landed
check "Bank 0 at target" "$(lamports "$BANK0")" 100000000
check "Bank 1 at target" "$(lamports "$BANK1")" 100000000
HODL_AFTER=$(lamports "$HODL")
check "HODL paid the top-up and one fee" "$((HODL_BEFORE - HODL_AFTER))" "$((200000000 - B0 + 5000))"
Q --json hodl submit signed.json >sub2.json 2>err; check "second submit exits 0" $? 0
check "second submit: already landed" "$(jget already_landed <sub2.json)" true
check "landed once" "$(lamports "$HODL")" "$HODL_AFTER"
Q --json hodl requests --all >r.json; check "request 1 landed" "$(jget 0.status <r.json)" landed
conserved "after the top-up"

# ---- a stale request is refused and replaced ----
Q --json banks add 1 >ba.json 2>err || bad "banks add: $(cat err)"
BANK2=$(jget banks.0.pubkey <ba.json)
check "banks add index" "$(jget banks.0.index <ba.json)" 2
Q --json balance >b4.json || bad "balance 4"
check "request 2 for the new Bank" "$(jget topup_requests <b4.json)" "[2]"
Q hodl request export 2 --outfile req2.json >/dev/null
S "sign 2" req2.json --keypair hodl.json --outfile signed2.json >/dev/null 2>&1 || bad "sign 2"
# Someone else uses the nonce: the balancer sees it moved, marks request 2
# stale and writes request 3 on the new nonce value.
node "$HELPER" advance-nonce "$URL" hodl.json "$NONCE" >/dev/null || bad "advance nonce"
sleep 0.3
Q --json balance >b5.json || bad "balance 5"
check "stale request replaced" "$(jget topup_requests <b5.json)" "[3]"
grep -q "top-up request 2 is stale" b5.json && ok || bad "balance reports the stale request: $(cat b5.json)"
Q --json hodl requests --all >r.json; check "request 2 marked stale" "$(jget 1.status <r.json)" stale
Q hodl submit signed2.json >out 2>err; check "stale request refused" $? 2
has "stale reason" "is stale" err
# The nonce moves again after request 3 was signed: submit finds out on
# chain, refuses, marks it stale; the next cycle writes request 4.
Q hodl request export 3 --outfile req3.json >/dev/null
S "sign 3" req3.json --keypair hodl.json --outfile signed3.json >/dev/null 2>&1 || bad "sign 3"
node "$HELPER" advance-nonce "$URL" hodl.json "$NONCE" >/dev/null || bad "advance nonce 2"
sleep 0.3
Q hodl submit signed3.json >out 2>err; check "submit sees the nonce moved" $? 2
has "stale from the chain" "now holds" err
Q --json hodl requests --all >r.json; check "request 3 marked stale by submit" "$(jget 2.status <r.json)" stale
Q --json balance >b6.json || bad "balance 6"
check "request 4 replaces it" "$(jget topup_requests <b6.json)" "[4]"
Q hodl request export 4 --outfile req4.json >/dev/null
S "sign 4" req4.json --keypair hodl.json --outfile signed4.json >/dev/null 2>&1 || bad "sign 4"
# Broadcast by another tool first (the signed file's transaction_base64 is
# a plain wire transaction): submit then finds it landed, records it and
# sends nothing more.
rpc sendTransaction "[\"$(jget transaction_base64 <signed4.json)\",{\"encoding\":\"base64\"}]" >sent4.json
has "another tool can broadcast the signed file" '"result"' sent4.json
sleep 0.3
Q --json hodl submit signed4.json >sub4.json 2>err || bad "submit 4: $(cat err)"
check "submit records what another tool sent" "$(jget status <sub4.json)" landed
check "Bank 2 at target" "$(lamports "$BANK2")" 100000000
conserved "after the replacement"

# ---- the daemon writes requests too ----
Q --json banks add 1 >ba3.json 2>err || bad "banks add 3: $(cat err)"
BANK3=$(jget banks.0.pubkey <ba3.json)
printf '0123456789abcdef0123456789abcdef\n' >token; chmod 600 token
"$QTW" --config qtw.toml --store "$WORK/w.db" --rpc-url "$URL" serve --listen 127.0.0.1:0 \
  --token-file "$WORK/token" --instance cold-test >serve.out 2>serve.err &
SERVE_PID=$!; PIDS+=("$SERVE_PID")
for _ in $(seq 1 100); do
  [ "$(Q --json hodl requests | jlen)" = 1 ] && break
  sleep 0.2
done
kill -TERM "$SERVE_PID" 2>/dev/null; wait "$SERVE_PID" 2>/dev/null; SERVE_PID=""
Q --json hodl requests >r.json
check "the daemon wrote one request" "$(jlen <r.json)" 1
check "the daemon's request tops up the new Bank" "$(jget 0.transfers.0.to <r.json)" "$BANK3"
check "the daemon's request amount" "$(jget 0.transfers.0.lamports <r.json)" 100000000

# ---- hodl remove ----
Q hodl remove "$HODL" --yes >out 2>err; check "the last HODL key stays while Banks hold funds" $? 2
has "last HODL reason" "last HODL key" err
Q hodl add --pubkey "$NOWHERE" >/dev/null 2>&1 || bad "hodl add second"
printf 'remove x\n' | Q hodl remove "$NOWHERE" >out 2>err; check "remove without the right confirmation" $? 2
printf 'remove %s\n' "${NOWHERE:0:8}" | Q hodl remove "$NOWHERE" >out 2>err; check "hodl remove" $? 0
Q --json hodl list >hl.json; check "one HODL key left" "$(jlen <hl.json)" 1

# ---- sweep to the watch-only HODL: Banks sign; typed confirmation ----
printf 'yes\n' | Q sweep --to-hodl >out 2>err; check "sweep without the right confirmation" $? 2
has "sweep shows the HODL key" "$HODL" err
printf 'sweep to %s\n' "${HODL:0:8}" | Q --json sweep --to-hodl >sw.json 2>err || bad "sweep: $(cat err)"
Q --json status >s.json
check "Banks empty after sweep" "$(jget balances_lamports.bank <s.json)" 0
check "Explorers empty after sweep" "$(jget balances_lamports.explorer <s.json)" 0
conserved "after sweep"

# ---- rescue validates HODL keys too ----
Q export-seed --yes-i-understand >seed.hex; chmod 600 seed.hex
"$QTW" --store "$WORK/r.db" --rpc-url "$URL" rescue --seed-file seed.hex --hodl-pubkey SysvarRent111111111111111111111111111111111 \
  --kdf-opslimit 1 --kdf-memlimit-kib 8 >out 2>err
check "rescue refuses a sysvar HODL" $? 2
"$QTW" --store "$WORK/r.db" status --no-balances >out 2>err; check "refused rescue wrote no wallet" $? 2

finish cold_hodl_test
