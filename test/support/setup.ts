// Every test talks to a mock or to a local emulator, never to AWS: no credentials leak in.
process.env.AWS_REGION = 'us-east-1';
process.env.AWS_ACCESS_KEY_ID = 'test';
process.env.AWS_SECRET_ACCESS_KEY = 'test';
process.env.AWS_ENDPOINT_URL = process.env.AWS_ENDPOINT_URL ?? 'http://127.0.0.1:9';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
// The AWS SDK warns once per process that future versions need Node 22; tests run on Node 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

import 'aws-sdk-client-mock-vitest/extend';
