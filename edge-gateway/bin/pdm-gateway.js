#!/usr/bin/env node
// The gateway as a standalone process; `pdm gateway` runs the same code.
import '../dist/bin.js';
