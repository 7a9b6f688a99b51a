import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UsageError } from './errors.js';

/**
 * Reads an execution input the way the AWS CLI takes a JSON parameter: a path, `file://<path>`
 * (relative or absolute), or `-` for standard input. Any problem is a UsageError that names the
 * file and what to do.
 */
export const readJsonInput = (spec: string, stdin: () => string = () => readFileSync(0, 'utf8')): unknown => {
  const fromStdin = spec === '-';
  let path = spec;
  if (spec.startsWith('file://')) {
    const rest = spec.slice('file://'.length);
    // file:///abs/path is a URL; file://relative/path is how the AWS CLI writes a relative file.
    path = rest.startsWith('/') ? fileURLToPath(`file://${rest}`) : rest;
  }
  const label = fromStdin ? 'the standard input' : path;
  let text: string;
  try {
    text = fromStdin ? stdin() : readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'it is a folder'
            : ((error as Error).message ?? String(error));
    throw new UsageError(
      `cannot read the input ${label}: ${why}. Give the path of a JSON file (see events/break-glass.json), file://<path>, or - for standard input.`,
    );
  }
  if (text.trim() === '') throw new UsageError(`the input ${label} is empty: it must be one JSON object.`);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`the input ${label} is not valid JSON: ${(error as Error).message}.`);
  }
};
