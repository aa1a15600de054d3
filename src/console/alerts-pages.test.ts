import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAlertSettings } from '../detection/index.js';
import { settingsFromForm } from './alerts-pages.js';

describe('the alert settings form', () => {
  it('becomes the settings object the API takes: checked days, optional contact and quiet hours', () => {
    const form = { csrf: 'x', timeZone: ' Europe/Berlin ', day1: '1', day3: '1', day5: '1', start: '08:00', end: '17:30', securityContact: '', quietStart: '', quietEnd: '' };
    assert.deepEqual(settingsFromForm(form), { timeZone: 'Europe/Berlin', workingHours: { days: [1, 3, 5], start: '08:00', end: '17:30' } });
    assert.deepEqual(parseAlertSettings(settingsFromForm({ ...form, securityContact: 'sec@clinic.example', quietStart: '22:00', quietEnd: '06:00' })), {
      timeZone: 'Europe/Berlin',
      workingHours: { days: [1, 3, 5], start: '08:00', end: '17:30' },
      securityContact: 'sec@clinic.example',
      quietHours: { start: '22:00', end: '06:00' },
    });
  });

  it('leaves half-filled quiet hours and no days to the validation, which names them', () => {
    assert.throws(() => parseAlertSettings(settingsFromForm({ timeZone: 'UTC', day1: '1', start: '08:00', end: '17:00', quietStart: '22:00' })), { code: 'settings-invalid' });
    assert.throws(() => parseAlertSettings(settingsFromForm({ timeZone: 'UTC', start: '08:00', end: '17:00' })), { code: 'settings-invalid' });
  });
});
