// Writes the crawl benchmark's data: FILES small NDJSON files spread over PARTITIONS hourly date
// folders (yyyy/mm/dd/hh) under DIR, ROWS rows each, deterministic.
// Usage: node crawl_data.mjs DIR PARTITIONS FILES ROWS [FIRST_PARTITION]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, partitions, files, rows, first = '0'] = process.argv.slice(2);
const start = Date.UTC(2026, 0, 1);
const perPartition = Math.ceil(Number(files) / Number(partitions));
let written = 0;
for (let p = Number(first); p < Number(first) + Number(partitions); p++) {
  const hour = new Date(start + p * 3600 * 1000);
  const folder = join(dir, String(hour.getUTCFullYear()), String(hour.getUTCMonth() + 1).padStart(2, '0'),
                      String(hour.getUTCDate()).padStart(2, '0'), String(hour.getUTCHours()).padStart(2, '0'));
  mkdirSync(folder, { recursive: true });
  for (let f = 0; f < perPartition && written < Number(files); f++, written++) {
    let text = '';
    for (let r = 0; r < Number(rows); r++) {
      const id = written * Number(rows) + r;
      text += JSON.stringify({ id, user: id % 977, kind: ['view', 'click', 'buy'][id % 3],
                               amount: (id % 1000) / 10, ts: new Date(hour.getTime() + r * 1000).toISOString() }) + '\n';
    }
    writeFileSync(join(folder, `part-${f}.json`), text);
  }
}
