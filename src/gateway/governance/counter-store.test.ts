import { counterStoreContract } from './counter-store.contract.ts';
import { createMemoryCounterStore } from './counter-store.ts';

counterStoreContract('memory counter store', () => Promise.resolve(createMemoryCounterStore()));
