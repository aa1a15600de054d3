import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IncidentError } from './errors.js';
import { checkTransition, incidentStates, type IncidentState } from './states.js';

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error instanceof IncidentError ? error.code : 'other';
  }
  return 'none';
};

describe('incident states', () => {
  it('moves forward one or several steps', () => {
    assert.equal(checkTransition('triage', 'contained', ''), '');
    assert.equal(checkTransition('triage', 'recovered', ' keys rotated '), 'keys rotated');
    assert.equal(checkTransition('eradicated', 'closed', 'done'), 'done');
  });
  it('never moves back, nor stays', () => {
    for (const [from, to] of [['contained', 'triage'], ['recovered', 'contained'], ['eradicated', 'eradicated']] as Array<[IncidentState, IncidentState]>) {
      assert.equal(code(() => checkTransition(from, to, 'why')), 'incident-state-conflict', `${from} → ${to}`);
    }
  });
  it('closing needs a resolution note', () => {
    assert.equal(code(() => checkTransition('recovered', 'closed', '  ')), 'incident-state-conflict');
  });
  it('a closed incident reopens to triage only, with a reason', () => {
    assert.equal(checkTransition('closed', 'triage', 'more hosts found'), 'more hosts found');
    assert.equal(code(() => checkTransition('closed', 'triage', '')), 'incident-state-conflict');
    for (const to of incidentStates.filter((s) => s !== 'triage')) assert.equal(code(() => checkTransition('closed', to, 'x')), 'incident-state-conflict', to);
  });
});
