// A local SMTP sink for benchmarks: accepts everything, counts messages, prints its port.
// node bench/sink.mjs  → prints "port <n>" on stdout; SIGTERM prints "received <n>" and exits.
// SINK_DELAY_MS=20: each message is answered that long after its data ended, like a real relay
// that queues it to disk first (the scale-out benchmark).
import { SMTPServer } from 'smtp-server';

const delayMs = Number(process.env.SINK_DELAY_MS ?? 0);
let received = 0;
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  maxClients: 1000,
  onData(stream, _session, callback) {
    stream.resume();
    stream.on('end', () => {
      received++;
      if (delayMs > 0) setTimeout(() => callback(null, 'OK: queued'), delayMs);
      else callback(null, 'OK: queued');
    });
  },
});
server.on('error', () => undefined);
// Without TCP_NODELAY the sink's small replies wait on delayed ACKs (~40 ms a message):
// the sink, not the sender, would be what the benchmark measures.
server.server.on('connection', (socket) => socket.setNoDelay(true));
server.listen(Number(process.env.SINK_PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`port ${server.server.address().port}\n`);
});
process.on('SIGTERM', () => {
  process.stdout.write(`received ${received}\n`);
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
});
