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
export const PROCESSOR_NODE_FLAGS: readonly string[] = ['--no-memory-reducer'];
