import { storeContract } from './store.contract.ts';
import { memoryStores } from './stores.ts';

storeContract('memory', async () => ({ stores: memoryStores(), cleanup: async () => {} }));
