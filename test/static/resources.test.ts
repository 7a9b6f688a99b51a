import { describe, expect, it } from 'vitest';
import type { TemplateResource, TemplateValue } from '../../cli/template.js';
import { template } from './helpers.js';

/**
 * Static checks of the resources behind the safety features: the rotation lock table, the rule that
 * releases the lock of a stopped execution, and the alarms that reach on-call through the topic.
 */

const resource = (logicalId: string): TemplateResource => {
  const found = template.Resources[logicalId];
  if (!found) throw new Error(`template.yaml has no resource ${logicalId}`);
  return found;
};
const props = (logicalId: string): Record<string, TemplateValue> => resource(logicalId).Properties ?? {};

const machineArn = { Ref: 'RotateInstanceStateMachine' };
const topic = { Ref: 'NotificationTopic' };

describe('the rotation lock table', () => {
  it('keys each lock by lockKey, on demand, and expires locks by TTL on expiresAt', () => {
    // Act
    const table = props('RotationLockTable');

    // Assess
    expect(resource('RotationLockTable').Type).toBe('AWS::DynamoDB::Table');
    expect(table.KeySchema).toEqual([{ AttributeName: 'lockKey', KeyType: 'HASH' }]);
    expect(table.AttributeDefinitions).toEqual([{ AttributeName: 'lockKey', AttributeType: 'S' }]);
    expect(table.BillingMode).toBe('PAY_PER_REQUEST');
    expect(table.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
  });

  it('is encrypted with KMS, has point-in-time recovery, and states what happens to it on delete', () => {
    // Act
    const table = props('RotationLockTable');

    // Assess
    expect(table.SSESpecification).toEqual({ SSEEnabled: true });
    expect(table.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(resource('RotationLockTable').DeletionPolicy).toBe('Delete');
    expect(resource('RotationLockTable').UpdateReplacePolicy).toBe('Delete');
  });

  it('is named in the outputs, for `rekey run --lock-table`', () => {
    expect(template.Outputs?.RotationLockTableName?.Value).toEqual({ Ref: 'RotationLockTable' });
    expect(template.Outputs?.RotationLockTableArn?.Value).toEqual({
      'Fn::GetAtt': ['RotationLockTable', 'Arn'],
    });
  });
});

describe('releasing the lock of an execution that was stopped or timed out', () => {
  it('sends ABORTED and TIMED_OUT executions of this state machine to ReleaseLockFunction', () => {
    // Act
    const rule = props('ReleaseLockOnStopRule');

    // Assess
    expect(rule.State).toBe('ENABLED');
    expect(rule.EventPattern).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: { status: ['ABORTED', 'TIMED_OUT'], stateMachineArn: [machineArn] },
    });
    expect(rule.Targets).toEqual([
      expect.objectContaining({
        Arn: { 'Fn::GetAtt': ['ReleaseLockFunction', 'Arn'] },
      }),
    ]);
    // The function receives the event itself (detail.executionArn), not a transformed input.
    expect((rule.Targets as Record<string, TemplateValue>[])[0]).not.toHaveProperty('InputTransformer');
    expect((rule.Targets as Record<string, TemplateValue>[])[0]).not.toHaveProperty('Input');
  });
});

describe('recording the evidence of an execution that was stopped or timed out', () => {
  it('sends ABORTED and TIMED_OUT executions of this state machine to RecordEvidenceFunction, as the event', () => {
    // Act
    const rule = props('RecordEvidenceOnStopRule');
    const targets = rule.Targets as Record<string, TemplateValue>[];

    // Assess
    expect(rule.State).toBe('ENABLED');
    expect(rule.EventPattern).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: { status: ['ABORTED', 'TIMED_OUT'], stateMachineArn: [machineArn] },
    });
    expect(targets).toEqual([
      expect.objectContaining({ Arn: { 'Fn::GetAtt': ['RecordEvidenceFunction', 'Arn'] } }),
    ]);
    // The function receives the event itself (detail.executionArn, status, error, cause).
    expect(targets[0]).not.toHaveProperty('InputTransformer');
    expect(targets[0]).not.toHaveProperty('Input');
  });
});

