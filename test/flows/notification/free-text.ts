/** Free text as an operator writes it before approval: no reminders in square brackets left. */
export const writtenFreeText = {
  de: {
    whatHappened: 'Ein Zugangsschlüssel unserer Abrechnungssoftware wurde am 2. März in einem öffentlichen Code-Verzeichnis gefunden und von Unbekannten benutzt.',
    measures: 'Wir haben den Schlüssel am 4. März gesperrt, alle Zugänge geprüft und die Aufsichtsbehörde informiert.',
    consequences: 'Unbekannte könnten Ihre Kontaktdaten für betrügerische Nachrichten nutzen.',
    contact: 'datenschutz@praxis.example, 030 1234567',
  },
  en: {
    whatHappened: 'An access key of our billing software was found in a public code repository on 2 March and used by unknown parties.',
    measures: 'We revoked the key on 4 March, reviewed every access and informed the supervisory authority.',
    consequences: 'Unknown parties could use your contact details for fraudulent messages.',
    contact: 'privacy@practice.example, +49 30 1234567',
  },
} as const;
