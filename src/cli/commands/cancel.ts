import { cancelCampaign } from '../../core/campaigns.js';
import { stateChangeCommand } from '../state-change.js';

export const cancelCommand = stateChangeCommand('cancel', 'cancel a campaign for good (in-flight sends finish and are recorded)', cancelCampaign);
