import { UserDoError } from './errors.js';
import type { OkBody, RowList, RowsCreated, StoredFields, TableRowBody } from './generated.js';
import { queryString, type QueryOptions } from './query.js';

/** A stored row: the server's `id`, `createdAt`, `updatedAt` around the row type's fields. */
export type Row<T> = StoredFields & T;

/** What a collection listener receives. */
export type RowChange<T> =
  | { op: 'create' | 'update'; id: string; row: Row<T>; seq: number }
  | { op: 'delete'; id: string; seq: number }
  /** Events were missed: query again. */
  | { op: 'resync' };

/** What a collection does with its table; each is one endpoint of the route table. */
export type TableAction = 'list' | 'create' | 'batch' | 'get' | 'update' | 'delete';

/** The answer of each {@link TableAction}. */
export interface TableAnswers {
  list: RowList;
  create: TableRowBody;
  batch: RowsCreated;
  get: TableRowBody;
  update: TableRowBody;
  delete: OkBody;
}

/**
 * Where a collection's table lives: the user's own tables (`/api/tables/{table}`, the client) or
 * an organization's (`/api/orgs/{org}/tables/{table}`, an {@link Org}).
 */
export interface CollectionHost {
  /** Calls the endpoint of `action` on `table` (and row `id`), with the client's refresh logic. */
  tableCall<A extends TableAction>(action: A, table: string, id?: string, body?: unknown, query?: string): Promise<TableAnswers[A]>;
  /** Adds a listener of the table's change events; returns the unsubscribe function. */
  listenTable(name: string, fn: (change: RowChange<unknown>) => void): () => void;
}

/** One table of the worker: `/api/tables/{name}`, or an organization's `/api/orgs/{org}/tables/{name}`. */
export class Collection<T, Input = Partial<T>> {
  constructor(
    private readonly client: CollectionHost,
    /** The table's name. */
    readonly name: string,
  ) {}

  /** `POST`: creates a row (the server assigns `id`, `createdAt`, `updatedAt`). */
  async create(fields: Input): Promise<Row<T>> {
    return (await this.client.tableCall('create', this.name, undefined, fields)).row as Row<T>;
  }

  /**
   * `POST /batch`: creates 1 to 1000 rows in one transaction (all of them, or none if one is
   * invalid: the error's `details` name `rows[i].field`); each gets its own change event, in order.
   */
  async createMany(rows: Input[]): Promise<Row<T>[]> {
    return (await this.client.tableCall('batch', this.name, undefined, { rows })).rows as Row<T>[];
  }

  /** `GET /{id}`: the row, or `undefined` when there is none. */
  async get(id: string): Promise<Row<T> | undefined> {
    try {
      return (await this.client.tableCall('get', this.name, id)).row as Row<T>;
    } catch (error) {
      if (error instanceof UserDoError && error.status === 404 && error.code === 'not_found') return undefined;
      throw error;
    }
  }

  /** `PATCH /{id}`: merges the fields into the row (`null` clears an optional one). */
  async update(id: string, fields: Partial<T>): Promise<Row<T>> {
    return (await this.client.tableCall('update', this.name, id, fields)).row as Row<T>;
  }

  /** `DELETE /{id}` (404 `not_found` when there is no such row). */
  async delete(id: string): Promise<void> {
    await this.client.tableCall('delete', this.name, id);
  }

  /**
   * `GET ?where=..&orderBy=..&limit=..&offset=..`: the page of rows and how many match over every
   * page, counted up to 10,000 (beyond, `count` is 10,000 and `countCapped` is true).
   */
  async query(options: QueryOptions<T> = {}): Promise<{ rows: Row<T>[]; count: number; countCapped?: true }> {
    const { rows, count, countCapped } = await this.client.tableCall('list', this.name, undefined, undefined, queryString(options).replace(/^\?/, ''));
    return countCapped ? { rows: rows as Row<T>[], count, countCapped: true } : { rows: rows as Row<T>[], count };
  }

  /** Calls `fn` for every change to the table (and `{op: 'resync'}` when events were missed). */
  onChange(fn: (change: RowChange<T>) => void): () => void {
    return this.client.listenTable(this.name, fn as (change: RowChange<unknown>) => void);
  }
}
