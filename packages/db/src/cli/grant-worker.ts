import { parseArgs } from 'node:util';
import { loadConfigOrExit, redactUrl } from '@snapboard/shared';
import pg from 'pg';
import { workerGrants } from '../grants.ts';

const USAGE = `usage: npm run db:grant-worker -- --role NAME
  Grants an existing role what the worker needs and nothing more: it reads the bot's tables, and of
  snapboard's own it writes the rollups and deletes what the fold and the change log's trim remove.
  Run it as the role that owns the tables (the one that ran db:migrate), after db:migrate.
Connects to DATABASE_URL (default postgres://postgres@127.0.0.1:5432/snapboard).`;

let role = '';
let statements: string[] = [];
try {
  const { values, positionals } = parseArgs({
    options: { role: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (positionals.length) throw new Error(`unexpected argument "${positionals[0]}"`);
  if (!values.role) throw new Error('--role is required');
  role = values.role;
  statements = workerGrants(role);
} catch (error) {
  console.error(`db:grant-worker: ${(error as Error).message}\n${USAGE}`);
  process.exit(2);
}

const config = loadConfigOrExit();
const client = new pg.Client({ connectionString: config.databaseUrl });
try {
  await client.connect();
  await client.query('BEGIN');
  for (const statement of statements) {
    await client.query(statement);
    console.log(`${statement};`);
  }
  await client.query('COMMIT');
  console.log(`db:grant-worker: ${role} can run the worker on ${redactUrl(config.databaseUrl)}`);
} catch (error) {
  await client.query('ROLLBACK').catch(() => {});
  console.error(`db:grant-worker failed: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await client.end().catch(() => {});
}
