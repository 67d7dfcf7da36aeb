// The node flags `pdm gateway` runs with where this project starts it: given as NODE_OPTIONS (which
// accepts them) by the gateway's systemd unit and container file, whose entry point is the installed
// `pdm` script (both checked by cli/src/deploy-docs.test.ts), and as node's own flags by the gateway
// and pipeline benchmarks. V8 reads them only when the process starts.
// --max-semi-space-size=8 (MB; V8's default for Node 20 is 16): the gateway's garbage is short-lived
// (a reading's packet and parse die within its turn; a window's state lives for its window), so a
// smaller young generation costs it little, and the committed new space is the largest part of its RSS
// that it does not need. Gateway benchmark with 10,000 active sensors, taking turns (2026-12-07):
// RSS after the first run 137–142 MB against 153–156 (target ≤ 150), peak 155–173 against 181–194;
// single readings 187k–200k per CPU-second against 175k–210k, ratios to bare aedes within the runs'
// noise; a 1,000-machine boundary 46.9 ms against 54.1 (one run each).
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8'];
