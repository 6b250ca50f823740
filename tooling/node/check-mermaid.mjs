// Checks every ```mermaid block of markdown files with Mermaid's own parser,
// the one its renderer runs first. Mermaid expects a browser, so jsdom
// provides the DOM (DOMPurify needs a window); no browser is started.
//   node check-mermaid.mjs FILE.md...   exit 0 all parse, 1 one fails, 2 usage
import { readFile } from 'node:fs/promises';
import { JSDOM } from 'jsdom';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node check-mermaid.mjs FILE.md...');
  process.exit(2);
}

const { window } = new JSDOM('<!doctype html><html><body></body></html>', { pretendToBeVisual: true });
globalThis.window = window;
globalThis.document = window.document;
globalThis.DOMParser = window.DOMParser;
globalThis.Element = window.Element;
globalThis.HTMLElement = window.HTMLElement;
globalThis.SVGElement = window.SVGElement;
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false });

let failed = false;
for (const file of files) {
  let text;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    console.error(`mermaid: cannot read ${file}: ${err.message}`);
    process.exit(2);
  }
  const blocks = [...text.matchAll(/^```mermaid\n([\s\S]*?)^```/gm)].map((m) => m[1]);
  if (blocks.length === 0) {
    failed = true;
    console.log(`mermaid: ${file} has no mermaid block`);
    continue;
  }
  for (const [i, block] of blocks.entries()) {
    try {
      const result = await mermaid.parse(block);
      console.log(`mermaid: ${file} block ${i + 1}: ${result.diagramType} parses`);
    } catch (err) {
      failed = true;
      const message = String(err.message ?? err).split('\n').slice(0, 4).join(' | ');
      console.log(`mermaid: ${file} block ${i + 1}: ${message}`);
    }
  }
}
process.exit(failed ? 1 : 0);
