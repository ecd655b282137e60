import type { CommandModule } from 'yargs';
import { UserError } from '../../core/types.js';
import type { GlobalArgs } from '../context.js';

// PLACEHOLDER: being written in this session; replaced before it is committed.
export const suppressCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'suppress',
  describe: '(being built)',
  handler: () => {
    throw new UserError('suppress is not built yet');
  },
};
