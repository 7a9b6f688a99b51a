import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { APPROVAL_MINUTES } from '#domain/limits.js';
import { AWAITED_EVENT_IDS } from '#domain/rds-events.js';
import { functionHandlers, type TemplateValue, taskHandlers } from '../../cli/template.js';
import {
  actionMatches,
  actionsOf,
  allStates,
  aslFiles,
  hasConditionKey,
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
  'PlanFleetFunction/FindHostedZoneByName': 'route53:ListHostedZonesByName has no resource type.',
  'CreateKeyFunction/CreateTaggedSymmetricKey':
    'kms:CreateKey has no resource (the key does not exist yet); conditions require the rotation-id tag and a symmetric KMS-made key.',
  'CreateKeyFunction/ListKeys':
    'kms:ListKeys has no resource type: the step finds its own key among all keys.',
  'RollbackFunction/ListKeys':
    'kms:ListKeys has no resource type: rollback finds a new key whose CreateKey never returned by its rotation tag.',
  'RecordEvidenceFunction/LookUpCloudTrailEvents':
    'cloudtrail:LookupEvents has no resource type: it reads the event history of the account and Region.',
  'PlanFleetFunction/ListAliases':
    'kms:ListAliases has no resource type: the plan names each old key with its alias.',
  'RecordEvidenceFunction/ListKeyAliases':
    'kms:ListAliases has no resource type: the record names each key with its alias.',
  'RotateInstanceStateMachineRole/DeliverExecutionLogs':
    'CloudWatch Logs delivery APIs (CreateLogDelivery, ...) have no resource type; Step Functions documents Resource "*".',
  'RotateInstanceStateMachineRole/WriteTraces':
    'xray:PutTraceSegments, PutTelemetryRecords, GetSamplingRules and GetSamplingTargets have no resource type (X-Ray tracing of the executions).',
  'RotateFleetStateMachineRole/DeliverExecutionLogs':
    'CloudWatch Logs delivery APIs (CreateLogDelivery, ...) have no resource type; Step Functions documents Resource "*".',
  'RotateFleetStateMachineRole/WriteTraces':
    'xray:PutTraceSegments, PutTelemetryRecords, GetSamplingRules and GetSamplingTargets have no resource type (X-Ray tracing of the executions).',
  'AwaitRdsEventFunction/CompleteWaitToken':
    'states:SendTaskSuccess has no resource type: a task token is not a resource, so it cannot be scoped to a state machine.',
  'OnRdsEventFunction/CompleteWaitToken':
    'states:SendTaskSuccess has no resource type: a task token is not a resource, so it cannot be scoped to a state machine.',
  'NotificationKey/AccountAdministers':
    'Key policy: "*" is this key; the account root keeps kms:* so the key can never become unmanageable.',
  'NotificationKey/EventBridgePublishesToTopic': 'Key policy: "*" is this key.',
  'NotificationKey/CloudWatchAlarmsPublishToTopic':
    'Key policy: "*" is this key; only CloudWatch on behalf of this account (aws:SourceAccount).',
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
          // The fleet's child rotation is a Step Functions integration, not a function.
          if (state.Resource === 'arn:aws:states:::states:startExecution.sync:2') return [];
          // The approval gate (lambda:invoke.waitForTaskToken) names its function in Parameters.
          const waitsForToken = state.Resource === 'arn:aws:states:::lambda:invoke.waitForTaskToken';
          const match = /^\$\{([^}]+)\}$/.exec(
            String(waitsForToken ? state.Parameters?.FunctionName : state.Resource),
          );
          const handler = match ? handlers[match[1] as string] : undefined;
          if (!handler)
            return [`${name}: Resource ${state.Resource} is not the ARN of a function of the template`];
          const fnTimeout = template.Resources[handler.logicalId]?.Properties?.Timeout ?? globalTimeout;
          // Lambda's own timeout must fire first, so the error is the function's, not States.Timeout.
          // The gate's timeout is the approval wait (at least APPROVAL_MINUTES.min), from the input.
          const timeout = waitsForToken ? APPROVAL_MINUTES.min * 60 : state.TimeoutSeconds;
          return typeof fnTimeout === 'number' && timeout > fnTimeout
            ? []
            : [`${name}: TimeoutSeconds ${timeout} is not above the Lambda timeout ${fnTimeout}`];
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

  it('lets the schedule only start the state machine ScheduleTarget chooses, only from its own schedule group in this account', () => {
    // Prepare
    const role = statements.filter(({ logicalId }) => logicalId === 'RotationScheduleRole');
    const trust = role.find(({ statement }) => actionsOf(statement).includes('sts:AssumeRole'));
    const grants = role.filter(({ statement }) => !actionsOf(statement).includes('sts:AssumeRole'));

    // Assess
    expect(trust?.statement.Condition?.StringEquals?.['aws:SourceAccount']).toEqual({
      Ref: 'AWS::AccountId',
    });
    expect(trust?.statement.Condition?.ArnEquals?.['aws:SourceArn']).toEqual({
      'Fn::GetAtt': ['RotationScheduleGroup', 'Arn'],
    });
    expect(template.Resources.RotationSchedule?.Properties?.GroupName).toEqual({
      Ref: 'RotationScheduleGroup',
    });
    // ScheduleTarget chooses which machine; the role may start that one only.
    const chosen = {
      'Fn::If': [
        'ScheduleStartsFleet',
        { Ref: 'RotateFleetStateMachine' },
        { Ref: 'RotateInstanceStateMachine' },
      ],
    };
    const target = template.Resources.RotationSchedule?.Properties?.Target as { Arn?: unknown } | undefined;
    expect(target?.Arn).toEqual(chosen);
    expect(grants.map(({ statement }) => [actionsOf(statement), statement.Resource])).toEqual([
      [['states:StartExecution'], chosen],
      // Scheduler sends an undelivered start to the dead-letter queue with this role.
      [['sqs:SendMessage'], { 'Fn::GetAtt': ['RotationScheduleDeadLetterQueue', 'Arn'] }],
    ]);
  });

  it('starts the fleet machine only when ScheduleTarget is fleet, with the same wrapped input', () => {
    expect(template.Parameters?.ScheduleTarget).toMatchObject({
      Default: 'single',
      AllowedValues: ['single', 'fleet'],
    });
    expect(template.Conditions?.ScheduleStartsFleet).toEqual({
      'Fn::Equals': [{ Ref: 'ScheduleTarget' }, 'fleet'],
    });
  });

  it('pins aws:SourceAccount in the trust policy of every role a service assumes', () => {
    // Prepare
    const trusts = statements.filter(
      ({ statement }) =>
        actionsOf(statement).includes('sts:AssumeRole') &&
        typeof statement.Principal === 'object' &&
        statement.Principal !== null &&
        'Service' in statement.Principal,
    );

    // Act
    const unpinned = trusts
      .filter(
        ({ statement }) =>
          JSON.stringify(statement.Condition?.StringEquals?.['aws:SourceAccount']) !==
          JSON.stringify({ Ref: 'AWS::AccountId' }),
      )
      .map(({ where }) => where);

    // Assess
    expect(trusts.map(({ logicalId }) => logicalId).sort()).toEqual([
      'RotateFleetStateMachineRole',
      'RotateInstanceStateMachineRole',
      'RotationScheduleRole',
    ]);
    expect(unpinned).toEqual([]);
  });

  it("lets Step Functions assume the state machine role only for this stack's state machine", () => {
    // Prepare
    const machine = template.Resources.RotateInstanceStateMachine?.Properties ?? {};
    const trust = statements.find(
      ({ logicalId, statement }) =>
        logicalId === 'RotateInstanceStateMachineRole' && actionsOf(statement).includes('sts:AssumeRole'),
    );

    // Assess: an explicit role (SAM's generated one has an unconditioned trust policy).
    expect(machine.Role).toEqual({ 'Fn::GetAtt': ['RotateInstanceStateMachineRole', 'Arn'] });
    expect(machine.Policies).toBeUndefined();
    expect(machine.Name).toEqual({ 'Fn::Sub': `\${AWS::StackName}-rotate-instance` });
    expect(trust?.statement.Principal).toEqual({ Service: 'states.amazonaws.com' });
    expect(trust?.statement.Condition?.ArnLike?.['aws:SourceArn']).toEqual([
      {
        'Fn::Sub': `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:stateMachine:\${AWS::StackName}-rotate-instance`,
      },
      {
        'Fn::Sub': `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:stateMachine:\${AWS::StackName}-rotate-instance:*`,
      },
    ]);
  });

  it('lets the state machine invoke exactly the functions of this stack, nothing by prefix', () => {
    // Prepare
    const invoke = statements.filter(
      ({ logicalId, statement }) =>
        logicalId === 'RotateInstanceStateMachineRole' &&
        actionsOf(statement).includes('lambda:InvokeFunction'),
    );
    const allIds = functionHandlers(template).map(({ logicalId }) => logicalId);
    const fleetIds = allIds.filter((id) => id.includes('Fleet'));
    // OnRdsEvent runs only as the target of the rule on RDS events (docs/waits.md).
    const functionIds = allIds.filter((id) => !fleetIds.includes(id) && id !== 'OnRdsEventFunction');
    const fleetInvoke = statements.filter(
      ({ logicalId, statement }) =>
        logicalId === 'RotateFleetStateMachineRole' && actionsOf(statement).includes('lambda:InvokeFunction'),
    );

    // Assess
    expect(invoke.map(({ where }) => where)).toEqual(['RotateInstanceStateMachineRole/InvokeOwnSteps']);
    expect(resourcesOf(invoke[0]?.statement ?? { Effect: 'Allow' })).toEqual(
      functionIds.map((id) => ({ 'Fn::GetAtt': [id, 'Arn'] })),
    );
    // The fleet machine invokes exactly its own steps (the functions named *Fleet*).
    expect(resourcesOf(fleetInvoke[0]?.statement ?? { Effect: 'Allow' })).toEqual(
      fleetIds.map((id) => ({ 'Fn::GetAtt': [id, 'Arn'] })),
    );
  });

  it('sends OnRdsEvent exactly the RDS events a wait can await (functions/domain/rds-events.ts)', () => {
    // Prepare
    const rule = template.Resources.RdsEventRule?.Properties as {
      EventPattern: { source: string[]; detail: { EventID: string[] } };
      Targets: { Arn: unknown }[];
    };

    // Assess
    expect(rule.EventPattern.source).toEqual(['aws.rds']);
    expect([...rule.EventPattern.detail.EventID].sort()).toEqual(AWAITED_EVENT_IDS);
    expect(rule.Targets.map((target) => target.Arn)).toEqual([
      { 'Fn::GetAtt': ['OnRdsEventFunction', 'Arn'] },
    ]);
  });

  it("lets only this stack's rule invoke a function from EventBridge (Lambda permissions pin source ARN and account)", () => {
    // Prepare
    const permissions = Object.entries(template.Resources).filter(
      ([, resource]) => resource.Type === 'AWS::Lambda::Permission',
    );

    // Assess
    expect(permissions.map(([id, { Properties }]) => [id, Properties])).toEqual([
      [
        'ReleaseLockOnStopPermission',
        {
          Action: 'lambda:InvokeFunction',
          FunctionName: { 'Fn::GetAtt': ['ReleaseLockFunction', 'Arn'] },
          Principal: 'events.amazonaws.com',
          SourceAccount: { Ref: 'AWS::AccountId' },
          SourceArn: { 'Fn::GetAtt': ['ReleaseLockOnStopRule', 'Arn'] },
        },
      ],
      [
        'RecordEvidenceOnStopPermission',
        {
          Action: 'lambda:InvokeFunction',
          FunctionName: { 'Fn::GetAtt': ['RecordEvidenceFunction', 'Arn'] },
          Principal: 'events.amazonaws.com',
          SourceAccount: { Ref: 'AWS::AccountId' },
          SourceArn: { 'Fn::GetAtt': ['RecordEvidenceOnStopRule', 'Arn'] },
        },
      ],
      [
        'RdsEventPermission',
        {
          Action: 'lambda:InvokeFunction',
          FunctionName: { 'Fn::GetAtt': ['OnRdsEventFunction', 'Arn'] },
          Principal: 'events.amazonaws.com',
          SourceAccount: { Ref: 'AWS::AccountId' },
          SourceArn: { 'Fn::GetAtt': ['RdsEventRule', 'Arn'] },
        },
      ],
    ]);
  });

  it('lets only the execution-status rule and the Rekey alarms publish to the notification topic', () => {
    // Prepare
    const alwaysAlarms = [
      'RotationFailedAlarm',
      'FleetFailedAlarm',
      'ReleaseLockDeadLetterAlarm',
      'RecordEvidenceDeadLetterAlarm',
      'RotationScheduleDeadLetterAlarm',
    ].map((id) => ({ 'Fn::GetAtt': [id, 'Arn'] }));
    const topicPolicy = statements.filter(({ logicalId }) => logicalId === 'NotificationTopicPolicy');

    // Assess
    expect(
      topicPolicy.map(({ statement }) => [
        statement.Principal,
        statement.Condition?.ArnEquals?.['aws:SourceArn'],
      ]),
    ).toEqual([
      [{ Service: 'events.amazonaws.com' }, { 'Fn::GetAtt': ['ExecutionStatusRule', 'Arn'] }],
      [
        { Service: 'cloudwatch.amazonaws.com' },
        {
          'Fn::If': [
            'HasCloudTrailLogGroup',
            [...alwaysAlarms, { 'Fn::GetAtt': ['KeyPendingDeletionUsedAlarm', 'Arn'] }],
            alwaysAlarms,
          ],
        },
      ],
    ]);
  });

  it('lets CloudWatch use the topic key only on behalf of this account', () => {
    // Prepare
    const cloudwatch = statements.filter(
      ({ logicalId, statement }) =>
        logicalId === 'NotificationKey' &&
        JSON.stringify(statement.Principal) === JSON.stringify({ Service: 'cloudwatch.amazonaws.com' }),
    );

    // Assess
    expect(cloudwatch.map(({ statement }) => [actionsOf(statement), statement.Condition])).toEqual([
      [
        ['kms:Decrypt', 'kms:GenerateDataKey*'],
        { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      ],
    ]);
  });
});

