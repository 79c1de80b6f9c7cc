// A name as the scanner's search compares it, exactly as checkin/services.py name_search_key
// folds it on the server (the list carries each name's key; what is typed is folded here):
// no case, no accents on Latin letters ("nguyen" finds "Nguyễn", precomposed or not), no
// spaces, and none of the invisible characters Khmer text carries (zero-width space and
// joiners, word joiner, byte order mark, the inherent vowels U+17B4/5). Khmer's vowel signs
// and coeng stay: they tell names apart.
const IGNORED = /[\t\n\v\f\r \u0085\u00a0\u00ad\u1680\u17b4\u17b5\u180e\u2000-\u200f\u2028\u2029\u202f\u205f\u2060-\u2064\u3000\ufeff]/gu;
const LATIN_MARKS = /[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]/gu;
const PLAIN_LETTERS = { "đ": "d", "ð": "d", "ø": "o", "ł": "l", "ß": "ss", "æ": "ae", "œ": "oe", "ı": "i", "ς": "σ" };
const LETTERS = new RegExp("[" + Object.keys(PLAIN_LETTERS).join("") + "]", "gu");

export function searchKey(name) {
  return (name || "")
    .normalize("NFKD")
    .toLowerCase()
    .replace(LATIN_MARKS, "")
    .replace(IGNORED, "")
    .replace(LETTERS, (letter) => PLAIN_LETTERS[letter])
    .normalize("NFC");
}
