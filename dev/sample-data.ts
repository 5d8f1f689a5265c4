import pg from 'pg';

/**
 * SQL that creates a small but realistic shop database: several schemas, mixed-case and
 * non-ASCII identifiers, jsonb, bytea, numeric, timestamps, text with tabs/newlines/backslashes,
 * NULL next to empty strings, a view and sequences. `scale` multiplies the row counts
 * (scale 1: about 10,000 orders, roughly 5 MB).
 */
export function sampleDatabaseSql(scale = 1): string {
  const n = (base: number) => Math.max(1, Math.round(base * scale));
  return `
create schema if not exists shop;
create schema if not exists "Audit";
create type shop.order_status as enum ('new', 'paid', 'shipped', 'cancelled');

create table shop.customers (
  id bigserial primary key,
  email text not null unique,
  name text not null,
  nickname text,
  notes text,
  created_at timestamptz not null default now()
);
insert into shop.customers (email, name, nickname, notes, created_at)
select 'user' || g || '@example.com',
       (array['Zoë', 'Ægir', 'José', 'Łukasz', 'Chloé', '王芳', 'Ана'])[1 + g % 7] || ' ' || g,
       case when g % 3 = 0 then null when g % 3 = 1 then '' else 'nick' || g end,
       case when g % 5 = 0 then E'line1\\nline2\\ttab\\\\backslash' else null end,
       timestamptz '2024-01-01' + (g || ' minutes')::interval
  from generate_series(1, ${n(2000)}) g;

create table shop.products (
  sku text primary key,
  title text not null,
  price numeric(12, 2) not null,
  attributes jsonb not null default '{}',
  thumbnail bytea
);
insert into shop.products
select 'SKU-' || lpad(g::text, 5, '0'), 'Product ' || g, round((random() * 500)::numeric, 2),
       jsonb_build_object('color', (array['red', 'green', 'blue'])[1 + g % 3], 'tags', jsonb_build_array('a', g)),
       decode(md5(g::text) || md5((g * 7)::text), 'hex')
  from generate_series(1, ${n(500)}) g;

create table shop.orders (
  id bigserial primary key,
  customer_id bigint not null references shop.customers(id),
  status shop.order_status not null default 'new',
  total numeric(12, 2) not null,
  placed_at timestamptz not null
);
insert into shop.orders (customer_id, status, total, placed_at)
select 1 + (g % ${n(2000)}), (array['new', 'paid', 'shipped', 'cancelled']::shop.order_status[])[1 + g % 4],
       round((random() * 1000)::numeric, 2), timestamptz '2025-01-01' + (g || ' seconds')::interval
  from generate_series(1, ${n(10000)}) g;

create table shop.order_items (
  order_id bigint not null references shop.orders(id),
  line int not null,
  sku text not null references shop.products(sku),
  quantity int not null check (quantity > 0),
  primary key (order_id, line)
);
insert into shop.order_items
select o, l, 'SKU-' || lpad((1 + (o * l) % ${n(500)})::text, 5, '0'), 1 + (o + l) % 4
  from generate_series(1, ${n(10000)}) o, generate_series(1, 3) l;

create table "Audit"."Events" (
  "Id" bigserial primary key,
  "Kind" text not null,
  payload jsonb,
  "At" timestamptz not null default now()
);
insert into "Audit"."Events" ("Kind", payload)
select 'order.' || (array['created', 'paid'])[1 + g % 2], jsonb_build_object('order', g)
  from generate_series(1, ${n(3000)}) g;

create view shop.revenue_by_status as
  select status, count(*) as orders, sum(total) as revenue from shop.orders group by status;
select setval('shop.orders_id_seq', (select max(id) from shop.orders) + 1000);
analyze;
`;
}

/** Creates `database` (dropping any previous one) on the server of `adminUrl` and runs `sql` in it. */
export async function createFilledDatabase(adminUrl: string, database: string, sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`drop database if exists ${admin.escapeIdentifier(database)} with (force)`);
    await admin.query(`create database ${admin.escapeIdentifier(database)}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Creates `database` (dropping any previous one) on the server of `adminUrl` and fills it. */
export async function createSampleDatabase(adminUrl: string, database: string, scale = 1): Promise<void> {
  await createFilledDatabase(adminUrl, database, sampleDatabaseSql(scale));
}
