import type { CommandModule } from 'yargs';
import { UserError } from '../../core/types.js';
import type { GlobalArgs } from '../context.js';

// PLACEHOLDER: being written in this session; replaced before it is committed.
export const runCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'run',
  describe: '(being built)',
  handler: () => {
    throw new UserError('run is not built yet');
  },
};
