// Entity names are compared after normalising: lowercase, trimmed, inner whitespace
// collapsed, diacritics stripped ("  José  Núñez" and "jose nunez" are the same person).
export function normaliseName(name: string): string {
  return name.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().trim().replace(/\s+/g, ' ');
}
