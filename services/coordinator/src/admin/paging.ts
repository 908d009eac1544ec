import { encodePageToken, type PageKind, pageLimit, pageToken } from "./validate.js";

/**
 * One page of a list ordered by `keyOf` (ascending, unique), starting after the
 * key the request's page token names. The token is the page's last key, so a
 * list that changes between calls neither repeats nor skips what stayed.
 */
export function pageOf<T>(
  items: Iterable<T>,
  keyOf: (item: T) => string,
  req: { limit: number; pageToken: string },
  kind: PageKind,
): { page: T[]; nextPageToken: string } {
  const limit = pageLimit(req.limit);
  const after = pageToken(req.pageToken, "page_token", kind);
  const page: T[] = [];
  for (const item of items) {
    const key = keyOf(item);
    if (after !== undefined && key <= after) continue;
    if (page.length === limit)
      return { page, nextPageToken: encodePageToken(keyOf(page[limit - 1] as T), kind) };
    page.push(item);
  }
  return { page, nextPageToken: "" };
}

/** Positions as keys that sort like numbers (for lists kept in insertion order, such as seeds). */
export function positionKey(i: number): string {
  return i.toString(36).padStart(8, "0");
}