describe('alarms', () => {
  it.each([
    ['RotationFailedAlarm', 'RotateInstanceStateMachine'],
    ['FleetFailedAlarm', 'RotateFleetStateMachine'],
  ])('%s alarms on failed or timed-out executions of %s, to the topic', (alarmId, machine) => {
    // Act
    const alarm = props(alarmId);
    const metrics = alarm.Metrics as Record<string, TemplateValue>[];
    const stat = (id: string) =>
      metrics.find((m) => m.Id === id)?.MetricStat as Record<string, TemplateValue>;

    // Assess
    expect(alarm.AlarmActions).toEqual([topic]);
    expect(alarm).toMatchObject({
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
    expect(metrics.filter((m) => m.ReturnData === true).map((m) => m.Expression)).toEqual([
      'FILL(failed, 0) + FILL(timedOut, 0)',
    ]);
    for (const [id, name] of [
      ['failed', 'ExecutionsFailed'],
      ['timedOut', 'ExecutionsTimedOut'],
    ] as const) {
      expect(stat(id)).toEqual({
        Metric: {
          Namespace: 'AWS/States',
          MetricName: name,
          Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: machine } }],
        },
        Period: 300,
        Stat: 'Sum',
      });
    }
  });

  it('counts attempts to use a key pending deletion with the KMS documentation pattern, when a trail log group is given', () => {
    // Act
    const filter = props('KeyPendingDeletionMetricFilter');
    const alarm = props('KeyPendingDeletionUsedAlarm');
    const [transformation] = filter.MetricTransformations as Record<string, TemplateValue>[];

    // Assess
    expect(template.Parameters?.CloudTrailLogGroupName?.Default).toBe('');
    expect(template.Conditions?.HasCloudTrailLogGroup).toEqual({
      'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'CloudTrailLogGroupName' }, ''] }],
    });
    expect(resource('KeyPendingDeletionMetricFilter').Condition).toBe('HasCloudTrailLogGroup');
    expect(resource('KeyPendingDeletionUsedAlarm').Condition).toBe('HasCloudTrailLogGroup');
    expect(filter.LogGroupName).toEqual({ Ref: 'CloudTrailLogGroupName' });
    expect(filter.FilterPattern).toBe('{ $.eventSource = kms* && $.errorMessage = "* is pending deletion."}');
    expect(transformation?.MetricValue).toBe('1');
    expect(alarm).toMatchObject({
      Namespace: transformation?.MetricNamespace,
      MetricName: transformation?.MetricName,
      Statistic: 'Sum',
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [topic],
    });
  });

  it('sends every alarm of the template to the notification topic', () => {
    // Act
    const alarms = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm');

    // Assess
    expect(alarms.map(([id]) => id).sort()).toEqual([
      'FleetFailedAlarm',
      'KeyPendingDeletionUsedAlarm',
      'RecordEvidenceDeadLetterAlarm',
      'ReleaseLockDeadLetterAlarm',
      'RotationFailedAlarm',
      'RotationScheduleDeadLetterAlarm',
    ]);
    for (const [id, alarm] of alarms) {
      expect(alarm.Properties?.AlarmActions, id).toEqual([topic]);
      expect(alarm.Properties?.ActionsEnabled, id).toBe(true);
    }
  });
});

describe('key administrators', () => {
  it('passes the KeyAdministratorArns parameter (empty by default) to CreateKeyFunction only', () => {
    // Act
    const variables = (props('CreateKeyFunction').Environment as { Variables: Record<string, TemplateValue> })
      .Variables;
    const others = Object.entries(template.Resources)
      .filter(([id, r]) => r.Type === 'AWS::Serverless::Function' && id !== 'CreateKeyFunction')
      .filter(([, r]) => JSON.stringify(r.Properties?.Environment ?? {}).includes('KEY_ADMINISTRATOR_ARNS'));

    // Assess
    expect(template.Parameters?.KeyAdministratorArns).toMatchObject({
      Type: 'CommaDelimitedList',
      Default: '',
    });
    expect(variables.KEY_ADMINISTRATOR_ARNS).toEqual({ 'Fn::Join': [',', { Ref: 'KeyAdministratorArns' }] });
    expect(others).toEqual([]);
  });
});

