/** `study copy SRC DST`: a whole study from one store into another, empty one, with the row counts compared after. */
import { UserError } from '../util/index.js';
import { openStore } from './open.js';
import { dumpCounts } from './types.js';

export interface CopyResult {
  from: string;
  to: string;
  name: string;
  counts: Record<string, number>;
}

export async function copyStudy(src: string, dst: string): Promise<CopyResult> {
  const from = openStore(src, { readonly: true });
  try {
    const dump = await from.dump();
    const to = openStore(dst);
    try {
      await to.restore(dump);
      const want = dumpCounts(dump);
      const got = dumpCounts(await to.dump());
      const bad = Object.keys(want).filter((k) => want[k] !== got[k]);
      if (bad.length > 0) {
        throw new UserError(`copy to ${to.location} is incomplete: ${bad.map((k) => `${k} ${got[k]} of ${want[k]}`).join(', ')}`);
      }
      return { from: from.location, to: to.location, name: dump.study.name, counts: want };
    } finally {
      await to.close();
    }
  } finally {
    await from.close();
  }
}
