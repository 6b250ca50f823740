// Validates AsyncAPI documents with the official parser (@asyncapi/parser):
// every diagnostic is printed; any error-severity one fails.
//   node validate-asyncapi.mjs FILE...   exit 0 valid, 1 invalid, 2 usage
import { readFile } from 'node:fs/promises';
import { Parser, DiagnosticSeverity } from '@asyncapi/parser';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node validate-asyncapi.mjs FILE...');
  process.exit(2);
}

const severity = {
  [DiagnosticSeverity.Error]: 'error',
  [DiagnosticSeverity.Warning]: 'warning',
  [DiagnosticSeverity.Information]: 'info',
  [DiagnosticSeverity.Hint]: 'hint',
};

const parser = new Parser();
let failed = false;
for (const file of files) {
  let text;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    console.error(`asyncapi: cannot read ${file}: ${err.message}`);
    process.exit(2);
  }
  const { document, diagnostics } = await parser.parse(text, { source: file });
  let errors = 0;
  let warnings = 0;
  for (const d of diagnostics) {
    const level = severity[d.severity] ?? String(d.severity);
    if (d.severity === DiagnosticSeverity.Error) errors += 1;
    if (d.severity === DiagnosticSeverity.Warning) warnings += 1;
    console.log(`${file}: ${level} ${d.code} at /${(d.path ?? []).join('/')}: ${d.message}`);
  }
  if (!document || errors > 0) {
    failed = true;
    console.log(`asyncapi: ${file} INVALID (${errors} errors, ${warnings} warnings)`);
  } else {
    console.log(
      `asyncapi: ${file} valid AsyncAPI ${document.version()} (${document.channels().length} channels, ${document.operations().length} operations, ${document.components().messages().length} messages; ${warnings} warnings)`,
    );
  }
}
process.exit(failed ? 1 : 0);
