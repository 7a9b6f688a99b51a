import { Logger } from '@aws-lambda-powertools/logger';

/** One logger for every step; the service name groups the steps' logs in CloudWatch. */
export const logger = new Logger({ serviceName: 'rekey' });
