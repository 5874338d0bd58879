#!/usr/bin/env bash
# One bad Explorer never blocks the others (issue 12 §3), on the local node.
# 21 used Explorers: one Assigned to another program, one with data
# Allocated, one turned into a nonce account of a stranger, one into a nonce
# account whose authority is itself, 17 plain. Each bad one is made by a real
# transaction its own keypair signs (`qtw acquire --outfile`, then
# tools/localnet/chaintool.js). Two wallets on one node:
#   A (default): the bad ones are found from their accounts before batching;
#   B (classify_before_recovery = false): they share batches with the others,
#     the failed batches are split and retried in the same cycle.
# Both: after ONE cycle every plain Explorer is at 0 lamports on chain, the
# nonce one whose authority is the Explorer too (WithdrawNonceAccount; in B,
# where nothing looks at accounts, it is stranded instead), the others are
# `stranded` with their reason, reported once; cycles 2 and 3 send nothing
# and exit 0; `qtw keys list --state stranded` and `qtw status` list them.
# Usage: stranded_test.sh QTW SOURCE_DIR
set -uo pipefail
QTW=$1; SRC=$2
. "$SRC/tests/integration/lib.sh"
qtw_test_begin stranded

start_node --slot-ms 100
CT="node $SRC/tools/localnet/chaintool.js --rpc $URL"
export QTW_PASSPHRASE="stranded test"
lamports_of() { "$QTW" --rpc-url "$URL" --json account "$1" | jget lamports; }

run_wallet() {  # run_wallet NAME CLASSIFY
  local name=$1 classify=$2
  mkdir -p "$name" && cd "$name" || exit 1
  local hodl
  hodl=$("$QTW" keygen -o hodl.json)
  "$QTW" --rpc-url "$URL" airdrop "$hodl" 2000000000 >/dev/null || exit 1
  "$QTW" --store w.db init --banks 1 --hodl-keypair hodl.json --kdf-opslimit 1 --kdf-memlimit-kib 8 >/dev/null || exit 1
  config() {  # MIN_EXPLORERS
    # This wallet's store is in its own directory: $PWD, not $WORK.
    WORK=$PWD write_config <<TOML
min_explorer_keys = $1
explorer_keys_to_create = $1
lamports_per_explorer = 10000000
lamports_per_bank = 300000000
classify_before_recovery = $classify
TOML
  }
  config 21
  Q --json balance >create.json || { echo "$name: create cycle failed"; cat create.json; }
  check "$name created" "$(jget explorers_created <create.json)" 21
  local plain=() i
  for i in $(seq 1 21); do
    local pk
    pk=$(Q acquire --outfile "ex$i.json" 2>/dev/null) || { echo "$name: acquire $i failed"; exit 1; }
    echo "$pk" >"ex$i.pub"
  done
  $CT strand --explorer ex1.json --how assign >/dev/null || echo "$name: assign failed"
  $CT strand --explorer ex2.json --how allocate >/dev/null || echo "$name: allocate failed"
  $CT strand --explorer ex3.json --how nonce-stranger >/dev/null || echo "$name: nonce-stranger failed"
  $CT strand --explorer ex4.json --how nonce-self >/dev/null || echo "$name: nonce-self failed"
  for i in $(seq 1 21); do Q release "$(cat "ex$i.pub")" --retire >/dev/null; done
  local bad_before=()
  for i in 1 2 3; do bad_before+=("$(lamports_of "$(cat "ex$i.pub")")"); done
  local nonce_before; nonce_before=$(lamports_of "$(cat ex4.pub)")

  config 0
  Q --json balance >r1.json; check "$name cycle 1 exit" "$?" 0
  local want_stranded=3 want_recovered=18
  [ "$classify" = false ] && { want_stranded=4; want_recovered=17; }
  check "$name recovered in cycle 1" "$(jget explorers_recovered <r1.json)" "$want_recovered"
  check "$name stranded in cycle 1" "$(jget explorers_stranded <r1.json)" "$want_stranded"
  check "$name failed transactions" "$(jget transactions_failed <r1.json)" 0
  if [ "$classify" = false ]; then
    [ "$(jget recovery_batches_split <r1.json)" -ge 1 ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL $name: no batch was split"; }
  else
    check "$name no batch failed" "$(jget recovery_batches_split <r1.json)" 0
  fi
  for i in $(seq 5 21); do check "$name ex$i at 0" "$(lamports_of "$(cat "ex$i.pub")")" 0; done
  for i in 1 2 3; do check "$name bad ex$i keeps its lamports" "$(lamports_of "$(cat "ex$i.pub")")" "${bad_before[$((i-1))]}"; done
  local stranded; stranded=$(jget stranded <r1.json)
  case "$stranded" in *"owner changed to Stake111"*|*"InstructionError"*) pass=$((pass+1)) ;; *) fail=$((fail+1)); echo "FAIL $name: no Assign reason in $stranded" ;; esac
  if [ "$classify" = true ]; then
    for reason in "owner changed to Stake111" "data allocated (64 bytes)" "a nonce account whose authority is"; do
      case "$stranded" in *"$reason"*) pass=$((pass+1)) ;; *) fail=$((fail+1)); echo "FAIL $name: no '$reason' in $stranded" ;; esac
    done
    check "$name nonce (own authority) withdrawn to 0" "$(lamports_of "$(cat ex4.pub)")" 0
    check "$name lamports recovered include the nonce account" \
      "$(( $(jget lamports_recovered <r1.json) >= nonce_before ))" 1
  else
    check "$name nonce (own authority) kept without classification" "$(lamports_of "$(cat ex4.pub)")" "$nonce_before"
  fi
  for n in 2 3; do
    Q --json balance >"r$n.json"; check "$name cycle $n exit" "$?" 0
    check "$name cycle $n sends nothing" "$(jget transactions_sent <"r$n.json")" 0
    check "$name cycle $n strands nothing new" "$(jget explorers_stranded <"r$n.json")" 0
    check "$name cycle $n reports none" "$(jget stranded <"r$n.json")" "[]"
  done
  Q --json keys list --state stranded >stranded.json
  check "$name keys list --state stranded" "$(node -e 'const a=JSON.parse(require("fs").readFileSync("stranded.json"));console.log(a.length+":"+a.every(k=>k.state==="stranded"&&k.stranded_reason.length>0))')" "$want_stranded:true"
  Q --json status >status.json
  check "$name status: stranded count" "$(jget keys.explorer.stranded <status.json)" "$want_stranded"
  check "$name status: stranded list" "$(node -e 'console.log(JSON.parse(require("fs").readFileSync("status.json")).stranded.length)')" "$want_stranded"
  Q status | grep -q "stranded Explorers" && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL $name: status text has no stranded section"; }
  Q keys list --state nonsense >/dev/null 2>&1; check "$name bad --state exits 2" "$?" 2
  # sweep --to-hodl is not blocked by them either.
  Q --json sweep --to-hodl --yes >sweep.json; check "$name sweep exit" "$?" 0
  check "$name sweep swept the Bank" "$(jget banks_swept <sweep.json)" 1
  cd ..
}

run_wallet a true
run_wallet b false
finish stranded
