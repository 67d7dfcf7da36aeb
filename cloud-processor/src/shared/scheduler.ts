// setTimeout by default; injectable so time-bounded flushes can be driven by a test clock.
export type Scheduler = (fn: () => void, ms: number) => { cancel(): void };

export const realScheduler: Scheduler = (fn, ms) => {
  const timer = setTimeout(fn, ms);
  return { cancel: () => clearTimeout(timer) };
};
