/** Why a CSV line was refused. */
export type ReplayErrorCode =
  | 'no_header'
  | 'no_time_column'
  | 'duplicate_column'
  | 'column_count'
  | 'bad_time'
  | 'bad_value'
  | 'out_of_order'
  | 'unterminated_quote';

/** A problem with the replayed file, naming the line (1-based; the header is line 1) and the reason. */
export class ReplayError extends Error {
  override readonly name = 'ReplayError';

  constructor(
    readonly code: ReplayErrorCode,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
  }
}
