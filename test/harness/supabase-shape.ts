// A database shaped like a Supabase project, on stock PostgreSQL: the managed schemas with tables
// and rows, the platform roles owning objects and holding grants, extensions in schema
// `extensions`, an event trigger, the realtime publication, and an application's public schema
// that references auth.users and uses row level security the way Supabase apps do.
import pg from 'pg';

/** The platform roles a Supabase project has (cluster-wide: created once, dropped by {@link dropSupabaseRoles}). */
export const SUPABASE_ROLES = [
  'anon',
  'authenticated',
  'service_role',
  'authenticator',
  'supabase_admin',
  'supabase_auth_admin',
  'supabase_storage_admin',
  'supabase_realtime_admin',
  'supabase_functions_admin',
  'dashboard_user',
  'pgbouncer',
];

const ROLES_SQL = `
create role anon nologin noinherit;
create role authenticated nologin noinherit;
create role service_role nologin noinherit bypassrls;
create role authenticator login noinherit;
grant anon, authenticated, service_role to authenticator;
create role supabase_admin login createrole createdb replication bypassrls;
create role supabase_auth_admin noinherit createrole login;
create role supabase_storage_admin noinherit createrole login;
create role supabase_realtime_admin nologin noinherit;
create role supabase_functions_admin noinherit createrole login;
create role dashboard_user nologin createrole createdb replication;
create role pgbouncer login;
grant anon, authenticated, service_role to supabase_storage_admin;
`;

const SCHEMA_SQL = `
create schema extensions;
create extension if not exists "uuid-ossp" with schema extensions;
create extension if not exists pgcrypto with schema extensions;
grant usage on schema extensions to anon, authenticated, service_role;

create schema auth authorization supabase_auth_admin;
create table auth.users (
  instance_id uuid, id uuid primary key default extensions.uuid_generate_v4(), aud varchar(255), role varchar(255),
  email varchar(255) unique, encrypted_password varchar(255), email_confirmed_at timestamptz,
  raw_user_meta_data jsonb, created_at timestamptz default now(), updated_at timestamptz default now());
create table auth.identities (id text, user_id uuid not null references auth.users(id) on delete cascade,
  provider text not null, identity_data jsonb not null, primary key (provider, id));
create table auth.refresh_tokens (id bigserial primary key, token varchar(255) unique, user_id varchar(255), revoked boolean);
create table auth.schema_migrations (version varchar(255) primary key);
create function auth.uid() returns uuid language sql stable
  as $$ select nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;
create function auth.role() returns text language sql stable
  as $$ select nullif(current_setting('request.jwt.claim.role', true), '')::text $$;
alter table auth.users owner to supabase_auth_admin;
alter table auth.identities owner to supabase_auth_admin;
alter table auth.refresh_tokens owner to supabase_auth_admin;
alter table auth.schema_migrations owner to supabase_auth_admin;
alter function auth.uid() owner to supabase_auth_admin;
alter function auth.role() owner to supabase_auth_admin;
grant usage on schema auth to anon, authenticated, service_role, dashboard_user;
grant all on all tables in schema auth to supabase_admin, dashboard_user;

create schema storage authorization supabase_storage_admin;
create table storage.buckets (id text primary key, name text not null unique, owner uuid references auth.users(id),
  public boolean default false, created_at timestamptz default now());
create table storage.objects (id uuid primary key default extensions.gen_random_uuid(), bucket_id text references storage.buckets(id),
  name text, owner uuid references auth.users(id), metadata jsonb, created_at timestamptz default now());
create table storage.migrations (id integer primary key, name varchar(100) unique not null, hash varchar(40) not null);
alter table storage.buckets owner to supabase_storage_admin;
alter table storage.objects owner to supabase_storage_admin;
alter table storage.migrations owner to supabase_storage_admin;
alter table storage.objects enable row level security;
create policy "Avatar images are public" on storage.objects for select to anon, authenticated using (bucket_id = 'avatars');
grant usage on schema storage to anon, authenticated, service_role;
grant all on storage.buckets, storage.objects to anon, authenticated, service_role;

create schema realtime;
create table realtime.schema_migrations (version bigint primary key, inserted_at timestamp(0));
create table realtime.messages (id bigserial primary key, topic text not null, extension text not null, payload jsonb, inserted_at timestamp default now());
alter schema realtime owner to supabase_admin;
alter table realtime.messages owner to supabase_realtime_admin;
grant usage on schema realtime to postgres, anon, authenticated, service_role;

create schema supabase_functions authorization supabase_admin;
create table supabase_functions.hooks (id bigserial primary key, hook_table_id integer not null, hook_name text not null,
  created_at timestamptz default now(), request_id bigint);
create table supabase_functions.migrations (version text primary key, inserted_at timestamptz default now());
create function supabase_functions.http_request() returns trigger language plpgsql as $$ begin return new; end $$;
alter function supabase_functions.http_request() owner to supabase_functions_admin;

create schema graphql;
create schema graphql_public;
create function graphql_public.graphql("operationName" text default null, query text default null, variables jsonb default null,
  extensions jsonb default null) returns jsonb language plpgsql
  as $$ begin return jsonb_build_object('errors', jsonb_build_array(jsonb_build_object('message', 'pg_graphql extension is not enabled.'))); end $$;
grant usage on schema graphql_public to anon, authenticated, service_role;
grant all on function graphql_public.graphql to anon, authenticated, service_role;

create schema pgsodium;
create table pgsodium.key (id uuid primary key default extensions.gen_random_uuid(), name text unique, created timestamptz default now());
create schema vault;
create table vault.secrets (id uuid primary key default extensions.gen_random_uuid(), name text, secret text not null,
  key_id uuid references pgsodium.key(id));
create schema supabase_migrations;
create table supabase_migrations.schema_migrations (version text primary key, statements text[], name text);

create function extensions.grant_pg_graphql_access() returns event_trigger language plpgsql
  as $$ begin perform 1; end $$;
create event trigger issue_pg_graphql_access on ddl_command_end when tag in ('CREATE EXTENSION')
  execute function extensions.grant_pg_graphql_access();
create function extensions.pgrst_ddl_watch() returns event_trigger language plpgsql
  as $$ begin perform pg_notify('pgrst', 'reload schema'); end $$;
create event trigger pgrst_ddl_watch on ddl_command_end execute function extensions.pgrst_ddl_watch();

create publication supabase_realtime;

-- The application: profiles and todos of the signed-in user, the way Supabase's quickstarts build them.
grant usage on schema public to anon, authenticated, service_role;
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
create table public.profiles (id uuid primary key references auth.users(id) on delete cascade, username text unique,
  avatar_url text, updated_at timestamptz);
create table public.todos (id bigint generated by default as identity primary key, user_id uuid not null references auth.users(id),
  task text check (char_length(task) > 3), is_complete boolean default false, inserted_at timestamptz default now());
alter table public.profiles enable row level security;
alter table public.todos enable row level security;
create policy "Public profiles are viewable by everyone." on public.profiles for select using (true);
create policy "Users can update own profile." on public.profiles for update to authenticated using ((select auth.uid()) = id);
create policy "Individuals can create todos." on public.todos for insert to authenticated with check ((select auth.uid()) = user_id);
create policy "Individuals can view their own todos." on public.todos for select to authenticated using ((select auth.uid()) = user_id);
create function public.handle_new_user() returns trigger language plpgsql security definer set search_path = ''
  as $$ begin insert into public.profiles (id, username) values (new.id, new.raw_user_meta_data->>'username'); return new; end $$;
create trigger on_auth_user_created after insert on auth.users for each row execute function public.handle_new_user();
alter publication supabase_realtime add table public.todos;
`;