/** Resource-policy statements for a service principal that need not name their source, and why. */
const SOURCE_EXCEPTIONS: Record<string, string> = {
  'NotificationKey/EventBridgePublishesToTopic':
    'No AWS page says EventBridge sends aws:SourceAccount/aws:SourceArn to KMS when it publishes to an encrypted topic; the topic policy names the rule.',
};

describe('resource policies for AWS services', () => {
  it('name the calling resource (aws:SourceArn) or account (aws:SourceAccount) in every Allow to a service', () => {
    // Act
    const unnamed = policyStatements(template)
      .filter(({ logicalId }) => template.Resources[logicalId]?.Type !== 'AWS::IAM::Role')
      .filter(({ statement }) => statement.Effect === 'Allow')
      .filter(({ statement }) => typeof statement.Principal === 'object' && statement.Principal !== null)
      .filter(({ statement }) => 'Service' in (statement.Principal as object))
      .filter(
        ({ statement }) =>
          !hasConditionKey(statement, 'aws:SourceArn') && !hasConditionKey(statement, 'aws:SourceAccount'),
      )
      .map(({ where }) => where);

    // Assess
    expect(unnamed.filter((where) => !(where in SOURCE_EXCEPTIONS))).toEqual([]);
    expect(
      Object.keys(SOURCE_EXCEPTIONS).filter((where) => !unnamed.includes(where)),
      'stale',
    ).toEqual([]);
  });
});

