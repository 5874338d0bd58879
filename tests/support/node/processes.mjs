// Helpers shared by the node tests and benches that drive the built `qtw`
// and the local node as child processes.
import { spawn } from 'node:child_process';
import * as kit from '@solana/kit';
import { getTransferSolInstruction } from '@solana-program/system';

// Starts `cmd args` with `env`. `ready` resolves with X from the first
// "READY X" line on stdout (rejects if the process exits first; only await
// it for processes that print one), `exited` with {code, out, err}.
export function startProcess(cmd, args, env = process.env) {
  const p = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stderr.on('data', (d) => { err += d; if (err.length > 1e6) err = err.slice(-1e5); });
  p.stdout.on('data', (d) => { out += d; });
  const ready = new Promise((resolve, reject) => {
    p.stdout.on('data', () => {
      const m = out.match(/READY (\S+)/);
      if (m) resolve(m[1]);
    });
    p.on('exit', (code) => reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.slice(-2000)}`)));
  });
  ready.catch(() => {});
  const exited = new Promise((resolve) => p.on('exit', (code) => resolve({ code, out, err })));
  return { p, ready, exited, out: () => out, log: () => err };
}

// The bytes of a legacy message in which `pubkey` (fee payer and only
// signer) transfers `lamports` to `to`, with `blockhash` ({blockhash,
// lastValidBlockHeight} as getLatestBlockhash answers).
export function transferMessage(pubkey, blockhash, { to = '11111111111111111111111111111112', lamports = 1000n } = {}) {
  const signer = { address: kit.address(pubkey), signTransactions: async () => [] };
  const msg = kit.pipe(
    kit.createTransactionMessage({ version: 'legacy' }),
    (m) => kit.setTransactionMessageFeePayerSigner(signer, m),
    (m) => kit.setTransactionMessageLifetimeUsingBlockhash(blockhash, m),
    (m) => kit.appendTransactionMessageInstruction(getTransferSolInstruction({ source: signer, destination: kit.address(to), amount: lamports }), m),
  );
  return Buffer.from(kit.getCompiledTransactionMessageEncoder().encode(kit.compileTransactionMessage(msg)));
}
