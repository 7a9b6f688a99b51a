import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { type CollectionTag, parse, type ScalarTag, type YAMLMap, type YAMLSeq } from 'yaml';

/**
 * Reads template.yaml the way CloudFormation does: short-form intrinsic tags become their long
 * form (`!GetAtt PreflightFunction.Arn` is `{ 'Fn::GetAtt': ['PreflightFunction', 'Arn'] }`), so
 * the bundle script, the static tests and the local runner all see one shape, and none of them
 * needs a second copy of what the template says about the functions.
 */

export type TemplateValue =
  | string
  | number
  | boolean
  | null
  | TemplateValue[]
  | { [key: string]: TemplateValue };

export interface TemplateResource {
  Type: string;
  Properties?: Record<string, TemplateValue>;
  Metadata?: Record<string, TemplateValue>;
  Condition?: string;
  DependsOn?: string | string[];
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
}

export interface Template {
  AWSTemplateFormatVersion?: string;
  Transform?: string | string[];
  Description?: string;
  Parameters?: Record<string, Record<string, TemplateValue>>;
  Conditions?: Record<string, TemplateValue>;
  Globals?: Record<string, Record<string, TemplateValue>>;
  Resources: Record<string, TemplateResource>;
  Outputs?: Record<string, Record<string, TemplateValue>>;
  [section: string]: unknown;
}

/** A Lambda function of the template and the source file behind it. */
export interface FunctionHandler {
  logicalId: string;
  /** `functions/preflight.ts`: the TypeScript entry point, relative to the project root. */
  handlerFile: string;
  /** `handler`: the export the Lambda runtime calls. */
  exportName: string;
}

/** A function built by SAM's esbuild workflow, with the build options from its Metadata. */
export interface EsbuildFunction extends FunctionHandler {
  /** `Metadata.BuildProperties` as written in the template (esbuild options in SAM's spelling). */
  buildProperties: Record<string, TemplateValue>;
}

/** The template does not have the shape the caller relies on; the message says where. */
export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

const FUNCTION_TYPES = new Set(['AWS::Serverless::Function', 'AWS::Lambda::Function']);
const STATE_MACHINE_TYPES = new Set(['AWS::Serverless::StateMachine', 'AWS::StepFunctions::StateMachine']);

/** Short-form tag name -> long-form key. */
const INTRINSICS: Record<string, string> = {
  Ref: 'Ref',
  Condition: 'Condition',
  GetAtt: 'Fn::GetAtt',
  Sub: 'Fn::Sub',
  Join: 'Fn::Join',
  Select: 'Fn::Select',
  Split: 'Fn::Split',
  If: 'Fn::If',
  Equals: 'Fn::Equals',
  Not: 'Fn::Not',
  And: 'Fn::And',
  Or: 'Fn::Or',
  FindInMap: 'Fn::FindInMap',
  Base64: 'Fn::Base64',
  Cidr: 'Fn::Cidr',
  ImportValue: 'Fn::ImportValue',
  GetAZs: 'Fn::GetAZs',
  Transform: 'Fn::Transform',
  ToJsonString: 'Fn::ToJsonString',
  Length: 'Fn::Length',
};

/** `!GetAtt Resource.Attribute` -> `['Resource', 'Attribute']` (attributes may contain dots: `Endpoint.Address`). */
const splitGetAtt = (value: string): string[] => {
  const dot = value.indexOf('.');
  return dot < 0 ? [value] : [value.slice(0, dot), value.slice(dot + 1)];
};

/** The CloudFormation short-form tags for the `yaml` package: each may tag a scalar, a sequence or a map. */
export const cloudFormationTags: (ScalarTag | CollectionTag)[] = Object.entries(INTRINSICS).flatMap(
  ([short, long]): (ScalarTag | CollectionTag)[] => [
    {
      tag: `!${short}`,
      resolve: (value: string) => ({ [long]: short === 'GetAtt' ? splitGetAtt(value) : value }),
    },
    {
      tag: `!${short}`,
      collection: 'seq',
      resolve: (seq: YAMLSeq.Parsed | YAMLMap.Parsed) => ({ [long]: seq.toJSON() }),
    },
    {
      tag: `!${short}`,
      collection: 'map',
      resolve: (map: YAMLSeq.Parsed | YAMLMap.Parsed) => ({ [long]: map.toJSON() }),
    },
  ],
);

/** Parses template text. `source` names the file in error messages. */
export const parseTemplate = (text: string, source = 'template'): Template => {
  const parsed: unknown = parse(text, { customTags: cloudFormationTags, prettyErrors: true });
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new TemplateError(`${source} is not a CloudFormation template (expected a YAML or JSON object).`);
  }
  const template = parsed as Template;
  if (!template.Resources || typeof template.Resources !== 'object') {
    throw new TemplateError(`${source} has no Resources section.`);
  }
  return template;
};

/** Reads and parses a SAM/CloudFormation template (YAML or JSON). */
export const loadTemplate = (path: string): Template => parseTemplate(readFileSync(path, 'utf8'), path);

const isRecord = (value: unknown): value is Record<string, TemplateValue> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const stringList = (value: unknown): string[] | undefined =>
  Array.isArray(value) && value.every((item) => typeof item === 'string') ? (value as string[]) : undefined;

const globalFunctionProperty = (template: Template, name: string): TemplateValue | undefined =>
  template.Globals?.Function?.[name];

/**
 * Where a function's code lives. With esbuild, the entry point in Metadata is authoritative (SAM
 * bundles it and rewrites the Handler to the bundle); it must agree with the Handler's module path,
 * or the handler would not be found after `sam build`. Without esbuild, the Handler's module path
 * plus `.ts`.
 */
