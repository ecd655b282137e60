import type { CommandModule } from 'yargs';
import { UserError } from '../../core/types.js';
import type { GlobalArgs } from '../context.js';

// PLACEHOLDER: being written in this session; replaced before it is committed.
export const importCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'import',
  describe: '(being built)',
  handler: () => {
    throw new UserError('import is not built yet');
  },
};
