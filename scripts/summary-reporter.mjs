// A node:test reporter that prints only the closing line CI reads: "N passed, N failed, N skipped (files: F)".
export default async function* summary(source) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const failures = [];
  for await (const event of source) {
    if (event.type === 'test:pass' && event.data.details?.type !== 'suite') {
      if (event.data.skip || event.data.todo) skipped++;
      else passed++;
    } else if (event.type === 'test:fail' && event.data.todo) {
      skipped++; // a failing `todo` test does not fail the run (node's own exit code agrees)
    } else if (event.type === 'test:fail' && event.data.details?.type !== 'suite') {
      failed++;
      failures.push(`${event.data.file ?? ''} › ${event.data.name}`);
    }
  }
  if (failures.length > 0) yield `\nFailed tests:\n${failures.map((f) => `  ✗ ${f}`).join('\n')}\n`;
  yield `\n${passed} passed, ${failed} failed, ${skipped} skipped\n`;
}
