import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Template } from '../../cli/template.js';
import { actionsOf, policyStatements, resourcesOf, root, templatePath } from './helpers.js';

/**
 * template.yaml as AWS will see it: cfn-lint (which understands the SAM transform) must be clean,
 * and aws-sam-translator (the library behind the AWS::Serverless-2016-10-31 transform) must expand
 * it. Both are Python tools from the machine image; when one is missing the test fails and says
 * how to install it: a skipped check is a check nobody runs.
 */

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  missing: boolean;
}

const run = (command: string, args: string[]): Promise<Run> =>
  new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd: root, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({
          code,
          stdout,
          stderr,
          missing: (error as NodeJS.ErrnoException | null)?.code === 'ENOENT',
        });
      },
    );
  });

const CFN_LINT_MISSING =
  'cfn-lint is not installed. Install the Python tool: pip install cfn-lint (not the npm package named cfn-lint, an unrelated old tool that rejects SAM).';
const SAM_TRANSLATOR_MISSING =
  'aws-sam-translator is not installed for python3. Install it: pip install aws-sam-translator (cfn-lint depends on it too).';

describe('template.yaml as CloudFormation sees it', () => {
  let lint: Run;
  let transform: Run;

  // One cfn-lint run (a few seconds) and one transform, side by side.
  beforeAll(async () => {
    [lint, transform] = await Promise.all([
      run('cfn-lint', ['template.yaml']),
      run('python3', ['scripts/sam-transform.py', 'template.yaml']),
    ]);
  }, 120_000);

  it('passes cfn-lint with no error, warning or informational finding (b)', () => {
    expect(lint.missing, CFN_LINT_MISSING).toBe(false);
    expect(lint.code, `cfn-lint template.yaml:\n${lint.stdout}${lint.stderr}`).toBe(0);
  });

  it('transforms with aws-sam-translator', () => {
    expect(transform.missing, 'python3 is not on the PATH').toBe(false);
    expect(transform.stderr.includes('ModuleNotFoundError'), SAM_TRANSLATOR_MISSING).toBe(false);
    expect(transform.code, transform.stderr).toBe(0);
  });

  describe('the transformed template', () => {
    const transformed = (): Template => JSON.parse(transform.stdout) as Template;

    it('has no SAM resource left, only CloudFormation ones', () => {
      const types = Object.values(transformed().Resources).map((resource) => resource.Type);
      expect(types.filter((type) => type.startsWith('AWS::Serverless::'))).toEqual([]);
      expect(types).toContain('AWS::StepFunctions::StateMachine');
    });

    it('logs every execution at level ALL with its data, and traces it', () => {
      const machines = Object.values(transformed().Resources).filter(
        (resource) => resource.Type === 'AWS::StepFunctions::StateMachine',
      );
      for (const machine of machines) {
        expect(machine.Properties?.StateMachineType).toBe('STANDARD');
        expect(machine.Properties?.LoggingConfiguration).toMatchObject({
          Level: 'ALL',
          IncludeExecutionData: true,
        });
        expect(machine.Properties?.TracingConfiguration).toEqual({ Enabled: true });
      }
    });

    it('generates no role statement with Action "*" (SAM policy templates included)', () => {
      const generated = policyStatements(transformed())
        .filter(({ statement }) => statement.Effect === 'Allow')
        .filter(({ statement }) => actionsOf(statement).some((action) => action === '*'));
      expect(generated.map(({ where }) => where)).toEqual([]);
    });

    it('generates no role that a service other than Lambda assumes without aws:SourceAccount', () => {
      // Lambda execution roles are assumed by the function itself (the trust SAM writes for them);
      // every other service principal is a confused-deputy risk unless the trust pins the account.
      const unpinned = policyStatements(transformed())
        .filter(({ statement }) => actionsOf(statement).includes('sts:AssumeRole'))
        .filter(({ statement }) => {
          const services = JSON.stringify((statement.Principal as { Service?: unknown })?.Service ?? []);
          return services !== '["lambda.amazonaws.com"]' && services !== '"lambda.amazonaws.com"';
        })
        .filter(({ statement }) => statement.Condition?.StringEquals?.['aws:SourceAccount'] === undefined)
        .map(({ where }) => where);
      expect(unpinned).toEqual([]);
    });

    it("keeps the header's claim true: every service trust pins aws:SourceAccount, but the Lambda roles it names", () => {
      // Prepare: the comment block at the top of template.yaml, as one line.
      const header = readFileSync(templatePath, 'utf8')
        .split('\n')
        .slice(0, 40)
        .filter((line) => line.startsWith('#'))
        .map((line) => line.replace(/^#\s?/, ''))
        .join(' ');
      const trusts = policyStatements(transformed()).filter(({ statement }) =>
        actionsOf(statement).includes('sts:AssumeRole'),
      );
      const servicesOf = (principal: unknown): string[] => {
        const service = (principal as { Service?: string | string[] } | undefined)?.Service ?? [];
        return Array.isArray(service) ? service : [service];
      };

      // Act
      const unpinnedServices = [
        ...new Set(
          trusts
            .filter(({ statement }) => statement.Condition?.StringEquals?.['aws:SourceAccount'] === undefined)
            .flatMap(({ statement }) => servicesOf(statement.Principal)),
        ),
      ];

      // Assess: the claim names exactly the services whose trust is not pinned.
      expect(header).toContain('pins aws:SourceAccount');
      expect(unpinnedServices).toEqual(['lambda.amazonaws.com']);
      for (const service of unpinnedServices)
        expect(header, `the header must name ${service}`).toContain(service);
    });

    it('scopes the state machine role: it may invoke only the functions of this stack', () => {
      const invoke = policyStatements(transformed())
        .filter(({ logicalId }) => logicalId.endsWith('StateMachineRole'))
        .filter(({ statement }) => actionsOf(statement).includes('lambda:InvokeFunction'));
      expect(invoke.length).toBeGreaterThan(0);
      expect(invoke.flatMap(({ statement }) => resourcesOf(statement)).filter((r) => r === '*')).toEqual([]);
    });
  });
});
