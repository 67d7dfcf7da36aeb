// The Pub/Sub emulator in its own process, for benchmarks that measure the CPU of a gateway running
// in theirs (the emulator's work must not count as the gateway's).
// Usage: fork dist/bench/emulator-process.js (needs an IPC channel); it sends { endpoint } when ready.
import { pino } from 'pino';
import { start } from '@pdm/pubsub-emulator';

const emulator = await start({ port: 0, adminPort: false, logger: pino({ level: 'silent' }) });
process.send?.({ endpoint: emulator.endpoint });
// Never outlive the benchmark that started it.
process.on('disconnect', () => void emulator.stop().then(() => process.exit(0)));
