import type { NoticeLanguage } from './people.js';

/**
 * The fixed wording of breach notices, German and English, as data: one object per language
 * with the same keys, so a missing translation is a type error. Plain language for the letters
 * to patients — short sentences, no jargon, the reader addressed directly (GDPR Art. 34(2) and
 * Art. 12(1): "clear and plain language"; HIPAA 45 CFR 164.404(c)(2): "written in plain
 * language"). `{x}` marks a fact filled in by drafts-compose.ts.
 */

/** Data classes in words a patient understands (the register's classes, records/data-register.ts). */
export const classWords: Readonly<Record<NoticeLanguage, Readonly<Record<string, string>>>> = {
  en: {
    personal: 'your name and contact details (such as address, phone number, date of birth)',
    health: 'health information such as measurements, findings and diagnoses',
    payment: 'payment information',
    secret: 'sign-in information (stored only in a scrambled form)',
    internal: 'administrative information about your records',
    public: 'general information that is not about you personally',
  },
  de: {
    personal: 'Ihr Name und Ihre Kontaktdaten (etwa Adresse, Telefonnummer, Geburtsdatum)',
    health: 'Gesundheitsdaten wie Messwerte, Befunde und Diagnosen',
    payment: 'Zahlungsdaten',
    secret: 'Anmeldedaten (nur in verschlüsselter Form gespeichert)',
    internal: 'Verwaltungsangaben zu Ihren Unterlagen',
    public: 'allgemeine Angaben, die nicht Sie persönlich betreffen',
  },
};

/** The same classes for a report or a public notice: about the people, not to them. */
export const reportClassWords: Readonly<Record<NoticeLanguage, Readonly<Record<string, string>>>> = {
  en: {
    personal: 'names and contact details (address, phone number, date of birth, identifiers)',
    health: 'health information (measurements, findings, diagnoses)',
    payment: 'payment information',
    secret: 'sign-in information (stored hashed)',
    internal: 'administrative information about records',
    public: 'general, non-personal information',
  },
  de: {
    personal: 'Namen und Kontaktdaten (Adresse, Telefonnummer, Geburtsdatum, Kennungen)',
    health: 'Gesundheitsdaten (Messwerte, Befunde, Diagnosen)',
    payment: 'Zahlungsdaten',
    secret: 'Anmeldedaten (als Hash gespeichert)',
    internal: 'Verwaltungsangaben zu Datensätzen',
    public: 'allgemeine, nicht personenbezogene Angaben',
  },
};

export const letterTexts = {
  en: {
    subject: 'Important: a security incident concerning your data at {tenant}',
    greeting: 'Dear {name},',
    greetingNoName: 'Dear patient,',
    intro: 'We are writing to tell you about a security incident. It concerns some of your data that {tenant} keeps.',
    whatHappened: 'What happened',
    when: 'When',
    whenRange: 'Your data was accessed between {first} and {last}.',
    whenOne: 'Your data was accessed on {first}.',
    whenFiles: 'Copies of stored files were exposed between {from} and {to}.',
    which: 'Which of your data',
    whichIntro: 'The incident concerned:',
    readable: 'Whoever accessed it could read this data.',
    encrypted: 'This data was only exposed in encrypted form. The keys to read it were not exposed. Without them the data cannot be read.',
    measures: 'What we are doing',
    steps: 'What you can do',
    stepPhishing: 'Be careful with calls, e-mails or letters that claim to come from us and ask for personal details. We will never ask you for a password.',
    stepHealth: 'If someone contacts you about your health information unexpectedly, tell us.',
    stepPayment: 'Check your bank and card statements. Tell your bank at once if you see a payment you did not make.',
    stepEncrypted: 'You do not need to do anything. We are telling you so that you know.',
    stepAsk: 'You can ask us which of your data was concerned. You can also complain to a data protection supervisory authority.',
    contact: 'Contact',
    reference: 'Reference: {ref}',
    closing: 'We are sorry for this incident.',
    signature: '{tenant}',
  },
  de: {
    subject: 'Wichtig: ein Sicherheitsvorfall bei {tenant} betrifft Ihre Daten',
    greeting: 'Guten Tag {name},',
    greetingNoName: 'Guten Tag,',
    intro: 'wir informieren Sie über einen Sicherheitsvorfall. Er betrifft einige Ihrer Daten, die {tenant} speichert.',
    whatHappened: 'Was ist passiert',
    when: 'Wann',
    whenRange: 'Auf Ihre Daten wurde zwischen dem {first} und dem {last} zugegriffen.',
    whenOne: 'Auf Ihre Daten wurde am {first} zugegriffen.',
    whenFiles: 'Kopien gespeicherter Dateien waren zwischen dem {from} und dem {to} zugänglich.',
    which: 'Welche Ihrer Daten',
    whichIntro: 'Der Vorfall betraf:',
    readable: 'Wer darauf zugegriffen hat, konnte diese Daten lesen.',
    encrypted: 'Diese Daten waren nur verschlüsselt zugänglich. Die Schlüssel dazu waren nicht betroffen. Ohne sie kann niemand die Daten lesen.',
    measures: 'Was wir tun',
    steps: 'Was Sie tun können',
    stepPhishing: 'Seien Sie vorsichtig bei Anrufen, E-Mails oder Briefen, die angeblich von uns kommen und nach persönlichen Angaben fragen. Wir fragen Sie nie nach einem Passwort.',
    stepHealth: 'Wenn Sie jemand unerwartet auf Ihre Gesundheitsdaten anspricht, sagen Sie uns Bescheid.',
    stepPayment: 'Prüfen Sie Ihre Konto- und Kartenauszüge. Melden Sie Ihrer Bank sofort Zahlungen, die Sie nicht gemacht haben.',
    stepEncrypted: 'Sie müssen nichts tun. Wir informieren Sie, damit Sie Bescheid wissen.',
    stepAsk: 'Sie können uns fragen, welche Ihrer Daten betroffen waren. Sie können sich auch bei einer Datenschutz-Aufsichtsbehörde beschweren.',
    contact: 'Kontakt',
    reference: 'Zeichen: {ref}',
    closing: 'Wir bedauern diesen Vorfall.',
    signature: '{tenant}',
  },
} as const satisfies Readonly<Record<NoticeLanguage, Readonly<Record<string, string>>>>;

