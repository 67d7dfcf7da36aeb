// A progress line for long inputs, at most once a second: "replay: 45% · 12,345 rows · 1,234 windows".
export function progressReporter(label: string, write: (line: string) => void, now: () => number = Date.now) {
  let last = 0;
  return (done: { bytesRead: number; bytesTotal: number | undefined; rows: number }, windows: number, final = false): void => {
    const t = now();
    if (!final && t - last < 1000) return;
    last = t;
    const percent = done.bytesTotal ? ` ${Math.floor((100 * done.bytesRead) / done.bytesTotal)}% ·` : '';
    write(`${label}:${percent} ${done.rows.toLocaleString('en-US')} rows · ${windows.toLocaleString('en-US')} windows`);
  };
}
