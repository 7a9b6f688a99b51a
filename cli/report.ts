import { mkdir, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import type { EvidenceRecord } from '#features/evidence/schema.js';
import type { FleetOutput } from '#features/fleet/types.js';
import { resolveConnection } from './connection.js';
import { EXIT, explain, OperatorError } from './errors.js';
import { renderFleetHtml, renderFleetMarkdown } from './report/fleet.js';
import { loadFleetRecord } from './report/fleet-source.js';
import { renderHtml } from './report/render-html.js';
import { renderMarkdown } from './report/render-markdown.js';
import { DEFAULT_STACK, loadRecord, ReportSourceError } from './report/source.js';

export { renderHtml } from './report/render-html.js';
export { renderMarkdown } from './report/render-markdown.js';
export { loadRecord, ReportSourceError } from './report/source.js';

export const DEFAULT_REPORT_DIR = 'rekey-output';
export type ReportFormat = 'md' | 'html' | 'both';

export interface WrittenReport {
  markdown: string | null;
  html: string | null;
}

/** A file name from the rotation id, which comes from the record: nothing in it can leave `outDir`. */
const baseName = (record: EvidenceRecord): string => {
  const safe = String(record.rotationId)
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .replace(/^\.+/, '');
  return safe || 'rotation';
};

/** Render one record to `<outDir>/<rotationId>.md` and `.html`; returns the absolute paths written. */
export const writeReport = async (
  record: EvidenceRecord,
  outDir: string = DEFAULT_REPORT_DIR,
  format: ReportFormat = 'both',
): Promise<WrittenReport> => {
  await mkdir(outDir, { recursive: true });
  const base = resolve(outDir, baseName(record));
  const written: WrittenReport = { markdown: null, html: null };
  if (format !== 'html') {
    written.markdown = `${base}.md`;
    await writeFile(written.markdown, renderMarkdown(record), 'utf8');
  }
  if (format !== 'md') {
    written.html = `${base}.html`;
    await writeFile(written.html, renderHtml(record), 'utf8');
  }
  return written;
};

/** Render a fleet record to `<outDir>/fleet-<fleetId>.md` and `.html` (docs/fleet.md). */
export const writeFleetReport = async (
  fleet: FleetOutput,
  outDir: string = DEFAULT_REPORT_DIR,
  format: ReportFormat = 'both',
): Promise<WrittenReport> => {
  await mkdir(outDir, { recursive: true });
  const safe = String(fleet.fleetId)
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .replace(/^\.+/, '');
  const base = resolve(outDir, `fleet-${safe || 'fleet'}`);
  const written: WrittenReport = { markdown: null, html: null };
  if (format !== 'html') {
    written.markdown = `${base}.md`;
    await writeFile(written.markdown, renderFleetMarkdown(fleet), 'utf8');
  }
  if (format !== 'md') {
    written.html = `${base}.html`;
    await writeFile(written.html, renderFleetHtml(fleet), 'utf8');
  }
  return written;
};

interface ReportOptions {
  out: string;
  format: ReportFormat;
  json?: boolean;
  bucket?: string;
  stack: string;
  endpoint?: string;
  region?: string;
  profile?: string;
}

export const registerReportCommand = (program: Command): Command =>
  program
    .command('report')
    .description(
      'Render a rotation’s evidence record as Markdown and a self-contained HTML page (summary, timeline, before/after, key lifecycle, events).',
    )
    .argument(
      '<source>',
      'an evidence record: a local .json path, s3://bucket/key, or an execution ARN (a rotation’s record, or a fleet’s: fleets/<name>/record.json)',
    )
    .option('-o, --out <dir>', 'where to write <rotationId>.md and .html', DEFAULT_REPORT_DIR)
    .addOption(
      new Option('-f, --format <format>', 'what to write').choices(['md', 'html', 'both']).default('both'),
    )
    .option('--json', 'print one JSON line {markdown, html} with the paths written')
    .option('-b, --bucket <name>', 'evidence bucket, for an execution ARN (default: the stack output)')
    .option('-s, --stack <name>', 'stack whose EvidenceBucketName output names the bucket', DEFAULT_STACK)
    .option(
      '-e, --endpoint <url>',
      'AWS API endpoint, e.g. http://127.0.0.1:5000 for moto_server; default: AWS',
    )
    .option(
      '-r, --region <region>',
      'AWS Region (default: the execution ARN’s, else AWS_REGION, the profile’s region, AWS_DEFAULT_REGION)',
    )
    .option('-p, --profile <name>', 'AWS profile for credentials and Region (default: AWS_PROFILE)')
    .action(async (source: string, options: ReportOptions, command: Command) => {
      let loaded: Awaited<ReturnType<typeof loadRecord>> | undefined;
      let fleet: Awaited<ReturnType<typeof loadFleetRecord>> = null;
      try {
        // A record in S3 needs a Region: --region, the ARN's, or the environment's (never a guess).
        const remote = /^(s3|arn):/.test(source);
        if (options.profile) process.env.AWS_PROFILE = options.profile;
        const region =
          options.region ??
          (remote && !source.startsWith('arn:')
            ? (await resolveConnection(options, { probe: Boolean(options.endpoint) })).region
            : undefined);
        const sourceOptions = {
          bucket: options.bucket,
          stack: options.stack,
          region,
          endpoint: options.endpoint,
        };
        // A fleet record (FleetOutput) gets the fleet page; anything else is a single rotation's.
        fleet = await loadFleetRecord(source, sourceOptions);
        if (!fleet) loaded = await loadRecord(source, sourceOptions);
      } catch (raw) {
        // A clear one-line message and exit code 2 (the source cannot be used), not a stack trace.
        const error = raw instanceof ReportSourceError ? raw : explain(raw, { endpoint: options.endpoint });
        command.showHelpAfterError(false);
        command.error(`rekey report: ${error.message}`, {
          code: 'rekey.report.source',
          exitCode: error instanceof OperatorError ? EXIT.failed : EXIT.usage,
        });
      }
      const written = fleet
        ? await writeFleetReport(fleet.fleet, options.out, options.format)
        : await writeReport((loaded as NonNullable<typeof loaded>).record, options.out, options.format);
      if (options.json) {
        process.stdout.write(`${JSON.stringify(written)}\n`);
      } else {
        process.stderr.write(`Rendered ${fleet?.location ?? loaded?.location}\n`);
        for (const path of [written.markdown, written.html]) {
          if (path) process.stdout.write(`${path}\n`);
        }
      }
    });
