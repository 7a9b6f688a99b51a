import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { functionHandlers, type TemplateValue, taskHandlers } from '../../cli/template.js';
import {
  actionMatches,
  actionsOf,
  allStates,
  aslFiles,
  policyStatements,
  readAsl,
  resourcesOf,
  root,
  stateMachineFor,
  substitutionsUsed,
  template,
} from './helpers.js';

/**
 * Static checks of template.yaml against the ASL and the code: every `${...}` is wired, every
 * function has its handler, and IAM stays least-privilege.
 */

/**
 * Statements allowed to use Resource "*" (or a whole-service action), each with the reason.
 * Keyed `<LogicalId>/<Sid>`. Deny statements are not listed: a broad Deny only takes away.
 */
const WILDCARD_EXCEPTIONS: Record<string, string> = {
  'PreflightFunction/ReadRdsQuotas':
    'rds:DescribeAccountAttributes has no resource type: it reads account quotas.',
  'PreflightFunction/ListKeyAliases':
    'kms:ListAliases has no resource type: it lists the aliases of the account.',
  'PreflightFunction/FindHostedZoneByName': 'route53:ListHostedZonesByName has no resource type.',
  'CreateKeyFunction/CreateTaggedSymmetricKey':
    'kms:CreateKey has no resource (the key does not exist yet); conditions require the rotation-id tag and a symmetric KMS-made key.',
  'CreateKeyFunction/ListKeys':
    'kms:ListKeys has no resource type: the step finds its own key among all keys.',
  'RotateInstanceStateMachine/DeliverExecutionLogs':
    'CloudWatch Logs delivery APIs (CreateLogDelivery, ...) have no resource type; Step Functions documents Resource "*".',
  'NotificationKey/AccountAdministers':
    'Key policy: "*" is this key; the account root keeps kms:* so the key can never become unmanageable.',
  'NotificationKey/EventBridgePublishesToTopic': 'Key policy: "*" is this key.',
};

const isWildcardAction = (action: string) => action === '*' || /^[a-z0-9-]+:\*$/i.test(action);

describe('template.yaml and the state machines', () => {
  it.each(aslFiles)(
    '%s: every placeholder is in DefinitionSubstitutions, and every substitution is used (c)',
    (file) => {
      // Prepare
      const machine = stateMachineFor(file);
      expect(machine, `no AWS::Serverless::StateMachine has DefinitionUri ${file}`).toBeDefined();
      const [, properties] = machine as [string, Record<string, TemplateValue>];
      const defined = Object.keys(
        (properties.DefinitionSubstitutions ?? {}) as Record<string, TemplateValue>,
      );

      // Act
      const used = substitutionsUsed(readAsl(file));

      // Assess
      expect(
        [...used].filter((name) => !defined.includes(name)),
        'used in the ASL, missing in the template',
      ).toEqual([]);
      expect(
        defined.filter((name) => !used.has(name)),
        'in DefinitionSubstitutions, never used by the ASL',
      ).toEqual([]);
    },
  );

  it.each(aslFiles)(
    '%s: every Task runs a function of the template, and outlasts its Lambda timeout',
    (file) => {
      // Prepare
      const [machineId] = stateMachineFor(file) as [string, unknown];
      const handlers = taskHandlers(template, machineId);
      const globalTimeout = template.Globals?.Function?.Timeout;

      // Act
      const problems = allStates(readAsl(file))
        .filter(([, state]) => state.Type === 'Task')
        .flatMap(([name, state]) => {
          const match = /^\$\{([^}]+)\}$/.exec(String(state.Resource));
          const handler = match ? handlers[match[1] as string] : undefined;
          if (!handler)
            return [`${name}: Resource ${state.Resource} is not the ARN of a function of the template`];
          const fnTimeout = template.Resources[handler.logicalId]?.Properties?.Timeout ?? globalTimeout;
          // Lambda's own timeout must fire first, so the error is the function's, not States.Timeout.
          return typeof fnTimeout === 'number' && state.TimeoutSeconds > fnTimeout
            ? []
            : [
                `${name}: TimeoutSeconds ${state.TimeoutSeconds} is not above the Lambda timeout ${fnTimeout}`,
              ];
        });

      // Assess
      expect(problems).toEqual([]);
    },
  );
});

