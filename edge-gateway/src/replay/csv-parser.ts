import { ReplayError } from './replay-error.js';

/** One CSV record and the line it starts on (1-based). */
export interface CsvRecord {
  fields: string[];
  line: number;
}

const QUOTE = 34; // "
const LF = 10;
const CR = 13;

/**
 * Incremental CSV parser for RFC 4180 basics: fields separated by one delimiter character, records by
 * LF or CRLF; a field in double quotes may hold delimiters, line breaks and doubled quotes (`""`).
 * Text after a closing quote is kept (lenient, like most spreadsheets). Blank lines are skipped.
 *
 * Push decoded text in chunks of any size; each call returns the records completed so far, so a
 * file of any length streams through in constant memory.
 */
export class CsvParser {
  private readonly delimiter: number;
  private fields: string[] = [];
  private field = '';
  private inQuotes = false;
  /** The quote just seen inside a quoted field may be the first of a doubled pair. */
  private quotePending = false;
  private line = 1;
  private recordLine = 1;
  private sawAnything = false;

  constructor(delimiter: string) {
    this.delimiter = delimiter.charCodeAt(0);
  }

  push(text: string): CsvRecord[] {
    const out: CsvRecord[] = [];
    let fieldStart = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.inQuotes) {
        if (this.quotePending) {
          this.quotePending = false;
          if (c === QUOTE) {
            this.field += '"';
            fieldStart = i + 1;
            continue;
          }
          this.inQuotes = false; // that quote closed the field; fall through to handle c
        } else if (c === QUOTE) {
          this.field += text.slice(fieldStart, i);
          this.quotePending = true;
          fieldStart = i + 1;
          continue;
        } else {
          if (c === LF) this.line++;
          continue;
        }
      }
      if (c === this.delimiter) {
        this.fields.push(this.field + text.slice(fieldStart, i));
        this.field = '';
        fieldStart = i + 1;
        this.sawAnything = true;
      } else if (c === LF) {
        this.endRecord(withoutCr(this.field + text.slice(fieldStart, i)), out);
        fieldStart = i + 1;
        this.line++;
        this.recordLine = this.line;
      } else if (c === QUOTE && this.field === '' && fieldStart === i) {
        this.inQuotes = true;
        this.sawAnything = true;
        fieldStart = i + 1;
      } else if (c !== CR) {
        this.sawAnything = true;
      }
    }
    this.field += text.slice(fieldStart);
    return out;
  }

  /** Completes the last record (a file need not end with a newline). */
  end(): CsvRecord[] {
    if (this.inQuotes && !this.quotePending) {
      throw new ReplayError('unterminated_quote', this.recordLine, 'a quoted field is not closed before the end of the file');
    }
    this.inQuotes = false;
    this.quotePending = false;
    const out: CsvRecord[] = [];
    this.endRecord(withoutCr(this.field), out);
    return out;
  }

  private endRecord(lastField: string, out: CsvRecord[]): void {
    if (this.sawAnything || lastField !== '') {
      this.fields.push(lastField);
      out.push({ fields: this.fields, line: this.recordLine });
    }
    this.fields = [];
    this.field = '';
    this.sawAnything = false;
  }
}

/** The CR of a CRLF ending, which may have arrived at the end of the previous chunk. */
function withoutCr(field: string): string {
  return field.endsWith('\r') ? field.slice(0, -1) : field;
}
