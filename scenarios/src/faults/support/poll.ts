// Waiting for conditions that need I/O to check (a metrics scrape, an InfluxDB query); the
// emulator's `until` covers synchronous ones. Never a fixed sleep: poll until it holds, bounded.
export async function eventually(condition: () => Promise<boolean> | boolean, what: string, timeoutMs: number, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
