import type { NotificationRule } from '../assessment-types.js';
import { gdpr331 } from './gdpr-33-1.js';
import { gdpr332 } from './gdpr-33-2.js';
import { gdpr34 } from './gdpr-34.js';
import { hipaa402 } from './hipaa-402.js';
import { hipaa404 } from './hipaa-404.js';
import { hipaa406 } from './hipaa-406.js';
import { hipaa408 } from './hipaa-408.js';
import { hipaa410 } from './hipaa-410.js';
import { pci12101 } from './pci-12-10-1.js';

/**
 * The notification checklist, one line per rule, in the order a person works through it. A
 * rule reads the answers of the rules before it (164.404–164.410 follow 164.402), so the order
 * matters. Each is a plain object in its own file: the provision, the question, one pure function.
 */
export const notificationRules: readonly NotificationRule[] = [
  gdpr331, // critical: supervisory authority, 72 h
  gdpr332, // high: processor → controller, without undue delay
  gdpr34, // high: data subjects, high risk; Art. 34(3)(a) exemption
  hipaa402, // high: breach of unsecured PHI? the encryption safe harbour
  hipaa404, // high: individuals, ≤ 60 days
  hipaa406, // high: media, > 500 residents of a State
  hipaa408, // high: HHS, now (≥ 500) or the annual log
  hipaa410, // high: business associate → covered entity, ≤ 60 days
  pci12101, // critical: card brands and acquirer, immediately
];
