#!/usr/bin/env node
// The installed `paycore` command: load tsx's ESM hooks, then run the TypeScript CLI as is.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
