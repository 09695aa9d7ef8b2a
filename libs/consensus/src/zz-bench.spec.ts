import { main } from '../../../bench/consensus.bench';
it('bench', async () => {
  await main();
  await main();
}, 600_000);