export const reportTexts = {
  en: {
    customerTitle: 'Security incident: notice to {tenant}',
    customerIntro: 'This notice tells {tenant} what a security incident means for its data. The numbers are yours alone (GDPR Art. 33(2); HIPAA 45 CFR 164.410).',
    authorityTitle: 'Report of a personal data breach — {tenant}',
    authorityIntro: 'Draft for the person who files the report with the supervisory authority (GDPR Art. 33) or the U.S. Department of Health and Human Services (HIPAA 45 CFR 164.408). Tresor does not file it.',
    mediaTitle: 'Notice of a data security incident at {tenant}',
    mediaIntro: '{tenant} is informing the public about a security incident that concerns patient data.',
    facts: 'Facts from the breach scope',
    nature: 'Nature of the breach (Art. 33(3)(a))',
    natureClear: 'Data was disclosed in readable form to an unauthorised party through the service’s interface.',
    natureCipher: 'Stored files were exposed. The data in them was encrypted and the keys were not exposed.',
    window: 'Period examined',
    firstLast: 'First and last access',
    discovered: 'Date of discovery (awareness)',
    subjects: 'Approximate number of data subjects (individuals)',
    records: 'Approximate number of records',
    categories: 'Categories of data',
    readableCount: 'Individuals whose data was readable',
    encryptedCount: 'Individuals whose data was exposed only encrypted',
    suspect: 'Suspected source',
    hhsType: 'Type of breach (HHS form)',
    hhsTypeClear: 'Unauthorized Access/Disclosure; Hacking/IT Incident',
    hhsTypeCipher: 'Hacking/IT Incident (encrypted data only)',
    hhsLocation: 'Location of breached information (HHS form)',
    hhsLocationValue: 'Network Server; Electronic Medical Record',
    safeguards: 'Safeguards in place before the breach',
    safeguardsValue: 'Each record field with personal, health or payment data encrypted (AES-256-GCM) with per-tenant keys; access control with roles; a hash-chained audit trail of every access.',
    consequences: 'Likely consequences (Art. 33(3)(c))',
    measures: 'Measures taken or proposed (Art. 33(3)(d)); actions taken (HHS form)',
    contact: 'Data protection officer or other contact (Art. 33(3)(b))',
    whatHappened: 'What happened',
    scopeHash: 'Breach scope (SHA-256)',
    none: 'none',
  },
  de: {
    customerTitle: 'Sicherheitsvorfall: Mitteilung an {tenant}',
    customerIntro: 'Diese Mitteilung sagt {tenant}, was ein Sicherheitsvorfall für seine Daten bedeutet. Die Zahlen betreffen nur Sie (DSGVO Art. 33 Abs. 2; HIPAA 45 CFR 164.410).',
    authorityTitle: 'Meldung einer Verletzung des Schutzes personenbezogener Daten — {tenant}',
    authorityIntro: 'Entwurf für die Person, die die Meldung bei der Aufsichtsbehörde (DSGVO Art. 33) oder beim U.S. Department of Health and Human Services (HIPAA 45 CFR 164.408) einreicht. Tresor reicht sie nicht ein.',
    mediaTitle: 'Hinweis auf einen Datenschutzvorfall bei {tenant}',
    mediaIntro: '{tenant} informiert die Öffentlichkeit über einen Sicherheitsvorfall, der Patientendaten betrifft.',
    facts: 'Fakten aus dem Umfang des Vorfalls',
    nature: 'Art der Verletzung (Art. 33 Abs. 3 lit. a)',
    natureClear: 'Daten wurden über die Schnittstelle des Dienstes lesbar an Unbefugte offengelegt.',
    natureCipher: 'Gespeicherte Dateien waren zugänglich. Die Daten darin waren verschlüsselt, die Schlüssel nicht betroffen.',
    window: 'Untersuchter Zeitraum',
    firstLast: 'Erster und letzter Zugriff',
    discovered: 'Datum der Kenntnisnahme',
    subjects: 'Ungefähre Zahl der betroffenen Personen',
    records: 'Ungefähre Zahl der Datensätze',
    categories: 'Kategorien der Daten',
    readableCount: 'Personen, deren Daten lesbar waren',
    encryptedCount: 'Personen, deren Daten nur verschlüsselt zugänglich waren',
    suspect: 'Vermutete Quelle',
    hhsType: 'Art der Verletzung (HHS-Formular)',
    hhsTypeClear: 'Unauthorized Access/Disclosure; Hacking/IT Incident',
    hhsTypeCipher: 'Hacking/IT Incident (nur verschlüsselte Daten)',
    hhsLocation: 'Ort der Informationen (HHS-Formular)',
    hhsLocationValue: 'Network Server; Electronic Medical Record',
    safeguards: 'Schutzmaßnahmen vor dem Vorfall',
    safeguardsValue: 'Jedes Feld mit personenbezogenen, Gesundheits- oder Zahlungsdaten verschlüsselt (AES-256-GCM) mit Schlüsseln je Mandant; Zugriffskontrolle mit Rollen; ein verkettetes Protokoll jedes Zugriffs.',
    consequences: 'Wahrscheinliche Folgen (Art. 33 Abs. 3 lit. c)',
    measures: 'Ergriffene oder vorgeschlagene Maßnahmen (Art. 33 Abs. 3 lit. d); Maßnahmen (HHS-Formular)',
    contact: 'Datenschutzbeauftragte(r) oder andere Anlaufstelle (Art. 33 Abs. 3 lit. b)',
    whatHappened: 'Was ist passiert',
    scopeHash: 'Umfang des Vorfalls (SHA-256)',
    none: 'keine',
  },
} as const satisfies Readonly<Record<NoticeLanguage, Readonly<Record<string, string>>>>;

