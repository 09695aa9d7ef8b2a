// The agreement histogram's bins, computed by PostgreSQL: a value on a bin's lower edge belongs to that bin (0.5 was
// counted in [0.4, 0.5) and 0.8 below the 0.8 threshold), 1 to the last bin, a negative agreement (a kappa) to the first.
import { agreementBucketSql } from '../../apps/coordinator/src/tasks/task-queries.service';
import { openTestDatabase, TestDatabase } from '../support/database';

describe('agreement histogram bins', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await openTestDatabase();
  });
  afterAll(() => db.close());

  it.each<[number, number]>([
    [0, 1],
    [0.05, 1],
    [0.1, 2],
    [0.4999, 5],
    [0.5, 6],
    [0.7999, 8],
    [0.8, 9],
    [0.95, 10],
    [1, 10],
    [-0.2, 1],
  ])('%d -> bin %d', async (agreement, bin) => {
    const [row] = await db.dataSource.query(`SELECT ${agreementBucketSql('a')} AS bucket FROM (VALUES ($1::float8)) v(a)`, [agreement]);
    expect(row.bucket).toBe(bin);
  });
});