describe('functions', () => {
  const functions = functionHandlers(template);

  it('declares one function per step, each with its own log group and retention', () => {
    // Act
    const missing = functions
      .map(({ logicalId }) => logicalId)
      .filter(
        (id) =>
          !Object.values(template.Resources).some(
            (resource) =>
              resource.Type === 'AWS::Logs::LogGroup' &&
              JSON.stringify(resource.Properties?.LogGroupName) ===
                JSON.stringify({ 'Fn::Sub': `/aws/lambda/\${${id}}` }) &&
              resource.Properties?.RetentionInDays !== undefined,
          ),
      );

    // Assess
    expect(functions.length).toBeGreaterThan(0);
    expect(missing, 'functions without a /aws/lambda/<function> log group with RetentionInDays').toEqual([]);
  });

  it('builds every function with the same esbuild options (only EntryPoints differ)', () => {
    // Prepare
    const options = functions.map(({ logicalId, buildProperties }) => {
      const { EntryPoints: _entryPoints, ...rest } = buildProperties;
      return { logicalId, options: JSON.stringify(rest) };
    });

    // Act
    const distinct = new Set(options.map(({ options }) => options));

    // Assess
    expect(
      distinct.size,
      options.map(({ logicalId, options }) => `${logicalId}: ${options}`).join('\n'),
    ).toBe(1);
  });

  // (g) Fails until every step's file has landed: that is the point.
  it.each(functions.map((fn) => [fn.logicalId, fn] as const))(
    '%s: its handler file exists and exports the handler (g)',
    async (_logicalId, fn) => {
      // Prepare
      const path = `${root}${fn.handlerFile}`;
      expect(existsSync(path), `${fn.handlerFile} does not exist (Handler of ${fn.logicalId})`).toBe(true);

      // Act
      const module = (await import(path)) as Record<string, unknown>;

      // Assess
      expect(typeof module[fn.exportName], `${fn.handlerFile} must export "${fn.exportName}"`).toBe(
        'function',
      );
    },
    30_000,
  );
});

describe('IAM (h)', () => {
  const statements = policyStatements(template);

  it('names every statement with a Sid, so a review (and the exceptions below) can point at it', () => {
    expect(statements.length).toBeGreaterThan(0);
    expect(statements.filter(({ statement }) => !statement.Sid).map(({ where }) => where)).toEqual([]);
  });

  it('allows Action "*" or Resource "*" only in the listed exceptions', () => {
    // Act
    const offending = statements
      .filter(({ statement }) => statement.Effect === 'Allow')
      .filter(
        ({ statement }) =>
          actionsOf(statement).some(isWildcardAction) ||
          resourcesOf(statement).some((resource) => resource === '*'),
      )
      .map(({ where }) => where);

    // Assess
    expect(
      offending.filter((where) => !(where in WILDCARD_EXCEPTIONS)),
      'scope the statement, or add it to WILDCARD_EXCEPTIONS with the reason',
    ).toEqual([]);
    expect(
      Object.keys(WILDCARD_EXCEPTIONS).filter((where) => !offending.includes(where)),
      'stale exceptions: the statement no longer exists or no longer needs "*"',
    ).toEqual([]);
  });

  it('never allows NotAction/NotResource, which grant everything not listed', () => {
    expect(
      statements
        .filter(
          ({ statement }) => statement.Effect === 'Allow' && (statement.NotAction || statement.NotResource),
        )
        .map(({ where }) => where),
    ).toEqual([]);
  });

  it('never allows sharing a snapshot (rds:ModifyDBSnapshotAttribute)', () => {
    expect(
      statements
        .filter(({ statement }) => statement.Effect === 'Allow')
        .filter(({ statement }) =>
          actionsOf(statement).some((action) => actionMatches(action, 'rds:ModifyDBSnapshotAttribute')),
        )
        .map(({ where }) => where),
    ).toEqual([]);
  });

  it('lets the schedule only start this state machine, and only for this account', () => {
    // Prepare
    const role = statements.filter(({ logicalId }) => logicalId === 'RotationScheduleRole');
    const trust = role.find(({ statement }) => actionsOf(statement).includes('sts:AssumeRole'));
    const grants = role.filter(({ statement }) => !actionsOf(statement).includes('sts:AssumeRole'));

    // Assess
    expect(trust?.statement.Condition?.StringEquals?.['aws:SourceAccount']).toEqual({
      Ref: 'AWS::AccountId',
    });
    expect(grants.map(({ statement }) => [actionsOf(statement), statement.Resource])).toEqual([
      [['states:StartExecution'], { Ref: 'RotateInstanceStateMachine' }],
    ]);
  });

  it('lets only the execution-status rule publish to the notification topic', () => {
    // Prepare
    const topicPolicy = statements.filter(({ logicalId }) => logicalId === 'NotificationTopicPolicy');

    // Assess
    expect(topicPolicy.map(({ statement }) => statement.Condition?.ArnEquals?.['aws:SourceArn'])).toEqual([
      { 'Fn::GetAtt': ['ExecutionStatusRule', 'Arn'] },
    ]);
  });
});
