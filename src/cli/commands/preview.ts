import type { CommandModule } from 'yargs';
import { UserError } from '../../core/types.js';
import type { GlobalArgs } from '../context.js';

// PLACEHOLDER: being written in this session; replaced before it is committed.
export const previewCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'preview',
  describe: '(being built)',
  handler: () => {
    throw new UserError('preview is not built yet');
  },
};
