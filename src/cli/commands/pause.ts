import { pauseCampaign } from '../../core/campaigns.js';
import { stateChangeCommand } from '../state-change.js';

export const pauseCommand = stateChangeCommand('pause', 'pause a sending campaign (runners claim nothing more)', pauseCampaign);
