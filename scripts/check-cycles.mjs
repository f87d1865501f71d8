// Fails when the import graph of a source tree has a cycle (lint step; see STYLE.md).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const root = resolve(process.argv[2] ?? 'packages/rat/src');
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (path.endsWith('.ts') && !path.endsWith('.test.ts')) files.push(path);
  }
})(root);

const importPattern = /^\s*(?:import|export)\s+(?!type\b)[^'"]*?from\s+['"](\.[^'"]+)['"]/gm;
const graph = new Map();
for (const file of files) {
  const edges = [];
  for (const match of readFileSync(file, 'utf8').matchAll(importPattern)) {
    edges.push(resolve(dirname(file), match[1].replace(/\.js$/, '.ts')));
  }
  graph.set(file, edges);
}

const state = new Map();
const stack = [];
let cycle;
function visit(node) {
  if (cycle) return;
  state.set(node, 'active');
  stack.push(node);
  for (const next of graph.get(node) ?? []) {
    if (!graph.has(next)) continue;
    if (state.get(next) === 'active') {
      cycle = [...stack.slice(stack.indexOf(next)), next];
      return;
    }
    if (!state.has(next)) visit(next);
    if (cycle) return;
  }
  stack.pop();
  state.set(node, 'done');
}
for (const file of files) if (!state.has(file)) visit(file);
if (cycle) {
  console.error(`import cycle: ${cycle.map((f) => f.slice(root.length + 1)).join(' -> ')}`);
  process.exit(1);
}
console.log(`no import cycles in ${files.length} files`);
