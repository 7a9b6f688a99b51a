import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadTemplate, type Template, type TemplateValue } from '../../cli/template.js';

/** Shared by the static tests: the project's files, read once per test file. */

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const templatePath = `${root}template.yaml`;
export const template: Template = loadTemplate(templatePath);

// biome-ignore lint/suspicious/noExplicitAny: ASL is free-form JSON; the tests narrow what they read.
export type AslState = Record<string, any>;
export interface AslDefinition {
  StartAt: string;
  TimeoutSeconds?: number;
  States: Record<string, AslState>;
}

export const aslFiles: string[] = readdirSync(`${root}state-machines`)
  .filter((name) => name.endsWith('.asl.json'))
  .map((name) => `state-machines/${name}`);

export const readAsl = (file: string): AslDefinition => JSON.parse(readFileSync(`${root}${file}`, 'utf8'));

/** Every state, including those inside Parallel branches and Map item processors, with its name. */
export const allStates = (definition: { States: Record<string, AslState> }): [string, AslState][] =>
  Object.entries(definition.States).flatMap(([name, state]): [string, AslState][] => [
    [name, state],
    ...((state.Branches ?? []) as AslDefinition[]).flatMap(allStates),
    ...[state.ItemProcessor, state.Iterator].filter(Boolean).flatMap((inner) => allStates(inner)),
  ]);

/** Every string anywhere in a JSON value. */
export const allStrings = (value: unknown): string[] => {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(allStrings);
  if (value && typeof value === 'object') return Object.values(value).flatMap(allStrings);
  return [];
};

/** The `${Name}` placeholders of an ASL definition (DefinitionSubstitutions syntax). */
export const substitutionsUsed = (definition: unknown): Set<string> =>
  new Set(
    allStrings(definition).flatMap((text) => [...text.matchAll(/\$\{([^}]+)\}/g)].map((m) => m[1] as string)),
  );

/** The state machine resource whose DefinitionUri is `file`. */
export const stateMachineFor = (file: string): [string, Record<string, TemplateValue>] | undefined => {
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type === 'AWS::Serverless::StateMachine' && resource.Properties?.DefinitionUri === file) {
      return [id, resource.Properties];
    }
  }
  return undefined;
};

// ---------------------------------------------------------------------------------------------
// IAM statements
// ---------------------------------------------------------------------------------------------

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: TemplateValue;
  NotResource?: TemplateValue;
  Principal?: TemplateValue;
  Condition?: Record<string, Record<string, TemplateValue>>;
}

export interface LocatedStatement {
  /** `<LogicalId>/<Sid>`: how the exceptions list names a statement. */
  where: string;
  logicalId: string;
  statement: PolicyStatement;
}

const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

const statementsOf = (logicalId: string, document: unknown): LocatedStatement[] => {
  if (!document || typeof document !== 'object') return [];
  const statements = asArray((document as { Statement?: PolicyStatement | PolicyStatement[] }).Statement);
  return statements.map((statement, index) => ({
    where: `${logicalId}/${statement.Sid ?? `#${index}`}`,
    logicalId,
    statement,
  }));
};

/**
 * Every policy statement a template (as written, or as transformed by SAM) declares: inline
 * `Policies` of SAM functions and state machines (SAM policy templates such as LambdaInvokePolicy
 * are SAM's own and scoped, so they are not statements here), IAM roles and policies, key
 * policies and resource policies.
 */
export const policyStatements = (doc: Template): LocatedStatement[] =>
  Object.entries(doc.Resources).flatMap(([logicalId, resource]) => {
    const p = (resource.Properties ?? {}) as Record<string, unknown>;
    switch (resource.Type) {
      case 'AWS::Serverless::Function':
      case 'AWS::Serverless::StateMachine':
        return asArray(p.Policies as unknown[]).flatMap((policy) => statementsOf(logicalId, policy));
      case 'AWS::IAM::Role':
        return [
          ...statementsOf(logicalId, p.AssumeRolePolicyDocument),
          ...asArray(p.Policies as { PolicyDocument: unknown }[]).flatMap((policy) =>
            statementsOf(logicalId, policy.PolicyDocument),
          ),
        ];
      case 'AWS::KMS::Key':
        return statementsOf(logicalId, p.KeyPolicy);
      default:
        return statementsOf(logicalId, p.PolicyDocument);
    }
  });

export const actionsOf = (statement: PolicyStatement): string[] => asArray(statement.Action);
export const resourcesOf = (statement: PolicyStatement): TemplateValue[] => asArray(statement.Resource);

/** IAM action matching: case-insensitive, `*` and `?` wildcards. */
export const actionMatches = (pattern: string, action: string): boolean => {
  const regex = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${regex}$`, 'i').test(action);
};

/** True when a Condition block contains the key (under any operator). */
export const hasConditionKey = (statement: PolicyStatement, key: string): boolean =>
  Object.values(statement.Condition ?? {}).some((block) =>
    Object.keys(block).some((name) => name.toLowerCase() === key.toLowerCase()),
  );
