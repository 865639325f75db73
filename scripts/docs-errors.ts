// Regenerates docs/errors.md from the protocol's code tables.
import { writeFileSync } from 'node:fs';
import { renderErrorsDoc } from '@parley/protocol';

writeFileSync(new URL('../docs/errors.md', import.meta.url), renderErrorsDoc());
console.log('docs/errors.md written');
