/**
 * Reading amounts residents type after a volunteer shift: hours ("2.5", "2,5", "2 and a half",
 * "dos horas y media", "90 minutes", "2:30") and whole counts ("12 bags", "twelve", "none").
 * Pure and lenient with the words around the number, strict about what the number is: a reply
 * with two numbers ("2 or 3") is not guessed at, it is asked again.
 */

/** Number words up to 24, English and Spanish, accents folded. */
const NUMBER_WORDS: Readonly<Record<string, number>> = {
  zero: 0,
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  eleven: 11,
  twelve: 12,
  thirteen: 13,
  fourteen: 14,
  fifteen: 15,
  sixteen: 16,
  seventeen: 17,
  eighteen: 18,
  nineteen: 19,
  twenty: 20,
  cero: 0,
  uno: 1,
  dos: 2,
  tres: 3,
  cuatro: 4,
  cinco: 5,
  seis: 6,
  siete: 7,
  ocho: 8,
  nueve: 9,
  diez: 10,
  once: 11,
  doce: 12,
  trece: 13,
  catorce: 14,
  quince: 15,
  dieciseis: 16,
  diecisiete: 17,
  dieciocho: 18,
  diecinueve: 19,
  veinte: 20,
  veintiuno: 21,
  veintiun: 21,
  veintiuna: 21,
  veintidos: 22,
  veintitres: 23,
  veinticuatro: 24,
};

/** Words that mean nothing was counted. */
const NONE_WORDS = /^(?:none|nothing|zero|no|ninguno|ninguna|nada|cero)$/u;

/** A number (digits, a decimal, "2 1/2" or "1/2") and the unit after it, if any. */
const AMOUNT = /(\d+\/\d+|\d+(?:\.\d+)?(?: \d+\/\d+)?) ?(minutes?|mins?|minutos?|hours?|hrs?|horas?|h|m)?(?![a-z])/gu;

/**
 * Hours typed in English or Spanish, or null when the text holds no single clear amount. Not
 * bounded: the caller says what is too little or too much.
 */
export function parseHours(text: string): number | null {
  let folded = normalize(text);
  let extra = 0;
  // "and a half" / "y media" add to the number before them ("2 and a half", "dos horas y media").
  const half = /\b(?:and a half|and half|y media|y medio)\b/u;
  if (half.test(folded)) {
    extra += 0.5;
    folded = folded.replace(half, ' ');
  }
  const quarter = /\b(?:and a quarter|y cuarto)\b/u;
  if (quarter.test(folded)) {
    extra += 0.25;
    folded = folded.replace(quarter, ' ');
  }
  // "half an hour", "a half hour", "media hora": half an hour on its own.
  const halfHour = /\b(?:half an hour|half hour|a half hour|media hora)\b/u;
  if (halfHour.test(folded)) {
    extra += 0.5;
    folded = folded.replace(halfHour, ' ');
  }
  // "an hour", "una hora": one.
  folded = folded.replace(/\b(?:an?|una?) (hours?|horas?)\b/gu, '1 $1');
  // "2:30", "2h30": hours and minutes.
  folded = folded.replace(/\b(\d+)(?::|h ?)(\d{2})\b/gu, (_m, h: string, m: string) => `${h} h ${m} min`);

  let hours = 0;
  let hourAmounts = 0;
  let minuteAmounts = 0;
  for (const [, amount, unit] of folded.matchAll(AMOUNT)) {
    const value = numberOf(amount!);
    if (value === null) return null;
    if (unit && /^m/u.test(unit)) {
      minuteAmounts += 1;
      hours += value / 60;
    } else {
      hourAmounts += 1;
      hours += value;
    }
  }
  // "2 or 3", "2-3 hours": which one? Asked again rather than guessed. "2 h 30 min" is one amount.
  if (hourAmounts > 1 || minuteAmounts > 1) return null;
  if (hourAmounts + minuteAmounts === 0 && extra === 0) return null;
  return Math.round((hours + extra) * 100) / 100;
}

/** Whether the text names hours as such ("3 hours", "2h", "dos horas"): a bare "2" may be a numbered choice. */
export function mentionsHours(text: string): boolean {
  return /\d ?(?:hours?|hrs?|h|horas?)(?![a-z])|\b(?:an?|una?) (?:hours?|horas?)\b|\bmedia hora\b|\bhalf an hour\b/u.test(normalize(text));
}

/**
 * A whole count typed in English or Spanish ("12", "12 bags", "1,200", "twelve", "none"), or
 * null when the text holds no single whole number (a decimal, two numbers, no number).
 */
export function parseWholeNumber(text: string): number | null {
  const folded = normalize(text)
    // Thousands separators: "1,200" / "1.200" (a count has no decimals, so both mean 1200).
    .replace(/\b(\d{1,3})(?:[.,](\d{3}))+\b/gu, (match) => match.replace(/[.,]/gu, ''));
  if (NONE_WORDS.test(folded.trim())) return 0;
  const numbers = [...folded.matchAll(/\d+(?:[.,]\d+)?/gu)].map((m) => m[0]);
  if (numbers.length !== 1 || /[.,]/u.test(numbers[0]!)) return null;
  return Number(numbers[0]);
}

/** Lower case, accents folded, number words as digits, "½" as " 1/2", decimal commas as points. */
function normalize(text: string): string {
  return text
    .replace(/½/gu, ' 1/2')
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/[\u2044\u2215]/gu, '/')
    .toLowerCase()
    .replace(/(\d),(\d)/gu, '$1.$2')
    .replace(/\btwenty[\s-](one|two|three|four)\b/gu, (_m, unit: string) => String(20 + (NUMBER_WORDS[unit] ?? 0)))
    .replace(/\b[a-z]+\b/gu, (word) => (word in NUMBER_WORDS ? String(NUMBER_WORDS[word]) : word))
    .replace(/\s+/gu, ' ')
    .trim();
}

/** "2", "2.5", "2 1/2", "1/2" as a number; null for a fraction over zero. */
function numberOf(amount: string): number | null {
  const [whole, fraction] = amount.includes('/') ? (amount.includes(' ') ? amount.split(' ') : ['0', amount]) : [amount, undefined];
  let value = Number(whole);
  if (fraction) {
    const [top, bottom] = fraction.split('/').map(Number);
    if (!bottom) return null;
    value += top! / bottom;
  }
  return Number.isFinite(value) ? value : null;
}
