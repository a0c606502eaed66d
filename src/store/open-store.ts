/**
 * Chooses the storage adapter: MongoDB when a URI is configured, otherwise the embedded store
 * under the data directory, so a city can start with nothing but a disk.
 */
import { openEmbeddedStore } from './embedded.store.js';
import { openMongoStore } from './mongo.store.js';
import type { Store } from './store.port.js';

/** Where to keep data: `mongodbUri` when set wins; `dataDir` is the embedded store's home. */
export interface StoreOptions {
  mongodbUri?: string | undefined;
  dataDir: string;
}

/** Opens the configured store; the caller (main.ts) closes it on shutdown. */
export function openStore(options: StoreOptions): Promise<Store> {
  return options.mongodbUri ? openMongoStore(options.mongodbUri) : openEmbeddedStore(options.dataDir);
}
