#!/usr/bin/env node
// The `emoforge` command. Sources are TypeScript, run through tsx's loader (registered here, so the
// command works from any working directory).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv.slice(2));