describe('IAM of the lock and of compensation', () => {
  const statements = policyStatements(template);
  const table = { 'Fn::GetAtt': ['RotationLockTable', 'Arn'] };
  const allowing = (action: string) =>
    statements.filter(
      ({ statement }) =>
        statement.Effect === 'Allow' &&
        actionsOf(statement).some((pattern) => actionMatches(pattern, action)),
    );

  it.each([
    ['CheckStartFunction', ['dynamodb:GetItem']],
    ['AcquireLockFunction', ['dynamodb:PutItem', 'dynamodb:GetItem']],
    ['ReleaseLockFunction', ['dynamodb:DeleteItem', 'dynamodb:Scan', 'dynamodb:UpdateItem']],
  ])('%s may use the lock table only, and nothing else', (logicalId, actions) => {
    // Prepare
    const own = statements.filter((located) => located.logicalId === logicalId);

    // Assess
    expect(
      own.map(({ statement }) => [statement.Effect, actionsOf(statement), resourcesOf(statement)]),
    ).toEqual([['Allow', actions, [table]]]);
    expect(template.Resources[logicalId]?.Properties?.Environment).toEqual({
      Variables: { LOCK_TABLE_NAME: { Ref: 'RotationLockTable' } },
    });
  });

  it('lets no other role touch DynamoDB, and gives no other function the table name', () => {
    // Act
    const others = statements
      .filter(({ statement }) =>
        actionsOf(statement).some((action) => action.toLowerCase().startsWith('dynamodb:')),
      )
      .map(({ logicalId }) => logicalId)
      .filter(
        (id) =>
          ![
            'CheckStartFunction',
            'AcquireLockFunction',
            'ReleaseLockFunction',
            // The fleet's failure counter (one item per fleet): read before a start, added to on a failure.
            'StartFleetDatabaseFunction',
            'RecordFleetOutcomeFunction',
            // The event-driven waits: wait#* and event#* items only (dynamodb:LeadingKeys).
            'AwaitRdsEventFunction',
            'OnRdsEventFunction',
          ].includes(id),
      );
    const withTable = functionHandlers(template)
      .map(({ logicalId }) => logicalId)
      .filter((id) =>
        JSON.stringify(template.Resources[id]?.Properties?.Environment ?? {}).includes('LOCK_TABLE_NAME'),
      );

    // Assess
    expect(others).toEqual([]);
    expect(withTable.sort()).toEqual([
      'AcquireLockFunction',
      'AwaitRdsEventFunction',
      'CheckStartFunction',
      'OnRdsEventFunction',
      'RecordFleetOutcomeFunction',
      'ReleaseLockFunction',
      'StartFleetDatabaseFunction',
    ]);
  });

  it('lets Rollback schedule the deletion only of keys tagged rekey:rotation-id (never a customer-made old key)', () => {
    // Act
    const rollback = allowing('kms:ScheduleKeyDeletion').filter(
      ({ logicalId }) => logicalId === 'RollbackFunction',
    );

    // Assess
    expect(rollback.length).toBeGreaterThan(0);
    for (const { where, statement } of rollback) {
      expect(statement.Condition?.Null, where).toEqual({ 'aws:ResourceTag/rekey:rotation-id': 'false' });
      expect(Object.keys(statement.Condition ?? {}).sort(), where).toEqual(['Null']);
    }
  });

  it('lets only RetireKey (the old key, after its guard) and Rollback (tagged keys) schedule key deletion', () => {
    // Prepare: roles only; a key policy's account-root kms:* is not a role.
    const roles = allowing('kms:ScheduleKeyDeletion').filter(
      ({ logicalId }) => template.Resources[logicalId]?.Type !== 'AWS::KMS::Key',
    );

    // Assess
    expect([...new Set(roles.map(({ logicalId }) => logicalId))].sort()).toEqual([
      'RetireKeyFunction',
      'RollbackFunction',
    ]);
  });

  it('lets Rollback delete only the instance and snapshots Rekey created (tag conditions, rekey-* snapshots)', () => {
    // Act
    const deleteInstance = allowing('rds:DeleteDBInstance').filter(
      ({ logicalId }) => logicalId === 'RollbackFunction',
    );
    const deleteSnapshot = allowing('rds:DeleteDBSnapshot').filter(
      ({ logicalId }) => logicalId === 'RollbackFunction',
    );

    // Assess
    expect(deleteInstance.map(({ statement }) => statement.Condition)).toEqual([
      {
        Null: { 'aws:ResourceTag/rekey:rotation-id': 'false' },
        StringEquals: { 'aws:ResourceTag/rekey:role': 'new-instance' },
      },
      // Blue/Green: the green resources CreateGreen tagged, deleted through DeleteTarget.
      {
        Null: { 'aws:ResourceTag/rekey:rotation-id': 'false' },
        StringEquals: { 'aws:ResourceTag/rekey:role': 'green' },
      },
    ]);
    expect(deleteSnapshot.map(({ statement }) => [statement.Resource, statement.Condition])).toEqual([
      [
        { 'Fn::Sub': `arn:\${AWS::Partition}:rds:\${AWS::Region}:\${AWS::AccountId}:snapshot:rekey-*` },
        { Null: { 'aws:ResourceTag/rekey:rotation-id': 'false' } },
      ],
    ]);
  });
});

