/**
 * Archived access logs for the benchmark: `days` gzip files of `perDay` nginx lines each
 * (default log_format), dated evenly through each day, as logrotate leaves them
 * (access.log.N.gz, N=1 the newest). Deterministic; kept between runs.
 */
import { createWriteStream, existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { createGzip } from 'node:zlib';
import { prng } from '../apilogs/generate-log.mjs';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const ROUTES = [
  ['GET', '/v1/topups/', true],
  ['POST', '/v1/topups', false],
  ['GET', '/v1/operators/', true],
  ['GET', '/v1/countries', false],
  ['GET', '/v1/accounts/', true],
  ['GET', '/healthz', false],
];

function stamp(ms) {
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

export async function generateArchive(dir, { days, perDay, firstDay }) {
  mkdirSync(dir, { recursive: true });
  const files = [];
  for (let day = 0; day < days; day++) {
    const file = join(dir, `access.log.${days - day}.gz`);
    files.push(file);
    if (existsSync(file)) continue;
    const rnd = prng(1000 + day);
    const gz = createGzip({ level: 1 });
    const tmp = `${file}.tmp`;
    const out = gz.pipe(createWriteStream(tmp));
    const start = firstDay + day * 86400_000;
    let batch = '';
    let lastSecond = -1;
    let ts = '';
    for (let i = 0; i < perDay; i++) {
      const t = start + Math.floor((i * 86400_000) / perDay);
      const sec = Math.floor(t / 1000);
      if (sec !== lastSecond) {
        lastSecond = sec;
        ts = stamp(t);
      }
      const r = ROUTES[Math.floor(rnd() * ROUTES.length)];
      const x = rnd();
      const code = x < 0.007 ? 503 : x < 0.037 ? 404 : r[0] === 'POST' ? 201 : 200;
      const lat = (0.002 + rnd() * rnd() * 1.5).toFixed(3);
      batch += `10.0.${i & 255}.${(i >> 8) & 255} - - [${ts}] "${r[0]} ${r[1]}${r[2] ? 1 + Math.floor(rnd() * 99999) : ''} HTTP/1.1" ${code} ${Math.floor(rnd() * 4000)} "-" "okhttp/4.12.0" ${lat}\n`;
      if (i % 2000 === 1999) {
        if (!gz.write(batch)) await once(gz, 'drain');
        batch = '';
      }
    }
    gz.end(batch);
    await once(out, 'finish');
    renameSync(tmp, file);
  }
  return files;
}
