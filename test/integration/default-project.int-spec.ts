// DICOM_DEFAULT_PROJECT by name: looked up once, then held by id. Renaming the project refused its unrouted C-STORE
// traffic ("Calling AE Title Not Recognized"), and a manager who then created a project under the old name received
// every unrouted modality's studies.
import { ContourConfig } from '@contour/config';
import { DicomProjectResolver } from '../../apps/coordinator/src/ingest/project-resolver.service';
import { openTestDatabase, TestDatabase } from '../support/database';

describe('the default DICOM project, named', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await openTestDatabase();
  });
  afterAll(() => db.close());

  const resolver = (ref: string) => new DicomProjectResolver({ dicom: { defaultProject: ref } } as unknown as ContourConfig, db.dataSource);
  const create = async (name: string) => (await db.dataSource.query(`INSERT INTO projects (name) VALUES ($1) RETURNING id`, [name]))[0].id as string;

  it('keeps its project through a rename, and a new project under the old name does not take it over', async () => {
    const first = await create('modality-inbox');
    const r = resolver('modality-inbox');
    expect(await r.defaultProjectId()).toBe(first);
    await db.dataSource.query(`UPDATE projects SET name = 'modality-inbox-2026' WHERE id = $1`, [first]);
    expect(await r.forCallingAe('UNROUTED')).toBe(first);
    const usurper = await create('modality-inbox');
    expect(await r.defaultProjectId()).toBe(first);
    // Deleted: no default any more (not the project that now has the name).
    await db.dataSource.query(`DELETE FROM projects WHERE id = $1`, [first]);
    expect(await r.defaultProjectId()).toBeNull();
    // A process started after that finds the project by the name it has then.
    expect(await resolver('modality-inbox').defaultProjectId()).toBe(usurper);
  });

  it('an id is used as it is; a name of no project is no default', async () => {
    const id = await create('by-id');
    expect(await resolver(id).defaultProjectId()).toBe(id);
    expect(await resolver('nobody').defaultProjectId()).toBeNull();
  });
});