describe('IAM of the keys CreateKey makes', () => {
  const own = policyStatements(template).filter(({ logicalId }) => logicalId === 'CreateKeyFunction');
  const allowing = (action: string) =>
    own.filter(
      ({ statement }) =>
        statement.Effect === 'Allow' &&
        actionsOf(statement).some((pattern) => actionMatches(pattern, action)),
    );
  const newKeyTags = {
    Null: { 'aws:ResourceTag/rekey:rotation-id': 'false' },
    StringEquals: { 'aws:ResourceTag/rekey:role': 'new-key' },
  };

  it('creates and tags only keys that carry rekey:rotation-id and rekey:role=new-key', () => {
    for (const action of ['kms:CreateKey', 'kms:TagResource']) {
      const statements = allowing(action);
      expect(statements.length, action).toBeGreaterThan(0);
      for (const { where, statement } of statements) {
        expect(statement.Condition?.Null?.['aws:RequestTag/rekey:rotation-id'], where).toBe('false');
        expect(statement.Condition?.StringEquals?.['aws:RequestTag/rekey:role'], where).toBe('new-key');
      }
    }
  });

  it.each(['kms:PutKeyPolicy', 'kms:EnableKeyRotation'])(
    'allows %s only on the keys it creates (their tags), never on every key of the account',
    (action) => {
      const statements = allowing(action);
      expect(statements.length).toBeGreaterThan(0);
      expect(statements.map(({ statement }) => statement.Condition)).toEqual(
        statements.map(() => newKeyTags),
      );
    },
  );

  it('lets no role change a key policy or key rotation on every key without a tag condition', () => {
    // Key policies (the account root's kms:*) are not roles.
    const unscoped = policyStatements(template)
      .filter(({ logicalId }) => template.Resources[logicalId]?.Type !== 'AWS::KMS::Key')
      .filter(({ statement }) => statement.Effect === 'Allow')
      .filter(({ statement }) =>
        actionsOf(statement).some((pattern) =>
          ['kms:PutKeyPolicy', 'kms:EnableKeyRotation'].some((action) => actionMatches(pattern, action)),
        ),
      )
      .filter(({ statement }) => statement.Condition?.Null?.['aws:ResourceTag/rekey:rotation-id'] !== 'false')
      .map(({ where }) => where);
    expect(unscoped).toEqual([]);
  });
});

