import { startCampaign } from '../../core/campaigns.js';
import { stateChangeCommand } from '../state-change.js';

export const startCommand = stateChangeCommand('start', 'start sending a draft campaign: draft → sending, first batch due at once', startCampaign);
