// Run by `npm run build` (tsup's onSuccess): the page of `be-worker ui` (src/ui/page) copied into
// dist/ui, which ships in the package and which the built be-worker serves it from.
import { cp } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
await cp(`${root}src/ui/page`, `${root}dist/ui`, { recursive: true });
