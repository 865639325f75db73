/** Renders docs/errors.md from the two code tables, so the document can be checked against them. */
import { CloseCodes, ErrorCodes } from './codes.ts';

export function renderErrorsDoc(): string {
  const errors = Object.entries(ErrorCodes).map(
    ([code, e]) => `| \`${code}\` | ${e.retry ? 'yes' : 'no'} | ${e.doc} |`,
  );
  const closes = Object.values(CloseCodes).map(
    (c) => `| ${c.code} | ${c.reconnect ? 'yes' : 'no'} | ${c.doc} |`,
  );
  return [
    '# Errors and close codes',
    '',
    'Generated from `libs/protocol/src/codes.ts` (`npm run docs:errors`); a unit test fails when they differ.',
    '',
    '## Error frames',
    '',
    '`{"type":"error","id"?,"code","message"}`. The connection stays open after every error frame.',
    '',
    '| code | retry may help | meaning |',
    '|---|---|---|',
    ...errors,
    '',
    '## Close codes',
    '',
    '| code | reconnect | meaning |',
    '|---|---|---|',
    ...closes,
    '',
    'Clients reconnect with exponential backoff and full jitter. 4001 and 4003 need a new token first;',
    'after 4008 back off hard; after 4010, 1001 and 1006 reconnect and recover with `join` + `since`.',
    '',
  ].join('\n');
}
