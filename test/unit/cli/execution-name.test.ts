import { describe, expect, it } from 'vitest';
import { rotationIdFor } from '#domain/naming.js';
import { defaultExecutionName } from '../../../cli/runner.js';

describe('the default execution name of rekey run', () => {
  it('differs between two runs started in the same millisecond, so their rotation ids (and lock owners) differ', () => {
    // Prepare
    const now = new Date('2026-11-22T16:09:22.123Z');

    // Act
    const first = defaultExecutionName(now);
    const second = defaultExecutionName(now);

    // Assess
    expect(first).toMatch(/^local-2026-11-22T16-09-22-123Z-[0-9a-f]{8}$/);
    expect(second).not.toBe(first);
    const arn = (name: string) => `arn:aws:states:us-east-1:000000000000:execution:rekey-local:${name}`;
    expect(rotationIdFor(arn(second))).not.toBe(rotationIdFor(arn(first)));
  });

  it('is a valid Step Functions execution name (at most 80 of [A-Za-z0-9-_])', () => {
    // Act
    const name = defaultExecutionName();

    // Assess
    expect(name).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
  });
});
