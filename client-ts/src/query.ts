/** A comparison of `where` (the API's operators). */
export type Op = 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte' | 'in' | 'contains' | 'startsWith';

/** A value to compare with: `in` takes an array. */
export type FilterValue = string | number | boolean | null | ReadonlyArray<string | number | boolean | null>;

/** A query of `GET /api/tables/{table}`. */
export interface QueryOptions<Row> {
  /**
   * Filters, all of which must hold: `[field, op, value]` triples, or an object of fields that
   * must equal the given values.
   */
  where?: ReadonlyArray<readonly [field: FieldOf<Row>, op: Op, value: FilterValue]> | { [F in FieldOf<Row>]?: FilterValue };
  /** Orderings, most significant first: a field (ascending) or `[field, 'asc' | 'desc']`. */
  orderBy?: ReadonlyArray<FieldOf<Row> | readonly [field: FieldOf<Row>, direction: 'asc' | 'desc']>;
  /** At most this many rows (server default 100, at most 1000). */
  limit?: number;
  /** Skip this many rows first. */
  offset?: number;
}

/** The names a query may filter or order on: the row's fields and the stored ones. */
export type FieldOf<Row> = Extract<keyof Row, string> | 'id' | 'createdAt' | 'updatedAt';

function valueText(value: FilterValue): string {
  // An array is sent as JSON (the API's `in:["a,b","c"]` form), so commas inside values survive.
  if (Array.isArray(value)) return JSON.stringify(value);
  return value === null ? 'null' : String(value);
}

/**
 * The query string of a query (with a leading `?`, or empty): every part is percent-encoded, so
 * no value can add a parameter or change another.
 */
export function queryString<Row>(options: QueryOptions<Row> = {}): string {
  const parts: string[] = [];
  const add = (name: string, value: string) => parts.push(`${name}=${encodeURIComponent(value)}`);
  const where = options.where;
  if (Array.isArray(where)) {
    for (const [field, op, value] of where as ReadonlyArray<readonly [string, Op, FilterValue]>) {
      add('where', `${field}:${op}:${valueText(value)}`);
    }
  } else if (where) {
    for (const [field, value] of Object.entries(where as Record<string, FilterValue | undefined>)) {
      if (value !== undefined) add('where', `${field}:eq:${valueText(value)}`);
    }
  }
  for (const order of options.orderBy ?? []) {
    const [field, direction] = typeof order === 'string' ? [order, 'asc'] : (order as readonly [string, string]);
    add('orderBy', `${field}:${direction}`);
  }
  if (options.limit !== undefined) add('limit', String(options.limit));
  if (options.offset !== undefined) add('offset', String(options.offset));
  return parts.length ? `?${parts.join('&')}` : '';
}
