// How the load generator stamps event time, shared with the benchmark that carries event time from
// one run to the next (load.ts explains why it follows the sample rate).

/** Event time one message per sensor covers: one 10 Hz reading, or one block of samples at BLOCK_HZ. */
export const MESSAGE_SPAN_MS = 100;
/** Sample rate of the batch payloads' blocks. */
export const BLOCK_HZ = 1000;
/** Samples in one batch payload: MESSAGE_SPAN_MS at BLOCK_HZ. */
export const BLOCK_SAMPLES = (MESSAGE_SPAN_MS * BLOCK_HZ) / 1000;
