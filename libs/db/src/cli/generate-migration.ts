// Writes a migration holding the SQL that brings a database built from the existing migrations up to the
// current entities. Usage: npm run migration:generate -- AddSomething
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDataSource, migrate } from '../data-source';
import { startEmbeddedPostgres } from '../embedded-postgres';

async function main() {
  const name = process.argv[2];
  if (!name || !/^[A-Z][A-Za-z0-9]+$/.test(name)) {
    console.error('usage: npm run migration:generate -- <PascalCaseName>');
    process.exit(2);
  }
  const pg = await startEmbeddedPostgres(null);
  const ds = createDataSource({ url: pg.url });
  await ds.initialize();
  try {
    await migrate(ds);
    const sql = await ds.driver.createSchemaBuilder().log();
    if (sql.upQueries.length === 0) {
      console.log('Entities match the migrations; nothing to generate.');
      return;
    }
    const ts = Date.now();
    const cls = `${name}${ts}`;
    const q = (query: { query: string; parameters?: unknown[] }) =>
      `    await queryRunner.query(${JSON.stringify(query.query)}${query.parameters?.length ? `, ${JSON.stringify(query.parameters)}` : ''});`;
    const body = `import { MigrationInterface, QueryRunner } from 'typeorm';

export class ${cls} implements MigrationInterface {
  name = '${cls}';

  public async up(queryRunner: QueryRunner): Promise<void> {
${sql.upQueries.map(q).join('\n')}
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
${sql.downQueries.reverse().map(q).join('\n')}
  }
}
`;
    const file = join(process.cwd(), 'libs/db/src/migrations', `${ts}-${name}.ts`);
    writeFileSync(file, body);
    // Register it in the ordered list so nobody forgets.
    const indexFile = join(process.cwd(), 'libs/db/src/migrations/index.ts');
    const index = readFileSync(indexFile, 'utf8')
      .replace(/\nexport const MIGRATIONS/, `import { ${cls} } from './${ts}-${name}';\n\nexport const MIGRATIONS`)
      .replace(/\];\s*$/, `, ${cls}];\n`);
    writeFileSync(indexFile, index.replace(/\n\n\nexport const/, '\n\nexport const'));
    console.log(`Wrote ${file} and added ${cls} to libs/db/src/migrations/index.ts`);
  } finally {
    await ds.destroy();
    await pg.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
