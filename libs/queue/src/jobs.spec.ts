import { ALL_QUEUES, JOB_QUEUE, JobName, jobsOfQueue, parseQueueList, QueueName } from './jobs';

describe('queue catalogue', () => {
  it('maps every job name to a known queue', () => {
    for (const name of Object.values(JobName)) expect(ALL_QUEUES).toContain(JOB_QUEUE[name]);
  });

  it('lists the jobs of a queue', () => {
    expect(jobsOfQueue(QueueName.Ingest)).toEqual([JobName.IngestFiles, JobName.DicomWebImport]);
  });

  it.each([
    [undefined, ALL_QUEUES],
    [[], ALL_QUEUES],
    [['ingest'], ['ingest']],
    [['ingest', 'ingest', 'prelabel'], ['ingest', 'prelabel']],
  ])('parseQueueList(%j)', (input, expected) => {
    expect(parseQueueList(input as string[] | undefined)).toEqual(expected);
  });

  it('names unknown queues and the known ones', () => {
    expect(() => parseQueueList(['ingest', 'gpu'])).toThrow(/Unknown queue\(s\) gpu .*known queues: ingest, routing/);
  });
});
