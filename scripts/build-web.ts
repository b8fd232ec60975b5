/**
 * Builds the cashier and the console (web/ → web-dist/) when they are missing or stale: a digest
 * of every file under web/ is kept in web-dist/.source-digest. Run by prestart and pretest, so a
 * fresh clone's `npm install && npm start` serves working pages; `--force` builds anyway.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const sourceDir = path.join(root, 'web');
const outDir = path.join(root, 'web-dist');
const stampFile = path.join(outDir, '.source-digest');

function sourceDigest(): string {
  const hash = createHash('sha256');
  const files = fs
    .readdirSync(sourceDir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath ?? entry.path, entry.name))
    .sort();
  for (const file of files) hash.update(path.relative(sourceDir, file)).update('\0').update(fs.readFileSync(file)).update('\0');
  return hash.digest('hex');
}

const digest = sourceDigest();
const built = ['cashier', 'console'].every((page) => fs.existsSync(path.join(outDir, page, 'index.html')));
const current = fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === digest;
if (built && current && !process.argv.includes('--force')) {
  process.stdout.write('# web assets are up to date\n');
} else {
  let vite: typeof import('vite');
  try {
    vite = await import('vite');
  } catch {
    // An install without dev dependencies cannot build; what was built before still serves.
    process.stderr.write('# vite is not installed (npm install without --omit=dev builds the pages)\n');
    process.exit(built ? 0 : 1);
  }
  await vite.build({ configFile: path.join(sourceDir, 'vite.config.ts'), logLevel: 'warn' });
  fs.writeFileSync(stampFile, digest);
  process.stdout.write('# web assets built into web-dist/\n');
}
