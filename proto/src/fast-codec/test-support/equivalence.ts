// The one assertion of the fast-codec tests: our codec and @bufbuild/protobuf either both throw (ours an
// Error), or give strictly equal results.
import { expect } from 'vitest';

export function expectSameOutcome<T>(ours: () => T, reference: () => T): void {
  let expected: T;
  try {
    expected = reference();
  } catch {
    expect(ours).toThrow(Error);
    return;
  }
  expect(ours()).toStrictEqual(expected);
}
