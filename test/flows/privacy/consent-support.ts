/** Privacy consents as the tests write them (FHIR R4 Consent, scope patient-privacy). */
export const appSystem = 'https://tresor.dev/fhir/NamingSystem/oauth-client';
export const classSystem = 'https://tresor.dev/fhir/CodeSystem/data-class';
const recipient = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] };

export const privacyConsent = (patientId: string, provision: unknown, status = 'active') => ({
  resourceType: 'Consent',
  status,
  scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
  category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
  patient: { reference: `Patient/${patientId}` },
  dateTime: '2026-01-01T00:00:00Z',
  provision,
});

export const denyApp = (clientId: string) => ({ type: 'permit', provision: [{ type: 'deny', actor: [{ role: recipient, reference: { identifier: { system: appSystem, value: clientId } } }] }] });
export const denyClasses = (practitioner: string, classes: readonly string[]) => ({
  type: 'permit',
  provision: [{ type: 'deny', actor: [{ role: recipient, reference: { reference: practitioner } }], class: classes.map((code) => ({ system: classSystem, code })) }],
});
