import type { SqlExecutor } from '../platform/db/index.js';
import { DetectionError } from './errors.js';
import { selectSettings } from './store.js';
import type { RealmContext } from './types.js';

/**
 * A realm's alerting settings, set by its admins (tenants) or operators (platform): the working
 * hours the off-hours rule measures against, whom alerts reach beyond the admins, and when
 * non-critical mail waits. Stored in the realm's data set (store.ts `alert_settings`).
 */
export interface AlertSettings {
  /** IANA time zone, e.g. `Europe/Berlin`. */
  readonly timeZone: string;
  /** Days 1 (Monday) … 7 (Sunday); `HH:MM` from–to in the time zone (end after start). */
  readonly workingHours: { readonly days: readonly number[]; readonly start: string; readonly end: string };
  /** The security contact's e-mail address: the second step of escalation. */
  readonly securityContact?: string;
  /** `HH:MM`–`HH:MM` in the time zone (may wrap midnight): mail about non-critical alerts waits until it ends. */
  readonly quietHours?: { readonly start: string; readonly end: string };
}

/** A clinic's day, Monday to Friday; set the tenant's own in the console. */
export const defaultAlertSettings: AlertSettings = { timeZone: 'UTC', workingHours: { days: [1, 2, 3, 4, 5], start: '07:00', end: '19:00' } };

const hhmm = /^([01]\d|2[0-3]):[0-5]\d$/;
// A deliberately plain address check: the relay decides the rest (RFC 5321 is far wider).
const email = /^[^\s@<>(),;:"]{1,64}@[a-z0-9.-]{1,253}\.[a-z]{2,63}$/i;

const invalid = (message: string) => new DetectionError('settings-invalid', message, { status: 400, expose: true });

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Checks settings as given by a person or an API client; throws `settings-invalid` naming the field. */
export function parseAlertSettings(input: unknown): AlertSettings {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw invalid('alert settings must be a JSON object');
  const o = input as Record<string, unknown>;
  const known = new Set(['timeZone', 'workingHours', 'securityContact', 'quietHours']);
  for (const key of Object.keys(o)) if (!known.has(key)) throw invalid(`unknown setting ${JSON.stringify(key)}`);
  const timeZone = o.timeZone ?? defaultAlertSettings.timeZone;
  if (typeof timeZone !== 'string' || !isTimeZone(timeZone)) throw invalid('timeZone: an IANA time zone such as Europe/Berlin');
  const hours = (o.workingHours ?? defaultAlertSettings.workingHours) as Record<string, unknown>;
  if (typeof hours !== 'object' || hours === null) throw invalid('workingHours: { days, start, end }');
  const days = hours.days;
  if (!Array.isArray(days) || days.length === 0 || days.some((d) => !Number.isInteger(d) || d < 1 || d > 7) || new Set(days).size !== days.length) throw invalid('workingHours.days: distinct days 1 (Monday) to 7 (Sunday)');
  if (typeof hours.start !== 'string' || !hhmm.test(hours.start) || typeof hours.end !== 'string' || !hhmm.test(hours.end)) throw invalid('workingHours.start and .end: HH:MM');
  if (hours.end <= hours.start) throw invalid('workingHours.end must be after workingHours.start');
  const settings: { -readonly [K in keyof AlertSettings]: AlertSettings[K] } = { timeZone, workingHours: { days: [...(days as number[])].sort(), start: hours.start, end: hours.end } };
  if (o.securityContact !== undefined && o.securityContact !== '') {
    if (typeof o.securityContact !== 'string' || !email.test(o.securityContact)) throw invalid('securityContact: an e-mail address');
    settings.securityContact = o.securityContact;
  }
  if (o.quietHours !== undefined && o.quietHours !== null) {
    const quiet = o.quietHours as Record<string, unknown>;
    if (typeof quiet.start !== 'string' || !hhmm.test(quiet.start) || typeof quiet.end !== 'string' || !hhmm.test(quiet.end) || quiet.start === quiet.end) throw invalid('quietHours.start and .end: HH:MM, different');
    settings.quietHours = { start: quiet.start, end: quiet.end };
  }
  return settings;
}

export async function readAlertSettings(db: SqlExecutor): Promise<AlertSettings> {
  const stored = await selectSettings(db);
  return stored === undefined ? defaultAlertSettings : { ...defaultAlertSettings, ...(stored as AlertSettings) };
}

export function realmContext(realm: string, operators: boolean, settings: AlertSettings): RealmContext {
  return { realm, operators, timeZone: settings.timeZone, workingHours: settings.workingHours };
}

// Building an Intl.DateTimeFormat costs tens of microseconds; rules ask for every event.
const formats = new Map<string, Intl.DateTimeFormat>();
const weekdays = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

// The last answer per time zone: the events of a batch mostly fall in the same minute.
const lastMinute = new Map<string, { minute: number; local: { day: number; time: string } }>();

/** The local weekday (1 = Monday … 7) and `HH:MM` of `at` in the time zone. */
export function localTime(at: number, timeZone: string): { day: number; time: string } {
  // Every time zone's offset is a whole number of minutes (since 1972), so one minute of UTC is one local minute.
  const minute = Math.floor(at / 60_000);
  const cached = lastMinute.get(timeZone);
  if (cached !== undefined && cached.minute === minute) return cached.local;
  const local = localTimeNow(at, timeZone);
  if (lastMinute.size < 1000 || cached !== undefined) lastMinute.set(timeZone, { minute, local });
  return local;
}

function localTimeNow(at: number, timeZone: string): { day: number; time: string } {
  let format = formats.get(timeZone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-GB', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    if (formats.size < 1000) formats.set(timeZone, format);
  }
  let day = 0;
  let hour = '';
  let minute = '';
  for (const part of format.formatToParts(new Date(at))) {
    if (part.type === 'weekday') day = weekdays.indexOf(part.value) + 1;
    else if (part.type === 'hour') hour = part.value;
    else if (part.type === 'minute') minute = part.value;
  }
  return { day, time: `${hour}:${minute}` };
}

/** Whether `at` falls within the working hours (in their time zone). */
export function withinWorkingHours(at: number, realm: Pick<RealmContext, 'timeZone' | 'workingHours'>): boolean {
  const { day, time } = localTime(at, realm.timeZone);
  return realm.workingHours.days.includes(day) && time >= realm.workingHours.start && time < realm.workingHours.end;
}

/** Whether `at` falls in the quiet hours (which may wrap midnight). */
export function withinQuietHours(at: number, settings: AlertSettings): boolean {
  const quiet = settings.quietHours;
  if (quiet === undefined) return false;
  const { time } = localTime(at, settings.timeZone);
  return quiet.start < quiet.end ? time >= quiet.start && time < quiet.end : time >= quiet.start || time < quiet.end;
}
