import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { functionHandlers } from '../../cli/template.js';
import {
  actionMatches,
  actionsOf,
  hasConditionKey,
  type LocatedStatement,
  policyStatements,
  root,
  template,
} from './helpers.js';

/**
 * Every AWS API a step calls is allowed by its own role. The calls are read from the step's
 * tree-shaken bundle (esbuild keeps exactly the SDK command modules the step can reach, through
 * functions/commons too), so a new call in the code without a grant in template.yaml fails here
 * instead of as AccessDenied in production. Resources and most conditions cannot be checked
 * statically; one can: a direct call is not allowed by a statement limited to kms:ViaService.
 *
 * Calls that services make for the step (RDS using the keys through grants, tags passed to a
 * create call, passing the monitoring role) are not SDK commands and are reviewed in the template.
 */

/** SDK client package -> IAM service prefix. */
const SERVICE_PREFIX: Record<string, string> = { rds: 'rds', kms: 'kms', 'route-53': 'route53' };
const COMMAND_MODULE = /@aws-sdk\/client-([a-z0-9-]+)\/dist-es\/commands\/(\w+)Command\.js$/;

const functions = functionHandlers(template).filter((fn) => fn.handlerFile.startsWith('functions/'));
const callsByEntry = new Map<string, string[]>();

const allowedDirectly = (statements: LocatedStatement[], action: string): boolean =>
  statements.some(
    ({ statement }) =>
      statement.Effect === 'Allow' &&
      actionsOf(statement).some((pattern) => actionMatches(pattern, action)) &&
      !hasConditionKey(statement, 'kms:ViaService'),
  ) &&
  !statements.some(
    ({ statement }) =>
      statement.Effect === 'Deny' &&
      !statement.Condition &&
      actionsOf(statement).some((pattern) => actionMatches(pattern, action)),
  );

describe('IAM covers every AWS call of every step (i)', () => {
  beforeAll(async () => {
    // One build of every entry point that exists (missing ones fail in template.test.ts (g)).
    const { existsSync } = await import('node:fs');
    const entryPoints = functions.map((fn) => fn.handlerFile).filter((file) => existsSync(`${root}${file}`));
    const result = await build({
      absWorkingDir: root,
      entryPoints,
      bundle: true,
      write: false,
      outdir: 'out',
      platform: 'node',
      format: 'esm',
      mainFields: ['module', 'main'],
      metafile: true,
      logLevel: 'error',
    });
    for (const output of Object.values(result.metafile.outputs)) {
      if (!output.entryPoint) continue;
      const calls = Object.keys(output.inputs).flatMap((input) => {
        const match = COMMAND_MODULE.exec(input);
        const prefix = match ? SERVICE_PREFIX[match[1] as string] : undefined;
        return prefix ? [`${prefix}:${match?.[2]}`] : [];
      });
      callsByEntry.set(output.entryPoint, [...new Set(calls)].sort());
    }
  }, 120_000);

  it.each(functions.map((fn) => [fn.logicalId, fn] as const))('%s', (logicalId, fn) => {
    // Prepare
    const calls = callsByEntry.get(fn.handlerFile);
    expect(calls, `${fn.handlerFile} was not bundled (does it exist?)`).toBeDefined();
    const statements = policyStatements(template).filter((located) => located.logicalId === logicalId);

    // Act
    const denied = (calls ?? []).filter((action) => !allowedDirectly(statements, action));

    // Assess
    expect(denied, `${fn.handlerFile} calls these, but ${logicalId}'s Policies do not allow them`).toEqual(
      [],
    );
  });

  it('found the SDK calls (the detection itself works)', () => {
    expect(callsByEntry.get('functions/stop-source.ts')).toContain('rds:StopDBInstance');
  });
});