/** Fills `{name}` placeholders; a placeholder without a value stays visible rather than vanishing. */
export function fill(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{([a-zA-Z]+)\}/g, (whole, key: string) => values[key] ?? whole);
}

/** The editable parts of a draft, per language: the operator's own words around the generated facts. */
export interface FreeText {
  readonly whatHappened: string;
  readonly measures: string;
  readonly consequences: string;
  readonly contact: string;
}

export const freeTextFields = ['whatHappened', 'measures', 'consequences', 'contact'] as const;

/** What a new draft says until someone edits it: the incident's title, and a reminder to write the rest. */
export function defaultFreeText(language: NoticeLanguage, title: string, contact: string | undefined): FreeText {
  return language === 'de'
    ? {
        whatHappened: `${title}. [Bitte in einfachen Worten beschreiben, was passiert ist.]`,
        measures: 'Wir haben den betroffenen Zugang gesperrt und untersuchen den Vorfall. [Bitte ergänzen.]',
        consequences: '[Bitte die wahrscheinlichen Folgen für die Betroffenen beschreiben.]',
        contact: contact ?? '[Bitte eine Kontaktadresse angeben.]',
      }
    : {
        whatHappened: `${title}. [Please describe in plain words what happened.]`,
        measures: 'We have blocked the access concerned and are investigating the incident. [Please add to this.]',
        consequences: '[Please describe the likely consequences for the people concerned.]',
        contact: contact ?? '[Please give a contact address.]',
      };
}

/** The reminders a new draft carries in square brackets: a notice is not approved while one is left. */
const prompts: readonly string[] = (['de', 'en'] as const).flatMap((language) =>
  Object.values(defaultFreeText(language, '', undefined))
    .flatMap((text) => text.match(/\[[^\]]+\]/g) ?? [])
    .filter((prompt, i, all) => all.indexOf(prompt) === i),
);

/** The free-text fields (`de.consequences`, …) that still hold a draft's reminder, in order. */
export function unfinishedFields(freeText: Readonly<Record<NoticeLanguage, FreeText>>): string[] {
  return (['de', 'en'] as const).flatMap((language) => freeTextFields.filter((field) => prompts.some((prompt) => freeText[language][field].includes(prompt))).map((field) => `${language}.${field}`));
}
