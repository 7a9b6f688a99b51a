import { readFileSync } from 'node:fs';
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
 * create call) are not SDK commands and are reviewed in the template. Passing a role is checked
 * here too: iam:PassRole is no SDK command, so the bundles are read for the request parameters that
 * hand a role to a service (ROLE_PARAMETERS), and a step that sets one needs iam:PassRole limited
 * by iam:PassedToService.
 */

/** SDK client package -> IAM service prefix (DynamoDB: see dynamoDbCallsOf below). */
const SERVICE_PREFIX: Record<string, string> = {
  rds: 'rds',
  kms: 'kms',
  'route-53': 'route53',
  sfn: 'states',
  sns: 'sns',
  cloudtrail: 'cloudtrail',
  s3: 's3',
};

/**
 * DynamoDB's command modules in a bundle are not its calls: every DynamoDBClient bundles
 * DescribeEndpoints (endpoint discovery, off unless configured), and @aws-sdk/lib-dynamodb, which
 * is not marked free of side effects, bundles its Query and Scan paginators and so their commands
 * into every function that builds the document client. So DynamoDB calls are read from the
 * commands (and paginators) the project's own files in the bundle import by name.
 */
const DOCUMENT_CLIENT_COMMANDS: Record<string, string> = {
  Put: 'PutItem',
  Get: 'GetItem',
  Delete: 'DeleteItem',
  Update: 'UpdateItem',
  Query: 'Query',
  Scan: 'Scan',
  BatchGet: 'BatchGetItem',
  BatchWrite: 'BatchWriteItem',
  TransactGet: 'TransactGetItems',
  TransactWrite: 'TransactWriteItems',
  ExecuteStatement: 'ExecuteStatement',
  BatchExecuteStatement: 'BatchExecuteStatement',
  ExecuteTransaction: 'ExecuteTransaction',
};
const DYNAMODB_IMPORT = /import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*['"]@aws-sdk\/(lib|client)-dynamodb['"]/g;

const dynamoDbCallsOf = (projectFiles: string[]): string[] =>
  projectFiles.flatMap((file) =>
    [...readFileSync(`${root}${file}`, 'utf8').matchAll(DYNAMODB_IMPORT)].flatMap(([, names, library]) =>
      (names ?? '')
        .split(',')
        .map(
          (name) =>
            name
              .trim()
              .replace(/^type\s+/, '')
              .split(/\s+as\s+/)[0] ?? '',
        )
        .flatMap((name) => {
          const command = /^(\w+)Command$/.exec(name)?.[1];
          const paginated = /^paginate(\w+)$/.exec(name)?.[1];
          const api = command ? (library === 'lib' ? DOCUMENT_CLIENT_COMMANDS[command] : command) : paginated;
          return api ? [`dynamodb:${api}`] : [];
        }),
    ),
  );

/**
 * Calls that are not an IAM action of their own, and the actions that authorize them: any one of
 * these allowed is enough for the check (which of them a call needs depends on its items).
 * TransactWriteItems/TransactGetItems: each item is authorized as its own action on its table
 * (DynamoDB Developer Guide, "Using IAM with DynamoDB transactions"; the Service Authorization
 * Reference lists no dynamodb:TransactWriteItems action).
 */
const AUTHORIZED_BY: Record<string, string[]> = {
  'dynamodb:TransactWriteItems': [
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
    'dynamodb:ConditionCheckItem',
  ],
  'dynamodb:TransactGetItems': ['dynamodb:GetItem'],
};
/**
 * Command modules a client bundles for itself, which the step never sends: every S3Client bundles
 * CreateSession for S3 Express One Zone (directory buckets) session auth; the evidence bucket is a
 * general purpose bucket, so it is never called.
 */
const NOT_CALLS = new Set(['s3:CreateSession']);
const COMMAND_MODULE = /@aws-sdk\/client-([a-z0-9-]+)\/dist-es\/commands\/(\w+)Command\.js$/;

/**
 * Request parameters that pass an IAM role to a service (the caller needs iam:PassRole on the
 * role), with the service principal it is passed to where this project has looked it up, else
 * null (then any iam:PassedToService condition is accepted, and whoever first sets the parameter
 * looks the service up and writes it here).
 * MonitoringRoleArn (CreateDBInstance, ModifyDBInstance, restores): the Enhanced Monitoring role,
 * which trusts monitoring.rds.amazonaws.com. DomainIAMRoleName (Kerberos through Directory
 * Service), RoleArn (AddRoleToDBInstance/AddRoleToDBCluster, the AssociatedRoles of a cluster),
 * S3IngestionRoleArn (RestoreDBInstanceFromS3), IamRoleArn (StartExportTask): RDS features Rekey
 * does not copy today.
 */
const ROLE_PARAMETERS: Record<string, string | null> = {
  MonitoringRoleArn: 'monitoring.rds.amazonaws.com',
  DomainIAMRoleName: null,
  RoleArn: null,
  S3IngestionRoleArn: null,
  IamRoleArn: null,
};
/** An object literal key (`{ Name: ...` or `, Name: ...`, or the shorthand `{ Name }`): a value is set, not read. */
const ROLE_PARAMETER_KEY = new RegExp(`[{,]\\s*(${Object.keys(ROLE_PARAMETERS).join('|')})\\s*[:,}]`, 'g');

/**
 * The role parameters the project's own code in a bundle sets. esbuild's unminified output starts
 * each module with a `// <path>` comment; only the sections of files under functions/ are read,
 * so the SDK's own serializers (which name every parameter) do not count. The bundle is
 * tree-shaken, so a parameter set only in code the step cannot reach does not count either.
 */
const roleParametersSetBy = (bundle: string): string[] => {
  const sections = bundle.split(/^\/\/ (\S+)$/m);
  const own = sections.filter(
    (_, index) => index % 2 === 0 && index > 0 && sections[index - 1]?.startsWith('functions/'),
  );
  return [
    ...new Set(own.flatMap((code) => [...code.matchAll(ROLE_PARAMETER_KEY)].map((m) => m[1] as string))),
  ].sort();
};

const functions = functionHandlers(template).filter((fn) => fn.handlerFile.startsWith('functions/'));
const callsByEntry = new Map<string, string[]>();
const rolesPassedByEntry = new Map<string, string[]>();

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
    const textOf = new Map(result.outputFiles.map((file) => [file.path, file.text]));
    for (const [path, output] of Object.entries(result.metafile.outputs)) {
      if (!output.entryPoint) continue;
      rolesPassedByEntry.set(output.entryPoint, roleParametersSetBy(textOf.get(`${root}${path}`) ?? ''));
      const inputs = Object.keys(output.inputs);
      const calls = inputs.flatMap((input) => {
        const match = COMMAND_MODULE.exec(input);
        const prefix = match ? SERVICE_PREFIX[match[1] as string] : undefined;
        const call = prefix ? `${prefix}:${match?.[2]}` : undefined;
        return call && !NOT_CALLS.has(call) ? [call] : [];
      });
      calls.push(...dynamoDbCallsOf(inputs.filter((input) => !input.includes('node_modules/'))));
      callsByEntry.set(output.entryPoint, [...new Set(calls)].sort());
    }
  }, 120_000);

  it.each(functions.map((fn) => [fn.logicalId, fn] as const))('%s', (logicalId, fn) => {
    // Prepare
    const calls = callsByEntry.get(fn.handlerFile);
    expect(calls, `${fn.handlerFile} was not bundled (does it exist?)`).toBeDefined();
    const statements = policyStatements(template).filter((located) => located.logicalId === logicalId);

    // Act
    const denied = (calls ?? []).filter(
      (call) => !(AUTHORIZED_BY[call] ?? [call]).some((action) => allowedDirectly(statements, action)),
    );

    // Assess
    expect(denied, `${fn.handlerFile} calls these, but ${logicalId}'s Policies do not allow them`).toEqual(
      [],
    );
  });

  it.each(functions.map((fn) => [fn.logicalId, fn] as const))(
    '%s may pass every role its step passes, only to the service it is for',
    (logicalId, fn) => {
      // Prepare
      const passed = rolesPassedByEntry.get(fn.handlerFile) ?? [];
      const passRole = policyStatements(template).filter(
        ({ logicalId: id, statement }) =>
          id === logicalId &&
          statement.Effect === 'Allow' &&
          actionsOf(statement).some((pattern) => actionMatches(pattern, 'iam:PassRole')),
      );

      // Act
      const missing = passed.filter((parameter) => {
        const service = ROLE_PARAMETERS[parameter];
        return !passRole.some(({ statement }) => {
          const passedTo = statement.Condition?.StringEquals?.['iam:PassedToService'];
          return service === null ? passedTo !== undefined : passedTo === service;
        });
      });
      const unconditioned = passRole
        .filter(({ statement }) => statement.Condition?.StringEquals?.['iam:PassedToService'] === undefined)
        .map(({ where }) => where);

      // Assess
      expect(
        missing,
        `${fn.handlerFile} sets these, but ${logicalId} has no iam:PassRole with the iam:PassedToService they need`,
      ).toEqual([]);
      expect(unconditioned, 'iam:PassRole without iam:PassedToService').toEqual([]);
    },
  );

  it('found the role parameters (the detection itself works)', () => {
    // The Aurora restore creates members with the source's monitoring role; configure restores it.
    expect(rolesPassedByEntry.get('functions/restore-database.ts')).toContain('MonitoringRoleArn');
    expect(rolesPassedByEntry.get('functions/configure-database.ts')).toContain('MonitoringRoleArn');
    // Preflight reads the monitoring role (db.MonitoringRoleArn) but never passes it.
    expect(rolesPassedByEntry.get('functions/preflight.ts')).toEqual([]);
  });

  it('found the SDK calls (the detection itself works)', () => {
    expect(callsByEntry.get('functions/stop-source.ts')).toContain('rds:StopDBInstance');
    expect(callsByEntry.get('functions/acquire-lock.ts')).toEqual(
      expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:TransactWriteItems']),
    );
    expect(callsByEntry.get('functions/release-lock.ts')).toEqual(
      expect.arrayContaining(['dynamodb:DeleteItem', 'dynamodb:Scan']),
    );
    // A step that only builds the shared clients makes no DynamoDB call.
    expect(
      callsByEntry.get('functions/stop-source.ts')?.filter((call) => call.startsWith('dynamodb:')),
    ).toEqual([]);
  });
});
