// Answers of the admin API: JSON by default, CSV with `?format=csv` (csv-stringify quotes fields with
// commas, quotes or line breaks, and neutralises cells a spreadsheet would run as formulas).
// `quote_record_delimiter` is set on purpose: csv-stringify turns it off whenever `record_delimiter` is
// given, and a bare LF or CR inside a field would then be written unquoted and break every reader.
import type { ServerResponse } from 'node:http';
import { stringify } from 'csv-stringify/sync';

export type Format = 'json' | 'csv';

export function sendJson(res: ServerResponse, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  res.end(text);
}

export type CsvValue = string | number | null;

export function sendCsv(res: ServerResponse, filename: string, columns: readonly string[], rows: readonly CsvValue[][]): void {
  const text = stringify(rows as CsvValue[][], { header: true, columns: [...columns], escape_formulas: true, record_delimiter: '\r\n', quote_record_delimiter: true });
  res.writeHead(200, {
    'Content-Type': 'text/csv; charset=utf-8',
    'Content-Disposition': `attachment; filename="${filename.replace(/[^\w.-]/g, '_')}"`,
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  res.end(text);
}
