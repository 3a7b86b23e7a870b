/** The one place that talks to the Hugging Face Hub: file downloads, listing, caching, offline mode. */
export {};
