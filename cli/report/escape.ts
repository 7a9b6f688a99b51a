/** Text and attribute values for HTML and SVG: every string from the record goes through this. */
export const escapeHtml = (value: unknown): string =>
  String(value ?? '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');

/**
 * One Markdown table cell or inline text: HTML is neutralised (Markdown viewers render raw HTML),
 * pipes and backslashes escaped, line breaks flattened, so a hostile value cannot break the table.
 */
export const escapeMarkdown = (value: unknown): string =>
  String(value ?? '')
    .replaceAll('\\', '\\\\')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('|', '\\|')
    .replaceAll('`', '\\`')
    .replaceAll('*', '\\*')
    .replaceAll('_', '\\_')
    .replaceAll('[', '\\[')
    .replaceAll(']', '\\]')
    .replace(/\r?\n/g, ' ');

/** Inline code in Markdown: a fence longer than any backtick run inside, so nothing escapes it. */
export const markdownCode = (value: unknown): string => {
  const text = String(value ?? '').replace(/\r?\n/g, ' ');
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text.replaceAll('|', '\\|')}${pad}${fence}`;
};
