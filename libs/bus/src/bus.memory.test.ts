import { busContract, CONTRACT_WINDOW } from './bus.contract.ts';
import { createMemoryBus } from './bus.memory.ts';

busContract('memory', async () => {
  const { broker, bus } = createMemoryBus(CONTRACT_WINDOW);
  const extra = broker.connect();
  return {
    bus,
    extra,
    cleanup: async () => {
      await Promise.all([bus.close(), extra.close()]);
    },
  };
});
