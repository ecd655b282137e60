import type { CommandModule } from 'yargs';
import { UserError } from '../../core/types.js';
import type { GlobalArgs } from '../context.js';

// PLACEHOLDER: being written in this session; replaced before it is committed.
export const logsCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'logs',
  describe: '(being built)',
  handler: () => {
    throw new UserError('logs is not built yet');
  },
};
