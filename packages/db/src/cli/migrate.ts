import { loadConfigOrExit, redactUrl } from '@snapboard/shared';
import { migrate } from '../migrate.ts';

const config = loadConfigOrExit();
try {
  const result = await migrate(config.databaseUrl, (line) => console.log(line));
  console.log(
    `migrations: ${result.applied.length} applied, ${result.skipped.length} already applied (${redactUrl(config.databaseUrl)})`,
  );
} catch (error) {
  console.error(`db:migrate failed: ${(error as Error).message}`);
  process.exit(1);
}