/**
 * Which databases a role may delete is decided by the `rekey:role` tag: a rotation's new database
 * is `new-instance`/`new-cluster` (snapshot strategy) or `green` (Blue/Green) until clients are
 * verified on it; then Cutover/Switchover retag it `serving`, and the old source `retired-source`.
 */
describe('IAM of deleting databases', () => {
  const statements = policyStatements(template);
  const deletes = ['rds:DeleteDBInstance', 'rds:DeleteDBCluster'];
  const deleting = statements.filter(
    ({ statement }) =>
      statement.Effect === 'Allow' &&
      actionsOf(statement).some((pattern) => deletes.some((action) => actionMatches(pattern, action))),
  );

  it('deletes a database only by its rekey tags (rotation-id for what it created, retired-by for an old source), never one marked serving', () => {
    // Act
    const byRole = Object.fromEntries(
      [...new Set(deleting.map(({ logicalId }) => logicalId))].map((logicalId) => [
        logicalId,
        deleting
          .filter((located) => located.logicalId === logicalId)
          .map(({ statement }) => statement.Condition?.StringEquals?.['aws:ResourceTag/rekey:role'])
          .sort(),
      ]),
    );
    // What a rotation created carries its rotation id; an old source it retired carries retired-by
    // (the rotation-id tag means "created by the rotation", which a source never is).
    const untagged = deleting
      .filter(({ statement }) => {
        const role = statement.Condition?.StringEquals?.['aws:ResourceTag/rekey:role'];
        const owner =
          role === 'retired-source'
            ? 'aws:ResourceTag/rekey:retired-by'
            : 'aws:ResourceTag/rekey:rotation-id';
        return statement.Condition?.Null?.[owner] !== 'false' || typeof role !== 'string';
      })
      .map(({ where }) => where);

    // Assess
    expect(untagged, 'a delete without the rotation-id and a single rekey:role tag condition').toEqual([]);
    expect(byRole).toEqual({
      RetireInstanceFunction: ['retired-source'],
      RetireBlueFunction: ['retired-source'],
      RollbackFunction: ['green', 'new-cluster', 'new-instance'],
    });
  });

  it('lets only Cutover and Switchover mark a database serving or retired-source, with nothing else in the request', () => {
    // Prepare
    const markers = ['CutoverFunction', 'SwitchoverFunction'];
    const tagging = statements.filter(
      ({ statement }) =>
        statement.Effect === 'Allow' &&
        actionsOf(statement).some((pattern) => actionMatches(pattern, 'rds:AddTagsToResource')),
    );
    const denies = (logicalId: string) =>
      statements.some(
        (located) =>
          located.logicalId === logicalId &&
          located.statement.Effect === 'Deny' &&
          actionsOf(located.statement).includes('rds:AddTagsToResource') &&
          JSON.stringify(located.statement.Condition) ===
            JSON.stringify({ StringEquals: { 'aws:RequestTag/rekey:role': ['serving', 'retired-source'] } }),
      );

    // Act
    const deniesRetaggingServing = (logicalId: string) =>
      statements.some(
        (located) =>
          located.logicalId === logicalId &&
          located.statement.Effect === 'Deny' &&
          actionsOf(located.statement).includes('rds:AddTagsToResource') &&
          located.statement.Condition?.StringEquals?.['aws:ResourceTag/rekey:role'] === 'serving',
      );
    const unguarded = tagging
      .filter(
        ({ logicalId }) =>
          !markers.includes(logicalId) && !(denies(logicalId) && deniesRetaggingServing(logicalId)),
      )
      .map(({ where }) => where);
    const marking = tagging.filter(({ logicalId }) => markers.includes(logicalId));

    // Assess
    expect(unguarded, 'tags databases but may set rekey:role=serving/retired-source').toEqual([]);
    // Two statements each: serving on what the rotation created, retired-source on the old source.
    expect(marking.map(({ logicalId }) => logicalId).sort()).toEqual([...markers, ...markers].sort());
    for (const { where, statement } of marking) {
      expect(
        [
          {
            StringEquals: { 'aws:RequestTag/rekey:role': 'serving' },
            Null: { 'aws:ResourceTag/rekey:rotation-id': 'false' },
            'ForAllValues:StringEquals': { 'aws:TagKeys': ['rekey:role'] },
          },
          {
            StringEquals: { 'aws:RequestTag/rekey:role': 'retired-source' },
            Null: { 'aws:RequestTag/rekey:retired-by': 'false' },
            'ForAllValues:StringEquals': { 'aws:TagKeys': ['rekey:role', 'rekey:retired-by'] },
          },
        ],
        where,
      ).toContainEqual(statement.Condition);
    }
  });
});
