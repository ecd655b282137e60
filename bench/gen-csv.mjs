#!/usr/bin/env node
// Writes a CSV of N recipients shaped like a real export (UTF-8, comma-separated, accented names,
// some quoted values), for the import benchmark and large-file tests. Addresses are unique.
// Usage: node bench/gen-csv.mjs <rows> <out.csv>
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';

const [rowsArg, out] = process.argv.slice(2);
const rows = Number(rowsArg);
if (!Number.isInteger(rows) || rows < 0 || !out) {
  process.stderr.write('usage: node bench/gen-csv.mjs <rows> <out.csv>\n');
  process.exit(2);
}

const nombres = ['José', 'María', 'Sofía', 'Matías', 'Martín', 'Ángela', 'Benjamín', 'Inés', 'Raúl', 'Catalina'];
const apellidos = ['Muñoz', 'González', 'Pérez', 'Núñez', 'Ibáñez', 'Rodríguez', 'Solís', 'Peña', 'Díaz', 'Fuentes'];
const comunas = ['Ñuñoa', 'Providencia', 'Peñalolén', '"Santiago, Centro"', 'Concepción', 'Viña del Mar', 'Valparaíso'];

const file = createWriteStream(out);
file.write('email,nombre,apellido,comuna\n');
let chunk = '';
for (let i = 1; i <= rows; i++) {
  chunk += `cliente${i}@example.cl,${nombres[i % nombres.length]},${apellidos[(i * 7) % apellidos.length]},${comunas[(i * 13) % comunas.length]}\n`;
  // Write in ~64 KiB pieces and wait when the file falls behind: memory stays flat for any N.
  if (chunk.length >= 1 << 16 || i === rows) {
    if (!file.write(chunk)) await once(file, 'drain');
    chunk = '';
  }
}
file.end();
await once(file, 'finish');
