import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { clientTarget } from '#aws/clients.js';
import type { RotationState } from '#domain/state.js';
import { logger } from '#runtime/logger.js';

/**
 * SNS notifications to the stack's topic (`NOTIFICATION_TOPIC_ARN`): one subject scheme for every
 * message, `[Rekey] <database>: <what>` (ASCII, at most 100 characters, as SNS requires), and every
 * body ends with the execution's console link. Publishing never throws: a notification that could
 * not be sent is logged and reported in the step's result, and never changes the rotation's result.
 */

export type NotificationEvent =
  | 'started'
  | 'waiting for approval'
  | 'succeeded'
  /** A success that kept the old key (RetireKey retained it): said in the subject, not only the body. */
  | 'succeeded, old key kept'
  | 'failed';

export interface PublishOutcome {
  published: boolean;
  subject: string;
  messageId?: string;
  /** Why it was not published. */
  error?: string;
}

const SUBJECT_MAX = 100;

let cached: { key: string; client: SNSClient } | undefined;
/** The SNS client (exported so tests can watch or break its calls). */
export const snsClient = (): SNSClient => {
  const { endpoint, region, cacheKey: key } = clientTarget();
  if (cached?.key !== key) {
    cached = { key, client: new SNSClient({ region, endpoint, maxAttempts: 3 }) };
  }
  return cached.client;
};

/** SNS subjects: ASCII without control characters, no line breaks, at most 100 characters. */
export const cleanSubject = (text: string): string => {
  const ascii = text
    .normalize('NFKD')
    .replace(/\s+/g, ' ')
    .replace(/[^\x20-\x7e]/g, '')
    .trim();
  return ascii.length > SUBJECT_MAX ? `${ascii.slice(0, SUBJECT_MAX - 3)}...` : ascii;
};

/**
 * `[Rekey] orders-db: rotation started`, `... waiting for approval`, `... succeeded`,
 * `... rotation succeeded, OLD KEY KEPT`, `... FAILED (ValidationFailedError)`.
 */
export const subjectFor = (database: string, event: NotificationEvent, error?: string): string => {
  const what =
    event === 'started'
      ? 'rotation started'
      : event === 'failed'
        ? `FAILED (${error || 'unknown error'})`
        : event === 'succeeded, old key kept'
          ? 'rotation succeeded, OLD KEY KEPT'
          : event;
  // The database name gives way first, so the event (and the error name) always shows.
  const suffix = `: ${cleanSubject(what)}`;
  const room = SUBJECT_MAX - '[Rekey] '.length - suffix.length;
  const name = cleanSubject(database) || 'unknown database';
  const shortName = name.length > room ? `${name.slice(0, Math.max(room - 3, 1))}...` : name;
  return cleanSubject(`[Rekey] ${shortName}${suffix}`);
};

/** The Step Functions console page of an execution (Region taken from its ARN). */
export const consoleLink = (executionArn: string): string => {
  const region = executionArn.split(':')[3] || process.env.AWS_REGION || 'us-east-1';
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;
};

/** The database a state is about: from the plan, or (before preflight) from the raw input. */
export const databaseOf = (state: Partial<RotationState> | undefined): string => {
  const planned = state?.plan?.target?.identifier;
  if (planned) return planned;
  const input = (state?.input ?? {}) as Record<string, unknown>;
  for (const key of ['dbInstanceIdentifier', 'dbClusterIdentifier'] as const) {
    if (typeof input[key] === 'string' && input[key]) return input[key] as string;
  }
  return 'unknown database';
};

/** Publishes one message; never throws. Without a topic (NOTIFICATION_TOPIC_ARN unset) it only logs. */
export const publish = async (subject: string, message: string): Promise<PublishOutcome> => {
  const topicArn = process.env.NOTIFICATION_TOPIC_ARN;
  if (!topicArn) {
    logger.warn('no notification topic configured (NOTIFICATION_TOPIC_ARN): message not sent', { subject });
    return { published: false, subject, error: 'NOTIFICATION_TOPIC_ARN is not set' };
  }
  try {
    const { MessageId } = await snsClient().send(
      new PublishCommand({ TopicArn: topicArn, Subject: subject, Message: message }),
    );
    logger.info('notification published', { subject, messageId: MessageId });
    return { published: true, subject, ...(MessageId ? { messageId: MessageId } : {}) };
  } catch (error) {
    const text = `${(error as Error).name}: ${(error as Error).message}`;
    logger.error('notification not published; the rotation goes on', { subject, error: text });
    return { published: false, subject, error: text };
  }
};
