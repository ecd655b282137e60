import type { CommandModule } from 'yargs';
import { UserError } from '../../core/types.js';
import type { GlobalArgs } from '../context.js';

// PLACEHOLDER: being written in this session; replaced before it is committed.
export const sendTestCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'send-test',
  describe: '(being built)',
  handler: () => {
    throw new UserError('send-test is not built yet');
  },
};
