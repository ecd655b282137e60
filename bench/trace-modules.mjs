// Preload for an instrumented (untimed) run: lists every module the process loads, through
// public hooks only. ES modules come from a module.register() load hook (which runs on Node's
// loader thread and reports over a MessagePort, drained synchronously at exit); CommonJS modules
// required from CommonJS come from require.cache. Use:
//   NODE_OPTIONS="--import=<abs path>/bench/trace-modules.mjs" BENCH_MODULES_OUT=<file> node …
import { writeFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';

const hooks = `
let port;
export function initialize(data) { port = data.port; }
export async function load(url, context, next) { port.postMessage(url); return next(url, context); }
`;
const { port1, port2 } = new MessageChannel();
port1.unref();
register('data:text/javascript,' + encodeURIComponent(hooks), { data: { port: port2 }, transferList: [port2] });

process.on('exit', () => {
  const files = new Set();
  for (let m; (m = receiveMessageOnPort(port1)); ) {
    const url = m.message;
    files.add(url.startsWith('file:') ? fileURLToPath(url) : url);
  }
  for (const f of Object.keys(createRequire(import.meta.url).cache)) files.add(f);
  if (process.env.BENCH_MODULES_OUT) writeFileSync(process.env.BENCH_MODULES_OUT, JSON.stringify([...files]));
});
