/** The Hugging Face Hub client: downloads (cached, offline mode), model listing, id validation. */
export { isHubId, downloadFile, snapshotFiles, fileExists, listModels, defaultCacheDir } from './hub.js';
export type { HubOptions, RepoType, ListedModel } from './hub.js';
