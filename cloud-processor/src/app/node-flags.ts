// The node flags `pdm processor` runs with where this project starts it as a process of its own: the
// processor container's ENTRYPOINT (deploy/processor.Containerfile, checked by cli/src/deploy-docs.test.ts),
// the pipeline benchmark and the processor soak. V8 reads them only when the process starts, so the
// processor cannot set them itself as it does the heap growing factor (heap-growth.ts).
// --no-memory-reducer: between two window boundaries the processor idles for seconds, which V8's memory
// reducer takes for the end of a busy phase: it runs a garbage collection to give memory back and
// shrinks the young generation, and the next boundary takes it again. In the pipeline soak at 1,000
// machines (30 minutes, 2026-12-06) that was a drop of ~40 MB for one 30 s slice, three times, 210–264 MB
// (17.2 % from the median: not flat); with the flag, 246–274 MB (8.5 %), the same load. The memory the
// processor holds is then what its busiest boundary needs, which is what its host must have anyway.
// --max-semi-space-size=64 (MB; V8's default for Node 20 is 16): a window stays referenced from its
// decoding until InfluxDB stored it, so in a 16 MB semi-space half of what a scavenge finds is still
// in flight and gets copied, then promoted, and the scavenges alone took ~1.7 s of 20 s of sink work
// (decode + score + InfluxSink at 30,000 windows, --trace-gc): in 64 MB most of it dies young. Measured
// with the heap growth pdm processor sets (heap-growth.ts), four runs each taking turns: the
// processor's CPU per stored point 13.1–20.2 µs against 20.0–26.3 (32 MB was in between), scavenges
// 0.2 s instead of 1.7 s; peak RSS 328–342 MB against 232–245. With --no-memory-reducer the young
// generation stays as large as the busiest boundary made it, so RSS stays flat at that level (the
// 30-minute pipeline soak: 335–352 MB, 3.4 % from its median).
export const PROCESSOR_NODE_FLAGS: readonly string[] = ['--no-memory-reducer', '--max-semi-space-size=64'];
