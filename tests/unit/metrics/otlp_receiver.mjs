// Minimal OTLP/HTTP metrics receiver for the tests: accepts
// POST /v1/metrics (Content-Type: application/x-protobuf), decodes the body as
// opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest with
// protobufjs loading the official .proto files (opentelemetry-proto v1.11.0,
// tests/data/opentelemetry-proto/, see PROVENANCE.md there), and writes each
// decoded request as JSON to <out-dir>/request-<n>.json (n from 1).
// Field names are kept as in the .proto (snake_case); proto3 fields left at
// their default (0, "", false: no presence on the wire) are filled in; 64-bit integers are
// decimal strings; enums are their names; oneofs add a virtual field naming
// the member that is set.
//
// Usage: node otlp_receiver.mjs --out-dir DIR [--port 0]
// Prints "READY http://127.0.0.1:<port>" once listening. Any other path gets
// 404, a wrong content type 415, an undecodable body 400 (and an
// error-<n>.txt file).
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const protoDir = path.resolve(here, '../../data/opentelemetry-proto');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const outDir = arg('--out-dir');
const port = Number(arg('--port', '0'));
if (!outDir) {
  console.error('usage: otlp_receiver.mjs --out-dir DIR [--port N]');
  process.exit(2);
}

const root = new protobuf.Root();
root.resolvePath = (_origin, target) => path.join(protoDir, target);
root.loadSync('opentelemetry/proto/collector/metrics/v1/metrics_service.proto', { keepCase: true });
root.resolveAll();
const Request = root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest');
const Response = root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse');

let received = 0;
let failed = 0;

function writeAtomically(file, text) {
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (req.method !== 'POST' || req.url !== '/v1/metrics') {
      res.writeHead(404).end();
      return;
    }
    if (req.headers['content-type'] !== 'application/x-protobuf') {
      res.writeHead(415).end();
      return;
    }
    const body = Buffer.concat(chunks);
    let decoded;
    try {
      const message = Request.decode(body);
      decoded = Request.toObject(message, { longs: String, enums: String, bytes: String, oneofs: true, defaults: true });
    } catch (e) {
      failed += 1;
      writeAtomically(path.join(outDir, `error-${failed}.txt`), String(e && e.stack ? e.stack : e));
      res.writeHead(400).end();
      return;
    }
    received += 1;
    writeAtomically(path.join(outDir, `request-${received}.json`), JSON.stringify(decoded, null, 1));
    const reply = Response.encode(Response.create({})).finish();
    res.writeHead(200, { 'Content-Type': 'application/x-protobuf' }).end(Buffer.from(reply));
  });
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`READY http://127.0.0.1:${server.address().port}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => server.close(() => process.exit(0)));
}
