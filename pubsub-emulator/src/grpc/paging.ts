// List pagination: the page token is the offset into the name-sorted list, as opaque to clients as the
// service's own tokens.
import { invalidArgument } from '../errors.js';

const DEFAULT_PAGE_SIZE = 100;

export function page<T>(items: T[], pageSize: number, pageToken: string): { items: T[]; nextPageToken: string } {
  const start = pageToken === '' ? 0 : Number(pageToken);
  if (!Number.isInteger(start) || start < 0 || start > items.length) throw invalidArgument(`Invalid page_token "${pageToken}".`);
  const size = pageSize > 0 ? pageSize : DEFAULT_PAGE_SIZE;
  const end = Math.min(items.length, start + size);
  return { items: items.slice(start, end), nextPageToken: end < items.length ? String(end) : '' };
}