const DATA_SQL = `
insert into auth.users (id, aud, role, email, encrypted_password, email_confirmed_at, raw_user_meta_data)
  select extensions.uuid_generate_v4(), 'authenticated', 'authenticated', 'user' || i || '@example.com',
         extensions.crypt('pw' || i, extensions.gen_salt('bf', 4)), now(), jsonb_build_object('username', 'user' || i)
  from generate_series(1, 25) i;
insert into auth.identities (id, user_id, provider, identity_data) select id::text, id, 'email', jsonb_build_object('sub', id) from auth.users;
insert into auth.refresh_tokens (token, user_id, revoked) select md5(id::text), id::text, false from auth.users;
insert into auth.schema_migrations values ('20171026211738'), ('20221208132122');
insert into storage.buckets (id, name, public) values ('avatars', 'avatars', true), ('private', 'private', false);
insert into storage.objects (bucket_id, name, owner) select 'avatars', 'avatar-' || username || '.png', id from public.profiles;
insert into storage.migrations values (0, 'create-migrations-table', 'e18db593bcde2aca2a408c4d1100f6abba2195df');
insert into realtime.schema_migrations values (20211116024918, now());
insert into supabase_functions.migrations (version) values ('initial');
insert into pgsodium.key (name) values ('default');
insert into vault.secrets (name, secret, key_id) select 'stripe', 'not-a-real-secret', id from pgsodium.key;
insert into supabase_migrations.schema_migrations values ('20240101000000', array['create table todos'], 'todos');
insert into public.todos (user_id, task) select id, 'task of ' || email from auth.users cross join generate_series(1, 4);
`;

/** Creates the platform roles when missing (they are cluster-wide). */
export async function createSupabaseRoles(c: pg.Client): Promise<void> {
  const existing = (await c.query<{ r: string }>('select rolname as r from pg_roles where rolname = any($1)', [SUPABASE_ROLES])).rows;
  if (existing.length === SUPABASE_ROLES.length) return;
  if (existing.length) throw new Error(`Supabase roles partly exist (${existing.map((e) => e.r).join(', ')}): drop them first`);
  await c.query(ROLES_SQL);
}

/**
 * Builds the Supabase-shaped database `database` on the server of `adminUrl` (a superuser URL):
 * the platform roles first, then schemas, objects and rows. Returns the row count of every table.
 */
export async function createSupabaseShapedDatabase(adminUrl: string, database: string): Promise<Record<string, number>> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await createSupabaseRoles(admin);
    await admin.query(`create database ${database}`);
  } finally {
    await admin.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${database}`;
  const c = new pg.Client({ connectionString: u.toString() });
  await c.connect();
  try {
    await c.query(SCHEMA_SQL);
    await c.query(DATA_SQL);
    const tables = (
      await c.query<{ t: string }>(
        `select schemaname || '.' || tablename as t from pg_tables where schemaname not in ('pg_catalog', 'information_schema') order by 1`,
      )
    ).rows.map((r) => r.t);
    const counts: Record<string, number> = {};
    for (const t of tables) counts[t] = Number((await c.query<{ n: string }>(`select count(*) as n from ${t}`)).rows[0]!.n);
    return counts;
  } finally {
    await c.end();
  }
}

/** Drops the platform roles (after every database using them is gone), leaving a plain server. */
export async function dropSupabaseRoles(adminUrl: string): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    for (const r of SUPABASE_ROLES) await c.query(`drop role if exists ${r}`);
  } finally {
    await c.end();
  }
}