describe('dead-letter queues of the asynchronous paths', () => {
  const arn = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
  const paths = [
    [
      'ReleaseLockOnStopRule',
      'ReleaseLockFunction',
      'ReleaseLockDeadLetterQueue',
      'ReleaseLockDeadLetterAlarm',
    ],
    [
      'RecordEvidenceOnStopRule',
      'RecordEvidenceFunction',
      'RecordEvidenceDeadLetterQueue',
      'RecordEvidenceDeadLetterAlarm',
    ],
  ] as const;

  it.each(paths)('%s: undelivered events and failed invocations of %s go to %s', (rule, fn, queue) => {
    // Act
    const [target] = props(rule).Targets as Record<string, TemplateValue>[];
    const invoke = props(fn).EventInvokeConfig as Record<string, TemplateValue>;

    // Assess: the rule's DLQ catches only delivery failures; a function error after Lambda's own
    // retries of an asynchronous invocation is caught by the function's on-failure destination.
    expect(target?.DeadLetterConfig).toEqual({ Arn: arn(queue) });
    expect(invoke).toEqual({
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Type: 'SQS', Destination: arn(queue) } },
    });
  });

  it('sends a scheduled start Scheduler could not deliver to its queue, with the schedule role', () => {
    const target = props('RotationSchedule').Target as Record<string, TemplateValue>;
    expect(target.DeadLetterConfig).toEqual({ Arn: arn('RotationScheduleDeadLetterQueue') });
  });

  it.each(['ReleaseLockDeadLetterQueue', 'RecordEvidenceDeadLetterQueue', 'RotationScheduleDeadLetterQueue'])(
    '%s is encrypted, keeps messages 14 days, accepts TLS only and alarms on its first message',
    (queue) => {
      // Act
      const alarms = Object.values(template.Resources).filter(
        (r) =>
          r.Type === 'AWS::CloudWatch::Alarm' &&
          JSON.stringify(r.Properties?.Dimensions) ===
            JSON.stringify([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } }]),
      );
      const policies = Object.values(template.Resources).filter(
        (r) =>
          r.Type === 'AWS::SQS::QueuePolicy' && JSON.stringify(r.Properties?.Queues).includes(`"${queue}"`),
      );

      // Assess
      expect(resource(queue).Type).toBe('AWS::SQS::Queue');
      expect(props(queue)).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 });
      expect(alarms.map((a) => a.Properties)).toEqual([
        expect.objectContaining({
          Namespace: 'AWS/SQS',
          MetricName: 'ApproximateNumberOfMessagesVisible',
          ComparisonOperator: 'GreaterThanThreshold',
          Threshold: 0,
          AlarmActions: [topic],
          ActionsEnabled: true,
        }),
      ]);
      expect(policies.length).toBe(1);
      expect(JSON.stringify(policies[0]?.Properties?.PolicyDocument)).toContain(
        '"aws:SecureTransport":"false"',
      );
    },
  );

  it('lets EventBridge send to a rule queue only for that rule of this account', () => {
    // Act
    const statements = (
      props('RuleDeadLetterQueuesPolicy').PolicyDocument as { Statement: Record<string, TemplateValue>[] }
    ).Statement.filter((statement) => statement.Effect === 'Allow');

    // Assess
    expect(
      statements.map(({ Principal, Action, Resource, Condition }) => [
        Principal,
        Action,
        Resource,
        Condition,
      ]),
    ).toEqual(
      paths.map(([rule, , queue]) => [
        { Service: 'events.amazonaws.com' },
        'sqs:SendMessage',
        arn(queue),
        {
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          ArnEquals: { 'aws:SourceArn': arn(rule) },
        },
      ]),
    );
  });
});

describe('access logs of the evidence bucket', () => {
  it('logs every request to the evidence bucket to a bucket of its own', () => {
    expect(props('EvidenceBucket').LoggingConfiguration).toEqual({
      DestinationBucketName: { Ref: 'EvidenceAccessLogBucket' },
      LogFilePrefix: 'evidence-bucket/',
    });
  });

  it('keeps the logs private, SSE-S3, for EvidenceAccessLogRetentionDays (400 by default), past the stack', () => {
    // Act
    const bucket = props('EvidenceAccessLogBucket');
    const rules = (bucket.LifecycleConfiguration as { Rules: Record<string, TemplateValue>[] }).Rules;

    // Assess
    expect(resource('EvidenceAccessLogBucket').DeletionPolicy).toBe('Retain');
    expect(bucket.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
    expect(bucket.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    expect(rules).toContainEqual({
      Id: 'expire-access-logs',
      Status: 'Enabled',
      ExpirationInDays: { Ref: 'EvidenceAccessLogRetentionDays' },
    });
    expect(template.Parameters?.EvidenceAccessLogRetentionDays?.Default).toBe(400);
  });

  it('accepts logs only from S3 logging for the evidence bucket of this account, and TLS only', () => {
    // Act
    const statements = (
      props('EvidenceAccessLogBucketPolicy').PolicyDocument as { Statement: Record<string, TemplateValue>[] }
    ).Statement;

    // Assess
    expect(
      statements.map((statement) => [
        statement.Sid,
        statement.Effect,
        statement.Principal,
        statement.Condition,
      ]),
    ).toEqual([
      [
        'S3ServerAccessLogsOfEvidenceBucket',
        'Allow',
        { Service: 'logging.s3.amazonaws.com' },
        {
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': ['EvidenceBucket', 'Arn'] } },
        },
      ],
      ['DenyInsecureTransport', 'Deny', '*', { Bool: { 'aws:SecureTransport': 'false' } }],
    ]);
  });
});