const describeFunction = (
  template: Template,
  logicalId: string,
  resource: TemplateResource,
): EsbuildFunction => {
  const properties = resource.Properties ?? {};
  const handler = properties.Handler ?? globalFunctionProperty(template, 'Handler');
  if (typeof handler !== 'string' || !handler.includes('.')) {
    throw new TemplateError(
      `${logicalId}: Handler must be a string such as "functions/preflight.handler" (got ${JSON.stringify(handler)}).`,
    );
  }
  const lastDot = handler.lastIndexOf('.');
  const exportName = handler.slice(lastDot + 1);
  const codeUri = properties.CodeUri ?? globalFunctionProperty(template, 'CodeUri') ?? '.';
  if (typeof codeUri !== 'string') {
    throw new TemplateError(`${logicalId}: CodeUri must be a local path to map the handler to a file.`);
  }
  const modulePath = posix.normalize(posix.join(codeUri, handler.slice(0, lastDot)));

  const metadata = resource.Metadata ?? {};
  const buildProperties = isRecord(metadata.BuildProperties) ? metadata.BuildProperties : {};
  if (metadata.BuildMethod !== 'esbuild') {
    return { logicalId, handlerFile: `${modulePath}.ts`, exportName, buildProperties };
  }
  const entryPoints = stringList(buildProperties.EntryPoints);
  if (entryPoints?.length !== 1) {
    throw new TemplateError(
      `${logicalId}: Metadata.BuildProperties.EntryPoints must list exactly one file (got ${JSON.stringify(buildProperties.EntryPoints)}).`,
    );
  }
  const handlerFile = posix.normalize(posix.join(codeUri, entryPoints[0] as string));
  if (handlerFile.replace(/\.[cm]?[jt]s$/, '') !== modulePath) {
    throw new TemplateError(
      `${logicalId}: Handler "${handler}" names module ${modulePath}, but the esbuild entry point is ${handlerFile}. Make them the same file.`,
    );
  }
  return { logicalId, handlerFile, exportName, buildProperties };
};

/** Every Lambda function of the template, in template order. */
export const functionHandlers = (template: Template): EsbuildFunction[] =>
  Object.entries(template.Resources)
    .filter(([, resource]) => FUNCTION_TYPES.has(resource.Type))
    .map(([logicalId, resource]) => describeFunction(template, logicalId, resource));

/** The state machine's logical id: the one given, or the only one in the template. */
export const stateMachineId = (template: Template, logicalId?: string): string => {
  const machines = Object.entries(template.Resources)
    .filter(([, resource]) => STATE_MACHINE_TYPES.has(resource.Type))
    .map(([id]) => id);
  if (logicalId) {
    if (!machines.includes(logicalId)) {
      throw new TemplateError(
        `${logicalId} is not a state machine of the template (found: ${machines.join(', ')}).`,
      );
    }
    return logicalId;
  }
  if (machines.length !== 1) {
    throw new TemplateError(
      `Expected exactly one state machine in the template, found ${machines.length} (${machines.join(', ')}): name the one you mean.`,
    );
  }
  return machines[0] as string;
};

/** `DefinitionSubstitutions` of the state machine, as written (values keep their intrinsic form). */
export const definitionSubstitutions = (
  template: Template,
  logicalId?: string,
): Record<string, TemplateValue> => {
  const id = stateMachineId(template, logicalId);
  const substitutions = template.Resources[id]?.Properties?.DefinitionSubstitutions;
  return isRecord(substitutions) ? substitutions : {};
};

/**
 * The logical id of the resource whose ARN a substitution value yields, for the forms a Lambda ARN
 * takes in a template: `!GetAtt X.Arn`, `{ 'Fn::GetAtt': 'X.Arn' }` (JSON) and `!Sub '${X.Arn}'`.
 */
const arnOf = (value: TemplateValue): string | undefined => {
  if (!isRecord(value)) return undefined;
  const getAtt = value['Fn::GetAtt'];
  const parts = typeof getAtt === 'string' ? splitGetAtt(getAtt) : stringList(getAtt);
  if (parts && parts.length === 2 && parts[1] === 'Arn') return parts[0];
  const sub = value['Fn::Sub'];
  const match = typeof sub === 'string' ? /^\$\{([A-Za-z0-9]+)\.Arn\}$/.exec(sub) : null;
  return match?.[1];
};

/**
 * For the state machine (the only one, or `logicalId`): substitution name -> the Lambda handler it
 * resolves to, e.g. `PreflightFunctionArn` -> `{ logicalId: 'PreflightFunction', handlerFile:
 * 'functions/preflight.ts', exportName: 'handler' }`. Substitutions that are not the ARN of a
 * function of this template (a table name, a topic) are left out. The local runner uses this to
 * bind each Task's `${...}` Resource to the code it runs.
 */
export const taskHandlers = (template: Template, logicalId?: string): Record<string, FunctionHandler> => {
  const functions = new Map(functionHandlers(template).map((fn) => [fn.logicalId, fn]));
  const handlers: Record<string, FunctionHandler> = {};
  for (const [name, value] of Object.entries(definitionSubstitutions(template, logicalId))) {
    const target = arnOf(value);
    const fn = target ? functions.get(target) : undefined;
    if (fn)
      handlers[name] = { logicalId: fn.logicalId, handlerFile: fn.handlerFile, exportName: fn.exportName };
  }
  return handlers;
};
