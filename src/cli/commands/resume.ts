import { resumeCampaign } from '../../core/campaigns.js';
import { stateChangeCommand } from '../state-change.js';

export const resumeCommand = stateChangeCommand('resume', 'resume a paused campaign', resumeCampaign);
