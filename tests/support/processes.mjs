// Child processes for the node:test integration tests: start a program that
// prints `READY <url>` when it serves (the local node, `qtw serve`), and keep
// its output for the test's logs.
//
//   const node = startReady('node', [localnet, '--port', '0'], { env });
//   const url = await node.ready;      // rejects if it exits first
//   ...; node.p.kill('SIGTERM'); await node.exited;
//   node.stdout(), node.stderr()        // everything it printed so far
import { spawn } from 'node:child_process';

export function startReady(cmd, args, options = {}) {
  const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  let out = '';
  const err = [];
  p.stderr.on('data', (d) => err.push(d));
  const ready = new Promise((resolve, reject) => {
    p.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/READY (\S+)/);
      if (m) resolve(m[1]);
    });
    p.on('exit', (code) => reject(new Error(`${cmd} exited ${code}: ${Buffer.concat(err)}`)));
  });
  ready.catch(() => {});  // a process that exits after READY is not an error here
  const exited = new Promise((resolve) => p.on('exit', resolve));
  return { p, ready, exited, stdout: () => out, stderr: () => Buffer.concat(err) };
}
