import { UserError } from '../util/index.js';

/**
 * A source that cannot be read at all (a truncated database, an unreadable file). With other sources it is a warning
 * and the import goes on; alone it is the error.
 */
export class SourceDamage extends UserError {
  constructor(readonly file: string, readonly reason: string) {
    super(`${file}: ${reason}`);
  }
}
