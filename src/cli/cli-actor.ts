import { userInfo } from 'node:os';
import type { Actor } from '../audit/index.js';

/** Who ran an admin command, for the audit trail: the operating-system account on this host. */
export const cliOperator = (): Actor => ({ id: `cli:${userInfo().username}`, role: 'operator', client: 'tresor-cli' });
