/** The first file under src/ whose build output (dist/…) is missing or older, or null when dist/ is fresh. */
export function staleSource(root: string): string | null;
