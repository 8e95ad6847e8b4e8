// Warnings watched where they are raised: jest's sandbox does not pass process 'warning' events to a test.
import { jest } from '@jest/globals';

/** Collects every process.emitWarning() as an Error whose name is the warning's type, until restore(). */
export function captureWarnings(): { warnings: Error[]; restore(): void } {
  const warnings: Error[] = [];
  const spy = jest.spyOn(process, 'emitWarning').mockImplementation((w: string | Error, type?: unknown) => {
    const err = typeof w === 'string' ? new Error(w) : w;
    if (typeof type === 'string') err.name = type;
    warnings.push(err);
  });
  return { warnings, restore: () => spy.mockRestore() };
}
