// Rounds a reading to its sensor's resolution. Dividing by an integer scale (not multiplying by 0.01)
// keeps the shortest decimal form, so JSON and CSV carry "12.34" rather than "12.340000000000002".
export function quantize(value: number, resolution: number): number {
  const scale = Math.round(1 / resolution);
  return Math.round(value * scale) / scale;
}
