#!/usr/bin/env node
// The installed entry point is plain JS so a global/npx install can start it;
// the sources it imports are TypeScript that Node 24 runs by stripping types.
import '../src/cli/main.ts'
