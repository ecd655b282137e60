import type { CommandModule } from 'yargs';
import { UserError } from '../../core/types.js';
import type { GlobalArgs } from '../context.js';

// PLACEHOLDER: being written in this session; replaced before it is committed.
export const demoCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'demo',
  describe: '(being built)',
  handler: () => {
    throw new UserError('demo is not built yet');
  },
};
