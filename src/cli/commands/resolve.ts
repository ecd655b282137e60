import type { CommandModule } from 'yargs';
import { UserError } from '../../core/types.js';
import type { GlobalArgs } from '../context.js';

// PLACEHOLDER: being written in this session; replaced before it is committed.
export const resolveCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'resolve',
  describe: '(being built)',
  handler: () => {
    throw new UserError('resolve is not built yet');
  },
};
