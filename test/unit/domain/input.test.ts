import { describe, expect, it } from 'vitest';
import { parseRotationInput } from '#domain/input.js';
import { executionInput } from '../../support/events.js';

const base = () => executionInput('break-glass');

describe('parseRotationInput', () => {
  it('accepts the sample inputs and fills in the defaults', () => {
    expect(parseRotationInput(executionInput('scheduled-rotation'))).toMatchObject({
      dbInstanceIdentifier: 'orders-db',
      writeFreeze: 'stop',
      oldInstance: 'delete',
      oldKey: 'schedule-deletion',
      keepArtifactsOnFailure: false,
    });
    expect(parseRotationInput(base()).cutover).toEqual({
      type: 'cname',
      recordName: 'orders.db.example.internal',
      ttl: 60,
    });
  });

  it.each([
    ['not an object', [], /^\(input\): must be a JSON object \(given: \[\]\)$/],
    [
      'a ttl given as text',
      { ...base(), cutover: { type: 'cname', recordName: 'a.b', ttl: '60' } },
      /cutover\.ttl: must be a whole number of seconds/,
    ],
    ['an empty requestedBy', { ...base(), requestedBy: '' }, /requestedBy: must not be empty/],
    [
      'a rename cutover with the Blue/Green strategy',
      { ...base(), strategy: 'blue-green', cutover: { type: 'rename' } },
      /^cutover\.type: cannot be "rename" with strategy "blue-green": a Blue\/Green switchover keeps the endpoints/,
    ],
    [
      'a reader record for a DB instance',
      { ...base(), cutover: { type: 'cname', recordName: 'a.b', readerRecordName: 'r.b' } },
      /^cutover\.readerRecordName: applies only to an Aurora cluster/,
    ],
    [
      'an unknown strategy',
      { ...base(), strategy: 'fast' },
      /^strategy: must be "snapshot", "blue-green" or "auto"/,
    ],
    [
      'both an instance and a cluster',
      { ...base(), dbClusterIdentifier: 'orders-aurora' },
      /^dbClusterIdentifier: give either dbInstanceIdentifier or dbClusterIdentifier, not both/,
    ],
    ['a cutover given as text', { ...base(), cutover: 'cname' }, /cutover: must be an object/],
    ['no cutover', { dbInstanceIdentifier: 'orders-db', reason: 'x' }, /cutover: is required/],
    [
      'a cluster identifier of the wrong type',
      { ...base(), dbClusterIdentifier: 5 },
      /^dbClusterIdentifier: must be a string[^;]*$/,
    ],
    [
      'an identifier ending in a hyphen',
      { ...base(), dbInstanceIdentifier: 'orders-' },
      /dbInstanceIdentifier: must be an RDS DB instance identifier/,
    ],
    [
      'an idempotency key with spaces',
      { ...base(), idempotencyKey: 'a b' },
      /idempotencyKey: must be printable characters without spaces/,
    ],
    [
      'a boolean given as text',
      { ...base(), keepArtifactsOnFailure: 'true' },
      /keepArtifactsOnFailure: must be true or false/,
    ],
    [
      'a parent execution that is no execution ARN',
      { ...base(), AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: 'fleet-2027' },
      /AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: must be a Step Functions execution ARN/,
    ],
  ])('refuses %s with one message naming the field', (_case, input, message) => {
    // Act
    const attempt = () => parseRotationInput(input);

    // Assess
    expect(attempt).toThrow(expect.objectContaining({ name: 'InvalidInputError' }));
    try {
      attempt();
    } catch (error) {
      const problems = (error as Error).message
        .replace(/^The rotation input is invalid\. Fix it and start again: /, '')
        .replace(/\.$/, '');
      expect(problems).toMatch(message);
    }
  });
});

describe('parseRotationInput: a string field given another type', () => {
  const problemsOf = (input: unknown): string => {
    try {
      parseRotationInput(input);
    } catch (error) {
      return (error as Error).message;
    }
    return 'accepted';
  };

  it.each([
    [
      'reason',
      { ...base(), reason: 4711 },
      /reason: must be text: say why this rotation runs[^;]*\(given: 4711\)/,
    ],
    ['requestedBy', { ...base(), requestedBy: 42 }, /requestedBy: must be text[^;]*\(given: 42\)/],
    [
      'cutover.recordName',
      { ...base(), cutover: { type: 'cname', recordName: 17 } },
      /cutover\.recordName: must be text: the DNS name clients use[^;]*\(given: 17\)/,
    ],
    [
      'cutover.hostedZoneId',
      { ...base(), cutover: { type: 'cname', recordName: 'a.b', hostedZoneId: 12345 } },
      /cutover\.hostedZoneId: must be text: a Route 53 hosted zone id[^;]*\(given: 12345\)/,
    ],
    [
      'idempotencyKey',
      { ...base(), idempotencyKey: 20260310 },
      /idempotencyKey: must be text[^;]*\(given: 20260310\)/,
    ],
  ])('%s: says text was expected, never "required"', (_field, input, message) => {
    // Act
    const problems = problemsOf(input);

    // Assess
    expect(problems).toMatch(message);
    expect(problems).not.toContain('is required');
  });

  it('a missing reason is still "required"', () => {
    // Prepare
    const { reason: _omitted, ...input } = base() as Record<string, unknown>;

    // Act / Assess
    expect(problemsOf(input)).toMatch(/reason: is required: say why this rotation runs/);
  });
});
