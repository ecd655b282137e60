import type { CommandModule } from 'yargs';
import { UserError } from '../../core/types.js';
import type { GlobalArgs } from '../context.js';

// PLACEHOLDER: being written in this session; replaced before it is committed.
export const exportCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'export',
  describe: '(being built)',
  handler: () => {
    throw new UserError('export is not built yet');
  },
};
